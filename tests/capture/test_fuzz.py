"""Property tests: damaged frames of every link type never raise, every frame is accounted
for (in a flow, non-IP, or undecodable), and the bulk scan equals the per-packet scan."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from segcheck.capture.apps import DECODERS, detect
from segcheck.capture.flows import _finish, extract_flows, scan
from tests.capture.pcapgen import write_pcap
from tests.capture.test_apps import CASES

ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
PAYLOADS = [c[4] for c in CASES]


def _templates() -> list[tuple[int, bytes]]:
    """(link type, frame) seeds covering the decoders and the link layers."""
    out: list[tuple[int, bytes]] = []
    for i, (_, transport, sport, dport, payload, *_r) in enumerate(CASES):
        l4 = TCP(sport=sport, dport=dport, flags="PA") if transport == 6 else UDP(
            sport=sport, dport=dport)
        ip = IP(src="10.0.0.1", dst=f"10.0.{i % 3}.2") / l4 / Raw(payload)
        out.append((1, bytes(ETH / ip)))
        if i % 4 == 0:
            out.append((1, bytes(ETH / Dot1Q(vlan=7) / ip)))
            out.append((101, bytes(ip)))
            out.append((0, struct.pack("<I", 2) + bytes(ip)))
    out.append((1, bytes(ETH / IPv6(src="2001:db8::1", dst="2001:db8::2") /
                     IPv6ExtHdrFragment(m=1, id=3) / UDP(sport=1, dport=2) / Raw(b"x" * 64))))
    out.append((1, bytes(ETH / IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP() / Raw(b"y"))))
    return out


TEMPLATES = _templates()


@st.composite
def frames(draw: st.DrawFn) -> tuple[int, list[bytes]]:
    lt = draw(st.sampled_from([1, 101, 0]))
    seeds = [f for t, f in TEMPLATES if t == lt]
    out = []
    for _ in range(draw(st.integers(1, 12))):
        raw = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(0, 3))):
            pos = draw(st.integers(0, len(raw) - 1))
            raw[pos] = draw(st.integers(0, 255))
        cut = draw(st.integers(0, len(raw)))
        out.append(bytes(raw[:cut]) if draw(st.booleans()) else bytes(raw))
    return lt, out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_damaged_frames_are_counted_never_raised(case: tuple[int, list[bytes]]) -> None:
    lt, frs = case
    with tempfile.TemporaryDirectory() as tmp:
        p = write_pcap(Path(tmp) / "f.pcap", frs, linktype=lt)
        res = extract_flows([p], workers=1)
        cap = res.captures[0]
        in_flows = sum(f.packets for f in res.flows)
        assert in_flows + sum(n for _, n in cap.undecodable) + sum(
            n for _, n in cap.non_ip) == cap.packets == len(frs)
        got = [sorted((_finish(str(p), f) for f in scan(str(p), engine=e).flows),
                      key=lambda f: (f.src, f.sport, f.dst, f.dport, f.proto))
               for e in ("vector", "packet")]
        assert got[0] == got[1]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PAYLOADS), st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)),
                                           max_size=4), st.integers(0, 300))
def test_decoders_never_raise_on_damaged_pdus(payload: bytes, edits: list[tuple[int, int]],
                                              cut: int) -> None:
    raw = bytearray(payload)
    for pos, val in edits:
        if raw:
            raw[pos % len(raw)] = val
    data = bytes(raw[:cut])
    for proto in (6, 17):
        detect(data, proto, 40000, 502)
        detect(data, proto, 40000, 102)
    for decoder in DECODERS.values():
        for from_client in (True, False):
            decoder(data, from_client, {})
