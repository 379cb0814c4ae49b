"""Observed traffic versus the Riverbend policy: the example captures' scenarios (frames as
documented in captures/README.md) and the reachability hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from segcheck.analysis.observed import flow_rows, observed_findings
from segcheck.analysis.result import Severity
from segcheck.capture.flows import extract_flows
from segcheck.model.packet import Packet
from segcheck.policy import load_policy
from tests.conftest import ROOT

POLICY = ROOT / "policies" / "riverbend.yaml"
NORMAL = ROOT / "captures" / "riverbend-normal.pcap"
INCIDENT = ROOT / "captures" / "riverbend-incident.pcapng"


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return load_policy(POLICY)


def codes(findings):  # type: ignore[no-untyped-def]
    return sorted((f.code, f.object) for f in findings if f.code != "SC-OBS-CONDUIT-UNUSED")


def test_normal_traffic_has_no_findings(policy) -> None:  # type: ignore[no-untyped-def]
    found = observed_findings(policy, None, str(NORMAL))
    assert codes(found) == []
    unused = {f.object for f in found if f.code == "SC-OBS-CONDUIT-UNUSED"}
    assert "C-03:scada-srv,hmi->plc" not in unused  # seen in frames 1-32
    assert all(f.severity is Severity.INFO for f in found)


def test_incident_scenarios(policy) -> None:  # type: ignore[no-untyped-def]
    found = observed_findings(policy, None, str(INCIDENT))
    by = {(f.code, f.object): f for f in found}
    write = by[("SC-OBS-DANGEROUS-OP", "10.10.7.33->10.50.1.10:tcp/502:write")]
    assert write.observed is not None
    assert write.observed.frames == (16, 18)  # FC 6 and FC 16, captures/README.md
    assert "fc 0x06" in write.message
    assert "unit 1" in write.message
    assert "addr 40" in write.message
    assert (write.src_zone, write.dst_zone) == ("z-ent", "z-field-plant")
    assert write.witness == Packet.make("10.10.7.33", "10.50.1.10", "tcp", 61000, 502)
    assert ("SC-OBS-UNAUTH", "10.10.7.33->10.50.1.10:tcp/502") in by
    disc = by[("SC-OBS-DISCOVERY", "10.10.7.33->10.50.1.11:tcp/502:discovery")]
    assert disc.observed is not None
    assert disc.observed.frames == (26,)
    assert ("SC-OBS-UNAUTH", "10.10.20.15->10.40.1.50:tcp/445") in by
    assert ("SC-OBS-UNAUTH", "10.40.1.50->10.10.20.15:tcp/3389") in by
    mac = by[("SC-OBS-BYPASS", "mac:02:00:0a:28:01:32")]
    assert mac.observed is not None
    assert 45 in mac.observed.frames
    direction = by[("SC-DIRECTION", "10.30.0.10->10.40.1.30:tcp/5450")]
    assert direction.observed is not None
    assert direction.observed.frames[0] == 46
    # the baseline poll (frames 1-10) is allowed: no finding names it
    assert not any(o.startswith("10.40.1.20->10.50.1.10") for _, o in by)


def test_bypass_uses_reachability(policy) -> None:  # type: ignore[no-untyped-def]
    flows = extract_flows([INCIDENT], workers=1).flows
    denied = Packet.make("10.10.7.33", "10.50.1.10", "tcp", 61000, 502)
    found = observed_findings(policy, flows, str(INCIDENT), lambda p: p != denied)
    bypass = [f for f in found if f.code == "SC-OBS-BYPASS" and f.witness is not None]
    assert [f.witness for f in bypass] == [denied]
    assert bypass[0].severity is Severity.CRITICAL


def test_reachability_matrix_object(policy) -> None:  # type: ignore[no-untyped-def]
    class Nothing:
        def contains(self, p: Packet) -> bool:
            return False

    class Matrix:
        def cell(self, a: str, b: str) -> Nothing:
            return Nothing()

    found = observed_findings(policy, None, str(NORMAL), Matrix())
    assert {f.code for f in found} >= {"SC-OBS-BYPASS"}  # everything cross-zone is denied


def test_dangerous_op_into_safety_zone_is_critical(policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    from tests.capture.pcapgen import write_pcap

    frames = [bytes(Ether() / IP(src="10.40.1.20", dst="10.70.1.2") /
                    TCP(sport=50000, dport=502, flags="PA") /
                    Raw(bytes.fromhex("000100000006010600010001")))]
    p = write_pcap(tmp_path / "sis.pcap", frames)
    found = observed_findings(policy, None, str(p))
    (op,) = [f for f in found if f.code == "SC-OBS-DANGEROUS-OP"]
    assert op.severity is Severity.CRITICAL
    assert op.dst_zone == "z-sis"


def test_flow_rows_have_zones(policy) -> None:  # type: ignore[no-untyped-def]
    rows = flow_rows(policy, extract_flows([NORMAL], workers=1).flows)
    first = rows[0]
    assert (first["src_zone"], first["dst_zone"]) == ("z-scada", "z-field-plant")


def test_multicast_and_broadcast_are_not_cross_zone(policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    from tests.capture.pcapgen import write_pcap

    frames = [bytes(Ether() / IP(src="10.40.1.10", dst=dst) / UDP(sport=5353, dport=5353) /
                    Raw(b"\0" * 12)) for dst in ("224.0.0.251", "255.255.255.255")]
    found = observed_findings(policy, None, str(write_pcap(tmp_path / "m.pcap", frames)))
    assert codes(found) == []


def test_opcua_security_none_across_zones(policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import struct

    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    from tests.capture.pcapgen import write_pcap

    uri = b"http://opcfoundation.org/UA/SecurityPolicy#None"
    body = struct.pack("<I", 0) + struct.pack("<i", len(uri)) + uri + struct.pack("<ii", -1, -1)
    opn = b"OPNF" + struct.pack("<I", 8 + len(body)) + body
    frames = [bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                    IP(src="10.30.0.10", dst="10.40.1.30") /
                    TCP(sport=50000, dport=4840, flags="PA") / Raw(opn))]
    found = observed_findings(policy, None, str(write_pcap(tmp_path / "ua.pcap", frames)))
    (insecure,) = [f for f in found if f.code == "SC-OBS-INSECURE-SESSION"]
    assert (insecure.src_zone, insecure.dst_zone) == ("z-ot-dmz", "z-scada")


def test_incident_appended_scenarios(policy) -> None:  # type: ignore[no-untyped-def]
    """Scenarios 1, 2, 10, 7, 8 and 12 (frames 54-105 of captures/README.md)."""
    found = observed_findings(policy, None, str(INCIDENT))
    by = {(f.code, f.object): f for f in found}
    for obj in ("10.99.1.23->10.40.1.10:tcp/3389", "10.99.1.23->10.40.1.20:tcp/445",
                "10.10.40.5->10.30.0.20:tcp/3389", "10.50.1.10->192.0.2.53:udp/53",
                "10.40.1.10->198.51.100.7:tcp/443", "10.10.5.20->10.250.0.2:tcp/22"):
        assert ("SC-OBS-UNAUTH", obj) in by, obj
    # jump-01 -> EWS RDP is conduit C-02: allowed on its own (the pivot is a config finding)
    assert not [k for k in by if k[1] == "10.30.0.20->10.40.1.50:tcp/3389"]
    sis = by[("SC-OBS-DANGEROUS-OP", "10.40.1.20->10.70.1.2:tcp/502:write")]
    assert sis.severity is Severity.CRITICAL
    assert sis.observed is not None
    assert sis.observed.frames == (85,)
