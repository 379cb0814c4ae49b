"""SC-MGMT-EXPOSED follows the ASA and SRX management-plane semantics, end to end.

The clean Hollow Creek substation (``topologies/substation.yaml``: ASA fw-wan, SRX
fw-station, nftables fw-prot; management allowed only from z-mgmt) has no SC-MGMT-EXPOSED.
Each case appends lines to a copy of one export and states, from the vendor semantics
(``_asa_mgmt``, ``junos/host_inbound``) and the site's zones, whether the finding must
appear, for which zone and device, and with which line as evidence:

- ASA ``http``/``snmp-server host`` entries on inside expose the device to z-ent; ``ssh 0 0
  outside`` exposes it to the control centre (z-cc) unless a control-plane ACL drops SSH
  there; ``telnet 0 0 outside`` exposes nothing (outside is the lowest-security interface).
- SRX zone-level ``system-services ssh`` on the station zone exposes fw-station to
  z-station, unless the interface has its own ``host-inbound-traffic`` (which overrides the
  zone's) or the ``lo0.0`` input filter discards SSH. SSH on the dmz zone exposes the dmz
  address to z-dmz, and to z-station only once a station -> dmz policy permits it.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from segcheck.analysis.check import run_check
from tests.conftest import ROOT

POLICY = ROOT / "policies" / "substation.yaml"
CLEAN = ROOT / "topologies" / "substation.yaml"
SITE = ROOT / "topologies" / "substation"
TODAY = date(2026, 6, 1)

CP = ("access-list CP extended deny tcp any any eq ssh\n"
      "access-list CP extended permit ip any any\n"
      "access-group CP in interface outside control-plane\n")
LO0 = ("set interfaces lo0 unit 0 family inet filter input RE\n"
       "set firewall family inet filter RE term ssh from protocol tcp\n"
       "set firewall family inet filter RE term ssh from destination-port ssh\n"
       "set firewall family inet filter RE term ssh then discard\n"
       "set firewall family inet filter RE term rest then accept\n")
STATION_SSH = "set security zones security-zone station host-inbound-traffic system-services ssh\n"
DMZ_SSH = "set security zones security-zone dmz host-inbound-traffic system-services ssh\n"
STATION_TO_DMZ = "".join(
    f"set security policies from-zone station to-zone dmz policy fw-ssh {x}\n"
    for x in ("match source-address any", "match destination-address any",
              "match application junos-ssh", "then permit"))

# (file, lines appended, expected (src zone, device, evidence line text) findings)
CASES = [
    ("fw-wan.cfg", "http server enable\nhttp 10.1.0.0 255.255.0.0 inside\n",
     {("z-ent", "device:fw-wan", "http 10.1.0.0 255.255.0.0 inside")}),
    ("fw-wan.cfg", "snmp-server host inside 10.1.2.3 poll community c\n",
     {("z-ent", "device:fw-wan", "snmp-server host inside 10.1.2.3 poll community c")}),
    ("fw-wan.cfg", "snmp-server host inside 10.1.2.3 trap community c\n", set()),
    ("fw-wan.cfg", "ssh 0 0 outside\n", {("z-cc", "device:fw-wan", "ssh 0 0 outside")}),
    ("fw-wan.cfg", "ssh 0 0 outside\n" + CP, set()),
    ("fw-wan.cfg", "telnet 0 0 outside\n", set()),
    ("fw-station.conf", STATION_SSH, {("z-station", "device:fw-station", STATION_SSH.strip())}),
    ("fw-station.conf", STATION_SSH + "set security zones security-zone station interfaces "
     "ge-0/0/1.0 host-inbound-traffic system-services ping\n", set()),
    ("fw-station.conf", STATION_SSH + LO0, set()),
    # the destination interface's zone decides: ssh on dmz exposes its address to z-dmz;
    # z-station reaches it too once a station -> dmz policy lets ssh to it
    ("fw-station.conf", DMZ_SSH, {("z-dmz", "device:fw-station", DMZ_SSH.strip())}),
    ("fw-station.conf", DMZ_SSH + STATION_TO_DMZ,
     {("z-dmz", "device:fw-station", DMZ_SSH.strip()),
      ("z-station", "device:fw-station", DMZ_SSH.strip())}),
]


def site_with(tmp_path: Path, name: str, extra: str) -> Path:
    for f in SITE.iterdir():
        text = f.read_text()
        if f.name == name:
            text = text.replace("\nend\n", "\n") + extra + ("end\n" if name.endswith(".cfg")
                                                            else "")
        (tmp_path / f.name).write_text(text)
    topo = CLEAN.read_text().replace("config: substation/", f"config: {tmp_path}/")
    topo = re.sub(r"^policy: .*$", "", topo, flags=re.M)
    out = tmp_path / "topology.yaml"
    out.write_text(topo)
    return out


def mgmt_findings(topology: Path) -> set[tuple[str | None, str | None, str]]:
    result = run_check(POLICY, topology, today=TODAY).result
    assert result.complete, [str(d) for d in result.diagnostics]
    return {(f.src_zone, f.dst_zone, e.span.text or "") for f in result.findings
            if f.code == "SC-MGMT-EXPOSED" for e in f.evidence if e.span.path.endswith(
                ("fw-wan.cfg", "fw-station.conf"))}


def test_clean_site_exposes_no_management() -> None:
    assert mgmt_findings(CLEAN) == set()


@pytest.mark.parametrize(("name", "extra", "want"), CASES)
def test_mgmt_exposed(tmp_path: Path, name: str, extra: str,
                      want: set[tuple[str, str, str]]) -> None:
    got = mgmt_findings(site_with(tmp_path, name, extra))
    assert {(s, d) for s, d, _ in got} == {(s, d) for s, d, _ in want}
    for s, d, text in want:
        assert (s, d, text) in got, got
