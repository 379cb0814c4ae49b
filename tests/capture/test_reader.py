"""File formats and link types: crafted captures, each checked against what was written and
(when tshark is installed) against tshark's reading of the same file."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import (
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Ether
from scapy.layers.ppp import PPP, PPPoE
from scapy.packet import Raw

from segcheck.capture.flows import extract_flows
from segcheck.capture.reader import open_capture, walk
from segcheck.errors import CaptureError
from tests.capture import tshark_oracle
from tests.capture.pcapgen import write_pcap, write_pcapng

MB_REQ = bytes.fromhex("000100000006010300000002")
MB_RSP = bytes.fromhex("00010000000701030400010002")
ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def ip_pair(v6: bool = False) -> tuple[bytes, bytes]:
    """A Modbus request and its response as raw IP packets."""
    if v6:
        a = IPv6(src="2001:db8::1", dst="2001:db8::2")
        b = IPv6(src="2001:db8::2", dst="2001:db8::1")
    else:
        a, b = IP(src="10.0.0.1", dst="10.0.0.2"), IP(src="10.0.0.2", dst="10.0.0.1")
    return (bytes(a / TCP(sport=40000, dport=502, flags="PA") / Raw(MB_REQ)),
            bytes(b / TCP(sport=502, dport=40000, flags="PA") / Raw(MB_RSP)))


def one_flow(path: Path, packets: int = 2) -> None:
    res = extract_flows([path], workers=1)
    ip_flows = [f for f in res.flows if f.version]
    assert len(ip_flows) == 1, res
    f = ip_flows[0]
    assert (f.sport, f.dport, f.proto, f.app) == (40000, 502, 6, "modbus")
    assert f.packets == packets
    assert dict(f.operations) == {"read": packets // 2}
    assert res.captures[0].undecodable == ()


def eth(v6: bool = False, tags: tuple[object, ...] = ()) -> list[bytes]:
    out = []
    for raw in ip_pair(v6):
        pkt = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        for t in tags:
            pkt = pkt / t  # type: ignore[operator]
        out.append(bytes(pkt / (IPv6(raw) if v6 else IP(raw))))
    return out


@pytest.mark.parametrize("nsec", [False, True])
@pytest.mark.parametrize("big", [False, True])
def test_pcap_variants(tmp_path: Path, nsec: bool, big: bool) -> None:
    p = write_pcap(tmp_path / "x.cap", eth(), nsec=nsec, big=big)
    with open_capture(p) as cap:
        recs = list(walk(cap))
    assert [r[0] for r in recs] == [1, 2]
    assert recs[1][2] == pytest.approx(1_700_000_001 + (1e-6), abs=1e-7)
    one_flow(p)


@pytest.mark.parametrize("big", [False, True])
def test_pcapng_interfaces_linktypes_and_sections(tmp_path: Path, big: bool) -> None:
    req, rsp = ip_pair()
    sll = bytes(CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=b"\x02\0\0\0\0\x01\0\0",
                            proto=0x0800) / IP(rsp))
    p = write_pcapng(tmp_path / "x.pcap", [1, 101, 113],  # extension says pcap: it lies
                     [(1, req), (2, sll), (0, eth()[0])],
                     big=big, extra_sections=[([228], [(0, rsp)])])
    with open_capture(p) as cap:
        assert cap.format == "pcapng"
        recs = list(walk(cap))
        assert [(r[0], r[1]) for r in recs] == [(1, 101), (2, 113), (3, 1), (4, 228)]
    one_flow(p, packets=4)


def test_pcapng_simple_packet_blocks_and_tsresol(tmp_path: Path) -> None:
    p = write_pcapng(tmp_path / "s.pcapng", [1], [(0, f) for f in eth()], simple=True)
    one_flow(p)
    q = write_pcapng(tmp_path / "r.pcapng", [1], [(0, f) for f in eth()], tsresol=0x80 | 10)
    with open_capture(q) as cap:
        ts = [r[2] for r in walk(cap)]
    assert ts[0] == pytest.approx(1_700_000_000 * 1_000_000 / 1024)


@pytest.mark.parametrize("tags", [
    (Dot1Q(vlan=10),),
    (Dot1AD(vlan=100), Dot1Q(vlan=10)),
    (Dot1Q(vlan=0),),
], ids=["vlan", "qinq-88a8", "vlan0"])
def test_ethernet_tags(tmp_path: Path, tags: tuple[object, ...]) -> None:
    one_flow(write_pcap(tmp_path / "v.pcap", eth(tags=tags)))


def test_tpid_9100(tmp_path: Path) -> None:
    frames = [bytes(Ether(type=0x9100) / Dot1Q(vlan=5, type=0x0800) / IP(r)) for r in ip_pair()]
    one_flow(write_pcap(tmp_path / "q.pcap", frames))


def test_mpls_two_labels(tmp_path: Path) -> None:
    frames = [bytes(Ether(type=0x8847) / MPLS(label=16, s=0) / MPLS(label=17, s=1) / IP(r))
              for r in ip_pair()]
    one_flow(write_pcap(tmp_path / "m.pcap", frames))


def test_pppoe_session(tmp_path: Path) -> None:
    frames = [bytes(Ether(type=0x8864) / PPPoE(sessionid=7) / PPP(proto=0x0021) / IP(r))
              for r in ip_pair()]
    one_flow(write_pcap(tmp_path / "p.pcap", frames))


def test_sll2(tmp_path: Path) -> None:
    frames = [bytes(CookedLinuxV2(proto=0x86DD, lladdrlen=6, src=b"\x02\0\0\0\0\x01\0\0") /
                    IPv6(r)) for r in ip_pair(v6=True)]
    one_flow(write_pcap(tmp_path / "s2.pcap", frames, linktype=276))


@pytest.mark.parametrize("lt", [101, 12, 14, 228])
def test_raw_ipv4_linktypes(tmp_path: Path, lt: int) -> None:
    one_flow(write_pcap(tmp_path / "r.pcap", list(ip_pair()), linktype=lt))


def test_raw_ipv6_linktype(tmp_path: Path) -> None:
    one_flow(write_pcap(tmp_path / "r6.pcap", list(ip_pair(v6=True)), linktype=229))


@pytest.mark.parametrize(("lt", "order"), [(0, "<"), (0, ">"), (108, ">")])
def test_bsd_loopback(tmp_path: Path, lt: int, order: str) -> None:
    frames = [struct.pack(order + "I", 2) + r for r in ip_pair()]
    one_flow(write_pcap(tmp_path / "lo.pcap", frames, linktype=lt))


def test_ipv6_extension_headers_and_fragments(tmp_path: Path) -> None:
    base = IPv6(src="2001:db8::1", dst="2001:db8::2")
    ext = base / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt()
    seg = UDP(sport=5000, dport=53) / Raw(b"x" * 1200)
    whole = bytes(base / IPv6ExtHdrFragment(id=9) / seg)
    first = IPv6(whole)
    first[IPv6ExtHdrFragment].m = 1
    pl = bytes(first[IPv6ExtHdrFragment].payload)
    f1 = bytes(base / IPv6ExtHdrFragment(id=9, m=1, offset=0, nh=17) / Raw(pl[:600]))
    f2 = bytes(base / IPv6ExtHdrFragment(id=9, m=0, offset=75, nh=17) / Raw(pl[600:]))
    frames = [bytes(ETH / ext / TCP(sport=1, dport=2)), bytes(ETH / IPv6(f1)),
              bytes(ETH / IPv6(f2))]
    res = extract_flows([write_pcap(tmp_path / "x6.pcap", frames)], workers=1)
    by_port = {(f.proto, f.sport, f.dport): f for f in res.flows}
    assert (6, 1, 2) in by_port
    udp = by_port[(17, 5000, 53)]
    assert (udp.packets, udp.fragments) == (2, 1)


def test_ipv4_fragments_and_orphans(tmp_path: Path) -> None:
    pkt = IP(src="10.0.0.1", dst="10.0.0.2", id=77) / UDP(sport=1111, dport=2222) / Raw(b"y" * 3000)
    from scapy.layers.inet import fragment
    frags = [bytes(ETH / f) for f in fragment(pkt, fragsize=1000)]
    orphan = IP(src="10.0.0.9", dst="10.0.0.2", id=5, frag=100, proto=17) / Raw(b"z" * 40)
    res = extract_flows([write_pcap(tmp_path / "f.pcap", [*frags, bytes(ETH / orphan)])],
                        workers=1)
    (f,) = res.flows
    assert (f.sport, f.dport, f.packets, f.fragments) == (1111, 2222, len(frags), len(frags) - 1)
    assert dict(res.captures[0].undecodable) == {"IP fragment whose first fragment was not seen": 1}


def test_truncated_frames_are_counted_by_reason(tmp_path: Path) -> None:
    good = eth()
    frames: list[bytes | tuple[bytes, int]] = [
        *good,
        (good[0][:20], len(good[0])),  # cut inside the IPv4 header
        (good[0][:40], len(good[0])),  # cut inside the TCP header
        (good[0][:10], len(good[0])),  # not even an Ethernet header
        bytes(Ether(type=0x0800) / Raw(b"\x99" * 30)),  # not IPv4 at all
    ]
    res = extract_flows([write_pcap(tmp_path / "t.pcap", frames)], workers=1)
    assert dict(res.captures[0].undecodable) == {
        "truncated IPv4 header": 1, "truncated TCP header": 1,
        "truncated ethernet header": 1, "invalid IPv4 header": 1}
    assert res.captures[0].packets == 6


def test_cut_off_file_is_reported_not_fatal(tmp_path: Path) -> None:
    p = write_pcap(tmp_path / "c.pcap", eth())
    p.write_bytes(p.read_bytes()[:-10])
    res = extract_flows([p], workers=1)
    assert res.flows[0].packets == 1
    assert dict(res.captures[0].undecodable) == {"cut-off record (file ends inside a packet)": 1}


def test_non_ip_frames_are_counted(tmp_path: Path) -> None:
    from scapy.layers.l2 import ARP
    p = write_pcap(tmp_path / "a.pcap", [bytes(ETH / ARP())] * 3 + eth())
    res = extract_flows([p], workers=1)
    assert dict(res.captures[0].non_ip) == {"arp": 3}


@pytest.mark.parametrize("content", [b"", b"hello world, not a capture", b"\xd4\xc3\xb2\xa1"])
def test_bad_file_raises_capture_error_with_path(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "bad.pcap"
    p.write_bytes(content)
    with pytest.raises(CaptureError) as exc:
        extract_flows([p], workers=1)
    assert exc.value.span is not None
    assert exc.value.span.path == str(p)


def test_missing_file_raises_capture_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError):
        extract_flows([tmp_path / "nope.pcap"], workers=1)


def test_crafted_link_types_agree_with_tshark(tmp_path: Path) -> None:
    """Every crafted link-type file above, read by tshark: same conversations and counts."""
    if not tshark_oracle.available():
        from tests.conftest import require_oracle
        require_oracle("tshark not installed")
    req, rsp = ip_pair()
    files = [
        write_pcap(tmp_path / "a.pcap", eth(tags=(Dot1AD(vlan=1), Dot1Q(vlan=2)))),
        write_pcap(tmp_path / "b.pcap", [bytes(Ether(type=0x8847) / MPLS(s=1) / IP(r))
                                         for r in (req, rsp)]),
        write_pcap(tmp_path / "c.pcap", [bytes(Ether(type=0x8864) / PPPoE() / PPP(proto=0x21) /
                                               IP(r)) for r in (req, rsp)]),
        write_pcap(tmp_path / "d.pcap", [req, rsp], linktype=101),
        write_pcap(tmp_path / "e.pcap", [struct.pack("<I", 2) + r for r in (req, rsp)],
                   linktype=0),
        write_pcapng(tmp_path / "f.pcapng", [1, 101], [(1, req), (0, eth()[1])], big=True),
    ]
    for p in files:
        pk, _ = tshark_oracle.conversations(p)
        res = extract_flows([p], workers=1)
        ours = {tshark_oracle.key_of(f.proto_name, f.src, f.dst, f.sport, f.dport): f.packets
                for f in res.flows}
        assert ours == dict(pk), p.name
