"""The Hollow Creek substation (``policies/substation.yaml``): a second example site, with
three vendors in series (Cisco ASA fw-wan, Juniper SRX fw-station, nftables fw-prot), IPv6 on
z-ent/z-dmz and static routes on fw-wan/fw-station.

Every expectation here was derived by hand from the exports (first match per device, the
ASA security-level/ACL semantics, SRX zone policies and default-policy, the nftables forward
and input chains) — not copied from segcheck's output:

- the clean site implements exactly its conduits: no finding above info, and one packet per
  conduit flow is permitted along its device path by the rule written for it, while a
  neighbouring packet outside the flow is denied (by the default action);
- each misconfiguration of ``topologies/substation-misconfigured/SCENARIOS.md`` is found
  with its code, zone pair and file:line, and that line follows its ``scenario N`` comment;
- a static route sending the station LAN out of the wrong ASA interface removes the
  control-centre telecontrol path (routes restrict paths).
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from segcheck.analysis.check import Analysis, run_check
from segcheck.analysis.explain import explain, make_packet
from segcheck.analysis.result import Severity
from segcheck.analysis.site import load_site
from tests.conftest import ROOT

POLICY = ROOT / "policies" / "substation.yaml"
CLEAN = ROOT / "topologies" / "substation.yaml"
MIS = ROOT / "topologies" / "substation-misconfigured.yaml"
MIS_DIR = ROOT / "topologies" / "substation-misconfigured"
TODAY = date(2026, 6, 1)
ABOVE_INFO = {Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW}


@cache
def analysis(topology: Path) -> Analysis:
    return run_check(POLICY, topology, today=TODAY)


def test_clean_site_has_no_finding_above_info() -> None:
    result = analysis(CLEAN).result
    assert result.complete
    assert [f.code for f in result.findings if f.severity in ABOVE_INFO] == []


# (src, dst, proto, dport, verdict, [(device, file basename, line), ...]) — the rule (or
# default action) each device on the path decides with. Hand-derived from the exports.
PACKETS = [
    # C-03 cc-scada -> gw iec104/dnp3: ASA outside_in:42, then SRX c03-telecontrol (23)
    ("198.51.100.10", "10.3.0.10", "tcp", 2404, "permit",
     [("fw-wan", "fw-wan.cfg", 42), ("fw-station", "fw-station.conf", 23)]),
    ("198.51.100.11", "10.3.0.10", "tcp", 20000, "permit",
     [("fw-wan", "fw-wan.cfg", 42), ("fw-station", "fw-station.conf", 23)]),
    # MMS from the control centre: not in TELECONTROL -> ASA implicit deny (access-group
    # outside_in, line 51); SRX default-policy deny-all (35)
    ("198.51.100.10", "10.3.0.10", "tcp", 102, "deny",
     [("fw-wan", "fw-wan.cfg", 51), ("fw-station", "fw-station.conf", 35)]),
    # C-01 z-ent -> hist https, IPv4 and IPv6; prot-engineers -> jump https
    ("10.1.2.3", "10.2.0.10", "tcp", 443, "permit", [("fw-wan", "fw-wan.cfg", 44)]),
    ("2001:db8:1::5", "2001:db8:2::10", "tcp", 443, "permit", [("fw-wan", "fw-wan.cfg", 45)]),
    ("10.1.40.5", "10.2.0.20", "tcp", 443, "permit", [("fw-wan", "fw-wan.cfg", 47)]),
    ("10.1.50.5", "10.2.0.20", "tcp", 443, "deny", [("fw-wan", "fw-wan.cfg", 52)]),
    # enterprise RDP to the HMI: ASA inside_in has no such entry (implicit deny at the
    # access-group, 52); SRX would deny too (jump only)
    ("10.1.2.3", "10.3.0.20", "tcp", 3389, "deny",
     [("fw-wan", "fw-wan.cfg", 52), ("fw-station", "fw-station.conf", 35)]),
    # C-02 jump -> hmi rdp (SRX 27); hist-local -> hist pi push (31); the pull is denied
    ("10.2.0.20", "10.3.0.20", "tcp", 3389, "permit", [("fw-station", "fw-station.conf", 27)]),
    ("10.3.0.30", "10.2.0.10", "tcp", 5450, "permit", [("fw-station", "fw-station.conf", 31)]),
    ("10.2.0.10", "10.3.0.30", "tcp", 5450, "deny", [("fw-station", "fw-station.conf", 35)]),
    # C-04 gw -> ied mms (nft 16); another station host is dropped by the forward policy (13)
    ("10.3.0.10", "10.4.0.7", "tcp", 102, "permit", [("fw-prot", "fw-prot.nft", 16)]),
    ("10.3.0.20", "10.4.0.7", "tcp", 102, "deny", [("fw-prot", "fw-prot.nft", 13)]),
    # C-05 netadmin -> z-station ssh (nft 18)
    ("10.9.0.10", "10.3.0.20", "tcp", 22, "permit", [("fw-prot", "fw-prot.nft", 18)]),
    ("10.9.0.11", "10.3.0.20", "tcp", 22, "deny", [("fw-prot", "fw-prot.nft", 13)]),
]


@pytest.mark.parametrize(("src", "dst", "proto", "dport", "verdict", "rules"), PACKETS)
def test_explain_clean(src: str, dst: str, proto: str, dport: int, verdict: str,
                       rules: list[tuple[str, str, int]]) -> None:
    ex = explain(load_site(POLICY, CLEAN, today=TODAY), make_packet(src, dst, proto, dport,
                                                                     40000))
    assert ex.verdict == verdict
    assert len(ex.paths) == 1
    got = [(d.device, Path(d.file).name if d.file else None, d.line)
           for d in ex.paths[0].decisions]
    assert got == rules
    assert {d.action for d in ex.paths[0].decisions} == {verdict}


def test_every_conduit_flow_is_implemented() -> None:
    """Each of the 7 flows has a permitted packet above from one of its sources to one of
    its destinations on one of its services' ports."""
    policy = load_site(POLICY, CLEAN, today=TODAY).policy
    permitted = [make_packet(s, d, p, port, 40000) for s, d, p, port, v, _r in PACKETS
                 if v == "permit"]
    flows = [(c.id, f) for c in policy.conduits for f in c.flows]
    assert len(flows) == 7
    for cid, flow in flows:
        def inside(ip: object, ends: tuple[object, ...]) -> bool:
            return any(ip in net for e in ends for net in e.networks)  # type: ignore[attr-defined]
        ports = {port for svc in flow.services for proto, rs in policy.services[svc].ports
                 if proto == 6 for lo, hi in rs for port in range(lo, hi + 1)}
        assert any(inside(p.src_ip, flow.sources) and inside(p.dst_ip, flow.destinations)
                   and p.dport in ports for p in permitted), cid


