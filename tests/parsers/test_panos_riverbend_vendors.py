"""The Riverbend site with vendor exports (PAN-OS fw-it, FortiGate fw-ot) means exactly what
the iptables exports of ``topologies/riverbend.yaml`` mean.

Differential test between two independent parsers/vendors: random packets between every
pair of the site's zones (addresses drawn from the zones' CIDRs and assets, ports from the
policy's services and elsewhere, TCP/UDP/ICMP/ICMPv6/GRE, IPv4 and IPv6) are decided by
each device's forward stages in both topologies; management-plane packets (to each
firewall's management address, from every zone, IPv4) by the local stages. All verdicts must
agree; so must the whole ``check``: zone matrix and findings.
"""

from __future__ import annotations

import ipaddress
import json
import random
from pathlib import Path

import pytest

from segcheck.analysis.site import Site, load_site
from segcheck.cli import main
from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import Action

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "riverbend.yaml"
IPTABLES = ROOT / "topologies" / "riverbend.yaml"
VENDORS = ROOT / "topologies" / "riverbend-vendors.yaml"


@pytest.fixture(scope="module")
def sites() -> tuple[Site, Site]:
    if not IPTABLES.exists():
        pytest.skip("the example site's iptables topology is not there")
    return load_site(POLICY, IPTABLES), load_site(POLICY, VENDORS)


def _forward(device: Device, p: Packet, ingress: str, egress: str) -> bool:
    return all(f.decide(p)[0] is Action.PERMIT
               for f in device.forward_filters(device.context(ingress), device.context(egress)))


def _local(device: Device, p: Packet, ingress: str) -> bool:
    return all(f.decide(p)[0] is Action.PERMIT
               for f in device.local_filters(device.context(ingress)))


