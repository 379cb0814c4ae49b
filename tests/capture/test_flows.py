"""Flow semantics: initiator rules, counts each way, L2 flows, bounded memory, and parallel
chunked reading equal to the single-process result."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

import segcheck.capture.flows as flows_mod
from segcheck.capture.flows import FIRST_FRAMES, MAX_EVENTS, extract_flows
from tests.capture.pcapgen import write_pcap

A, B = "10.0.0.1", "10.0.0.2"
MA, MB = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def pkt(src: str, dst: str, sport: int, dport: int, flags: str = "A", payload: bytes = b"",
        udp: bool = False) -> bytes:
    l4 = UDP(sport=sport, dport=dport) if udp else TCP(sport=sport, dport=dport, flags=flags)
    smac, dmac = (MA, MB) if src == A else (MB, MA)
    frame = Ether(src=smac, dst=dmac) / IP(src=src, dst=dst) / l4
    return bytes(frame / Raw(payload)) if payload else bytes(frame)


def only(path: Path) -> flows_mod.Flow:
    (f,) = extract_flows([path], workers=1).flows
    return f


def test_syn_sender_is_src_even_when_a_response_comes_first(tmp_path: Path) -> None:
    frames = [pkt(B, A, 80, 5555, "A"), pkt(A, B, 5555, 80, "S"), pkt(B, A, 80, 5555, "SA"),
              pkt(A, B, 5555, 80, "A", b"hi")]
    f = only(write_pcap(tmp_path / "a.pcap", frames))
    assert (f.src, f.sport, f.dst, f.dport, f.initiator_by) == (A, 5555, B, 80, "syn")
    assert (f.packets_fwd, f.packets_rev) == (2, 2)
    assert f.frames == (1, 2, 3, 4)
    assert (f.src_mac, f.dst_mac) == (MA, MB)


def test_syn_ack_sender_is_the_responder(tmp_path: Path) -> None:
    f = only(write_pcap(tmp_path / "b.pcap", [pkt(B, A, 80, 5555, "SA"),
                                               pkt(A, B, 5555, 80, "A")]))
    assert (f.src, f.dport, f.initiator_by) == (A, 80, "syn")


def test_port_heuristic_without_handshake(tmp_path: Path) -> None:
    f = only(write_pcap(tmp_path / "c.pcap", [pkt(B, A, 502, 40000, "PA", b"x"),
                                               pkt(A, B, 40000, 502, "A")]))
    assert (f.src, f.sport, f.dport, f.initiator_by) == (A, 40000, 502, "port")


def test_first_packet_for_udp_and_undecided_tcp(tmp_path: Path) -> None:
    f = only(write_pcap(tmp_path / "d.pcap", [pkt(B, A, 53, 40000, udp=True),
                                               pkt(A, B, 40000, 53, udp=True)]))
    assert (f.src, f.sport, f.initiator_by) == (B, 53, "first-packet")
    g = only(write_pcap(tmp_path / "e.pcap", [pkt(B, A, 40001, 40000, "PA", b"x")]))
    assert (g.src, g.initiator_by) == (B, "first-packet")


def test_bytes_are_wire_lengths_each_way(tmp_path: Path) -> None:
    frames = [pkt(A, B, 1, 2, "S"), pkt(B, A, 2, 1, "SA", b"y" * 100)]
    f = only(write_pcap(tmp_path / "f.pcap", frames))
    assert (f.bytes_fwd, f.bytes_rev) == (len(frames[0]), len(frames[1]))


def test_l2_profinet_and_goose_flows(tmp_path: Path) -> None:
    dcp_identify = bytes.fromhex("fefe05000000000100000004ffff0000")
    goose = bytes.fromhex("0001001a00000000") + b"\x61\x10" + bytes(16)
    frames = [bytes(Ether(src=MA, dst="01:0e:cf:00:00:00", type=0x8892) / Raw(dcp_identify)),
              bytes(Ether(src=MB, dst="01:0c:cd:01:00:01", type=0x88B8) / Raw(goose))]
    res = extract_flows([write_pcap(tmp_path / "l2.pcap", frames)], workers=1)
    by_app = {f.app: f for f in res.flows}
    assert by_app["profinet"].src == MA
    assert by_app["profinet"].proto_name == "eth:0x8892"
    assert dict(by_app["profinet"].operations) == {"discovery": 1}
    assert by_app["goose"].dst == "01:0c:cd:01:00:01"
    assert by_app["goose"].packet() is None


def test_memory_is_bounded_per_flow(tmp_path: Path) -> None:
    req = bytes.fromhex("000100000006010600010001")
    read = bytes.fromhex("000100000006010300010001")
    frames = [pkt(A, B, 4000, 502, "PA", req if i % 2 else read) for i in range(4 * MAX_EVENTS)]
    f = only(write_pcap(tmp_path / "m.pcap", frames))
    assert len(f.frames) == FIRST_FRAMES
    assert len(f.events) == 2 * MAX_EVENTS  # per operation class
    assert [e[0] for e in f.events] == list(range(1, 2 * MAX_EVENTS + 1))
    assert dict(f.operations) == {"read": 2 * MAX_EVENTS, "write": 2 * MAX_EVENTS}


def test_parallel_split_equals_single_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              ) -> None:
    frames = []
    for i in range(300):
        frames.append(pkt(A, B, 1000 + i % 7, 502, "PA", bytes.fromhex("000100000006010300000001")))
        frames.append(pkt(B, A, 502, 1000 + i % 7, "PA", bytes.fromhex("00010000000501030200ff")))
    p = write_pcap(tmp_path / "big.pcap", frames)
    q = write_pcap(tmp_path / "other.pcap", frames[:10])
    single = extract_flows([p, q], workers=1)
    monkeypatch.setattr(flows_mod, "SPLIT_BYTES", 1000)
    multi = extract_flows([p, q], workers=3)  # more workers than files: the big one is split
    key = lambda f: (f.capture, f.src, f.sport, f.dst, f.dport)  # noqa: E731
    s = sorted(single.flows, key=key)
    m = sorted(multi.flows, key=key)
    assert [(key(f), f.packets_fwd, f.packets_rev, f.bytes, dict(f.operations), f.frames)
            for f in s] == [(key(f), f.packets_fwd, f.packets_rev, f.bytes, dict(f.operations),
                             f.frames) for f in m]
    assert [c.packets for c in single.captures] == [c.packets for c in multi.captures]
    assert multi == single  # flow partitions: exactly one pass's result


def test_vectorised_scan_equals_per_packet_scan_on_long_modbus_flows(tmp_path: Path) -> None:
    """Long flows take the bulk Modbus counting path once their event list is full."""
    from segcheck.capture.flows import _finish, scan

    frames = []
    for i in range(3 * MAX_EVENTS):
        fc = (3, 6, 16, 8, 43)[i % 5]
        pdu = bytes([fc]) + (b"\x00\x01\x00\x00" if fc in (8, 43) else b"\x00\x01\x00\x02")
        frames.append(pkt(A, B, 4000 + i % 3, 502, "PA",
                          bytes.fromhex("00010000") + (len(pdu) + 1).to_bytes(2, "big")
                          + b"\x01" + pdu))
        frames.append(pkt(B, A, 502, 4000 + i % 3, "PA", bytes.fromhex("0001000000030186") +
                          b"\x02"))
        frames.append(pkt(A, B, 5000, 80, "PA", b"GET / HTTP/1.1\r\n\r\n"))
    p = write_pcap(tmp_path / "long.pcap", frames)
    got = [sorted((_finish(str(p), f) for f in scan(str(p), engine=e).flows),
                  key=lambda f: (f.sport, f.dport)) for e in ("vector", "packet")]
    assert got[0] == got[1]
    modbus = [f for f in got[0] if f.app == "modbus"]
    writes = sum(1 for i in range(3 * MAX_EVENTS) if i % 5 in (1, 2))
    assert sum(dict(f.operations).get("write", 0) for f in modbus) == writes


def test_hash_collisions_fall_back_to_the_per_packet_path(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """With a degenerate hash every record collides; results must not change."""
    import numpy as np

    import segcheck.capture.vector as vec
    from segcheck.capture.flows import _finish, scan

    frames = [pkt(A, B, 1000 + i % 9, 502 if i % 2 else 80, "PA", b"GET / HTTP/1.1\r\n\r\n")
              for i in range(60)]
    p = write_pcap(tmp_path / "col.pcap", frames)
    want = sorted((_finish(str(p), f) for f in scan(str(p), engine="packet").flows),
                  key=lambda f: (f.sport, f.dport))
    monkeypatch.setattr(vec, "MIX", np.uint64(0))
    got = sorted((_finish(str(p), f) for f in scan(str(p), engine="vector").flows),
                 key=lambda f: (f.sport, f.dport))
    assert got == want


def test_lazy_tails_equal_per_packet_scan(tmp_path: Path) -> None:
    """A flow recognised only at its 4th payload needs the rest of its chunk decoded (the
    lazy tail is built); one still unknown after its detection budget never is."""
    from segcheck.capture.flows import _finish, scan

    write = bytes.fromhex("000100000006010600010001")
    frames = []
    for i in range(30):
        frames.append(pkt(A, B, 4000, 502, "PA", b"\x99" * 9 if i < 3 else write))
        frames.append(pkt(A, B, 4001, 502, "PA", b"\x99" * 9 if i < 10 else write))
        frames.append(pkt(A, B, 4002, 443, "PA", b"\x17\x03\x03\x00\x10" + bytes(16)))
    p = write_pcap(tmp_path / "tail.pcap", frames)
    got = [sorted((_finish(str(p), f) for f in scan(str(p), engine=e).flows),
                  key=lambda f: f.sport) for e in ("vector", "packet")]
    assert got[0] == got[1]
    by_port = {f.sport: f for f in got[0]}
    assert dict(by_port[4000].operations) == {"write": 27}
    assert by_port[4001].app is None