# (code, src zone, dst zone, {file:line of the evidence}) — SCENARIOS.md, hand-derived
EXPECTED = [
    ("SC-DMZ-BYPASS", "z-ent", "z-station", {"fw-wan.cfg:49", "fw-station.conf:36"}),
    ("SC-PATH-UNAUTH", "z-ent", "z-station", {"fw-wan.cfg:49", "fw-station.conf:36"}),
    ("SC-ANY-RULE", "z-ent", "z-station", {"fw-wan.cfg:49"}),
    ("SC-ANY-RULE", "z-ent", "z-station", {"fw-station.conf:36"}),
    ("SC-SHADOWED", "z-dmz", "z-station", {"fw-station.conf:41", "fw-station.conf:36"}),
    ("SC-BROAD-PORTS", "z-station", "z-dmz", {"fw-station.conf:55"}),
    ("SC-DIRECTION", "z-dmz", "z-station", {"fw-station.conf:46"}),
    ("SC-PATH-UNAUTH", "z-dmz", "z-station", {"fw-station.conf:46"}),
    ("SC-SIS-REACH", "z-station", "z-prot", {"fw-prot.nft:20"}),
    ("SC-ANY-RULE", "z-station", "z-prot", {"fw-prot.nft:20"}),
    ("SC-IPV6-GAP", "z-ent", "z-dmz", {"fw-wan.cfg:51"}),
    ("SC-ANY-RULE", "z-ent", "z-dmz", {"fw-wan.cfg:51"}),
    ("SC-MGMT-EXPOSED", "z-ent", "device:fw-wan", {"fw-wan.cfg:66"}),
    ("SC-MGMT-EXPOSED", "z-station", "device:fw-prot", {"fw-prot.nft:11"}),
]


def _found() -> list[tuple[str, str | None, str | None, frozenset[str]]]:
    return [(f.code, f.src_zone, f.dst_zone,
             frozenset(f"{Path(e.span.path).name}:{e.span.line}" for e in f.evidence))
            for f in analysis(MIS).result.findings]


@pytest.mark.parametrize(("code", "src", "dst", "where"), EXPECTED)
def test_misconfiguration_found(code: str, src: str, dst: str, where: set[str]) -> None:
    assert (code, src, dst, frozenset(where)) in _found()


def test_scenario_lines_follow_their_comments() -> None:
    table = (MIS_DIR / "SCENARIOS.md").read_text()
    rows = re.findall(r"^\| (\d+) \| [^|]+\| ([^|]+)\|", table, re.M)
    assert len({n for n, _ in rows}) >= 5
    for n, where in rows:
        for ref in where.split(","):
            name, line = ref.strip().split(":")
            lines = (MIS_DIR / name).read_text().splitlines()
            assert f"scenario {n}" in lines[int(line) - 2], (n, ref)


def test_clean_twin_has_none_of_the_misconfigurations() -> None:
    clean = {(f.code, f.src_zone, f.dst_zone) for f in analysis(CLEAN).result.findings}
    assert not clean & {(c, s, d) for c, s, d, _ in EXPECTED}


def test_routes_restrict_paths(tmp_path: Path) -> None:
    """Route the station LAN out of fw-wan's inside interface (wrongly): the telecontrol
    path z-cc -> fw-wan outside->dmz -> fw-station no longer carries 10.3.0.0/24."""
    text = CLEAN.read_text().replace("config: substation/",
                                     f"config: {CLEAN.parent / 'substation'}/")
    text = text.replace("{device: fw-wan, to: 10.3.0.0/24, interface: GigabitEthernet0/2}",
                        "{device: fw-wan, to: 10.3.0.0/24, interface: GigabitEthernet0/1}")
    text = re.sub(r"^policy: .*$", "", text, flags=re.M)
    topo = tmp_path / "t.yaml"
    topo.write_text(text)
    pkt = make_packet("198.51.100.10", "10.3.0.10", "tcp", 2404, 40000)
    assert explain(load_site(POLICY, CLEAN, today=TODAY), pkt).verdict == "permit"
    ex = explain(load_site(POLICY, topo, today=TODAY), pkt)
    assert ex.verdict == "deny"
    assert any(d.filter == "(routes)" and d.device == "fw-wan" for p in ex.paths
               for d in p.decisions)
    cells = {(c.src_zone, c.dst_zone)
             for c in run_check(POLICY, topo, today=TODAY).result.matrix if c.permitted}
    assert ("z-cc", "z-station") not in cells
    assert ("z-cc", "z-station") in {(c.src_zone, c.dst_zone)
                                     for c in analysis(CLEAN).result.matrix if c.permitted}