def _zone_nets(site: Site) -> dict[str, list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """Per zone: its asset networks (listed twice: conduits name assets) and its CIDRs."""
    out: dict[str, list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = {}
    for z in site.policy.zones:
        assets = [n for a in z.assets.values() for n in a.networks]
        out[z.id] = [*assets, *assets, *z.networks]
    return out


def _packet(rng: random.Random, src_nets: list, dst_nets: list, ports: list[int]) -> Packet:
    version = rng.choice((4, 4, 4, 6))
    pick = [n for n in src_nets if n.version == version] or [
        ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")]
    dpick = [n for n in dst_nets if n.version == version] or [
        ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")]

    def addr(nets: list) -> str:
        n = rng.choice(nets)
        return str(n.network_address + rng.randrange(min(n.num_addresses, 1 << 24)))

    proto = rng.choice((6, 6, 6, 6, 17, 1 if version == 4 else 58, 47))
    sport = dport = itype = 0
    if proto in (6, 17):
        sport = rng.randint(1024, 65535)
        dport = rng.choice([*ports, *ports, rng.randint(0, 65535)])
    if proto in (1, 58):
        itype = rng.choice((0, 8, 128, 135))
    return Packet.make(addr(pick), addr(dpick), proto, sport, dport, itype)


def test_forward_verdicts_agree_between_zone_pairs(sites: tuple[Site, Site]) -> None:
    ipt, ven = sites
    nets = _zone_nets(ipt)
    ports = sorted({lo for s in ipt.policy.services.values() for _, r in s.ports
                    for lo, _hi in r} | {22, 80, 135, 445, 8531, 8532})
    flows = [(e.zone, d.zone, list(e.networks), list(d.networks),
              [lo for name in f.services for _, r in ipt.policy.services[name].ports
               for lo, _hi in r])
             for c in ipt.policy.conduits for f in c.flows
             for e in f.sources for d in f.destinations]
    own = {d.id: set(d.management) for d in ipt.topology.devices}
    rng = random.Random(62443)
    checked = permitted = 0
    for dev_id in ("fw-it", "fw-ot"):
        a_dev, b_dev = ipt.devices[dev_id], ven.devices[dev_id]
        a_if = {z: i for i, z in next(d for d in ipt.topology.devices
                                      if d.id == dev_id).interfaces.items()}
        b_if = {z: i for i, z in next(d for d in ven.topology.devices
                                      if d.id == dev_id).interfaces.items()}
        assert a_if.keys() == b_if.keys()
        for zin in a_if:
            for zout in a_if:
                aimed = [f for f in flows if f[1] == zout]
                for _ in range(100):
                    if aimed and rng.random() < 0.5:
                        src, dst, fports = rng.choice(aimed)[2:]
                        p = _packet(rng, src, dst, fports)
                    else:
                        src_zone = rng.choice([zin, zin, "z-vendor", "z-ent"])
                        p = _packet(rng, nets.get(src_zone, []), nets.get(zout, []), ports)
                    if p.dst_ip in own[dev_id]:
                        continue  # addressed to the firewall: the local test's business
                    want = _forward(a_dev, p, a_if[zin], a_if[zout])
                    got = _forward(b_dev, p, b_if[zin], b_if[zout])
                    assert got == want, (dev_id, zin, zout, str(p), want)
                    checked += 1
                    permitted += want
    assert checked >= 7300
    assert permitted >= 100, "the sample must exercise the conduits, not only the default deny"


def test_management_plane_agrees(sites: tuple[Site, Site]) -> None:
    ipt, ven = sites
    nets = _zone_nets(ipt)
    rng = random.Random(7)
    for dev_id in ("fw-it", "fw-ot"):
        a_td = next(d for d in ipt.topology.devices if d.id == dev_id)
        b_td = next(d for d in ven.topology.devices if d.id == dev_id)
        a_if = {z: i for i, z in a_td.interfaces.items()}
        b_if = {z: i for i, z in b_td.interfaces.items()}
        mgmt = str(a_td.management[0])
        for zin in a_if:
            src_nets = [n for n in nets.get(zin, []) if n.version == 4] or [
                ipaddress.ip_network("198.51.100.0/24")]
            srcs = ["10.250.0.10"] + [
                str(rng.choice(src_nets).network_address + rng.randrange(250))
                for _ in range(5)]
            for src in srcs:
                for port in (22, 443, 80, 23):
                    p = Packet.make(src, mgmt, "tcp", 40000, port)
                    assert _local(ven.devices[dev_id], p, b_if[zin]) == _local(
                        ipt.devices[dev_id], p, a_if[zin]), (dev_id, zin, str(p))
        # and the firewall answers netadmin on the management zone only
        p = Packet.make("10.250.0.10", mgmt, "tcp", 40000, 443)
        assert _local(ven.devices[dev_id], p, b_if["z-mgmt"])


def test_check_reports_the_same_matrix_and_findings(tmp_path: Path,
                                                    sites: tuple[Site, Site]) -> None:
    out = {}
    for name, topo in (("iptables", IPTABLES), ("vendors", VENDORS)):
        target = tmp_path / f"{name}.json"
        code = main(["check", "--policy", str(POLICY), "--topology", str(topo),
                     "--format", "json", "-o", str(target), "--fail-on", "never"])
        assert code == 0
        out[name] = json.loads(target.read_text())
    a, b = out["iptables"], out["vendors"]

    def matrix(r: dict) -> list:
        return sorted((m["src_zone"], m["dst_zone"], m["permitted"]) for m in r["matrix"])

    def findings(r: dict) -> list:
        return sorted((f["code"], f["src_zone"], f["dst_zone"]) for f in r["findings"])

    assert matrix(b) == matrix(a)
    assert findings(b) == findings(a)
    assert b["complete"]


MIS_IPTABLES = ROOT / "topologies" / "riverbend-misconfigured.yaml"
MIS_VENDORS = ROOT / "topologies" / "riverbend-vendors-misconfigured.yaml"


def test_misconfigured_variant_reports_the_same_findings(tmp_path: Path) -> None:
    """The BRIEF.md §6 scenarios in vendor syntax give the iptables variant's matrix and
    findings. One finding more, on purpose: FortiGate has no chain policy, so scenario 11
    (IPv6 forwarded unfiltered) is an any/any/ALL policy there — which is also, correctly,
    an SC-ANY-RULE. It sits on the z-ent -> z-ot-dmz crossing, but z-ot-dmz has no IPv6
    prefix: the IPv6 destinations it lets through are z-internet's, so that is its pair."""
    if not MIS_IPTABLES.exists():
        pytest.skip("the misconfigured iptables site is not there")
    out = {}
    for name, topo in (("iptables", MIS_IPTABLES), ("vendors", MIS_VENDORS)):
        target = tmp_path / f"{name}.json"
        code = main(["check", "--policy", str(POLICY), "--topology", str(topo),
                     "--format", "json", "-o", str(target), "--fail-on", "never"])
        assert code == 0
        out[name] = json.loads(target.read_text())
    a, b = out["iptables"], out["vendors"]
    assert sorted((m["src_zone"], m["dst_zone"], m["permitted"]) for m in b["matrix"]) == \
        sorted((m["src_zone"], m["dst_zone"], m["permitted"]) for m in a["matrix"])
    fa = sorted((f["code"], f["src_zone"], f["dst_zone"]) for f in a["findings"])
    fb = sorted((f["code"], f["src_zone"], f["dst_zone"]) for f in b["findings"])
    assert fb == sorted([*fa, ("SC-ANY-RULE", "z-ent", "z-internet")])
    # every vendor-rule finding points at a rule that says which scenario it is
    text = {p: Path(p).read_text().splitlines() for p in {
        e["file"] for f in b["findings"] for e in f["evidence"] if e.get("file")}
        if not p.endswith(".yaml")}
    for f in b["findings"]:
        for e in f["evidence"]:
            lines = text.get(e.get("file") or "")
            if lines and e.get("line") and f["code"] in ("SC-SIS-REACH", "SC-DIRECTION",
                                                         "SC-BROAD-PORTS", "SC-REMOTE-NO-MFA"):
                block = "\n".join(lines[e["line"] - 1:e["line"] + 14])
                assert "scenario" in block, (f["code"], e)
