"""The native scan (``_pcapc``) against the pure-Python reference (``engine="packet"``, every
frame through ``Scanner.packet``) and the numpy path: identical flows (counts and bytes each
way, times, frames, MACs, initiator, operations, events, notes) and identical capture
counters (packets, bytes, undecodable and non-IP by reason) on crafted captures of every
link type and format, the repo's captures, the corpus, and hypothesis-damaged files; plus
record-aligned splitting of pcap and pcapng equal to one pass.

Without the extension these tests skip — except under ``SEGCHECK_REQUIRE_NATIVE=1`` (CI),
where a missing extension fails ``test_extension_is_built``."""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.l2 import ARP, GRE, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Ether
from scapy.layers.ppp import PPP, PPPoE
from scapy.packet import Raw

from segcheck.capture import native
from segcheck.capture.flows import _finish, _merge, scan
from segcheck.capture.reader import open_capture, pcap_split_points, pcapng_split_points
from tests.capture.pcapgen import write_pcap, write_pcapng
from tests.capture.test_apps import CASES

ROOT = Path(__file__).resolve().parents[2]
ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
A4, B4 = "10.0.0.1", "10.0.0.2"
A6, B6 = "2001:db8::1", "2001:db8::2"


def test_extension_is_built() -> None:
    if native.built() is None and os.environ.get("SEGCHECK_REQUIRE_NATIVE") == "1":
        pytest.fail("segcheck.capture._pcapc is not built (SEGCHECK_REQUIRE_NATIVE=1)")
    if native.module() is None:
        pytest.skip("native capture extension not built, or disabled by SEGCHECK_NATIVE=0")


@pytest.fixture(scope="module")
def mod() -> Any:
    m = native.module()
    if m is None:
        test_extension_is_built()
    return m


def results(path: Path | str, engine: str, **kw: Any) -> tuple[Any, ...]:
    s = scan(str(path), engine=engine, **kw)
    flows = sorted((_finish(str(path), f) for f in s.flows),
                   key=lambda f: (f.first_seen, f.frames, f.src, f.sport, f.dst, f.dport, f.proto))
    return flows, s.packets, s.bytes, dict(s.bad), dict(s.non_ip)


def assert_same(path: Path | str) -> tuple[Any, ...]:
    ref = results(path, "packet")
    assert results(path, "native") == ref, path
    assert results(path, "vector") == ref, path
    return ref


def test_native_can_be_disabled(monkeypatch: pytest.MonkeyPatch, mod: Any) -> None:
    from segcheck.capture.flows import default_engine

    assert default_engine() == "native"
    monkeypatch.setenv("SEGCHECK_NATIVE", "0")
    assert native.module() is None
    assert default_engine() == "vector"


# ---------------------------------------------------------------- crafted link types

def _ip_frames() -> list[bytes]:
    """IP packets in both directions: TCP with handshake and payloads, UDP, ICMP, SCTP-ish,
    options, IPv6 extension headers, fragments, GRE."""
    mb = bytes.fromhex("000100000006010300000002")
    wr = bytes.fromhex("000200000006010600100001")
    out = [
        IP(src=A4, dst=B4) / TCP(sport=40000, dport=502, flags="S"),
        IP(src=B4, dst=A4) / TCP(sport=502, dport=40000, flags="SA"),
        IP(src=A4, dst=B4) / TCP(sport=40000, dport=502, flags="PA") / Raw(mb),
        IP(src=A4, dst=B4) / TCP(sport=40000, dport=502, flags="PA") / Raw(wr),
        IP(src=B4, dst=A4, options=b"\x01\x01\x01\x00") / TCP(sport=502, dport=40000,
                                                             flags="PA") / Raw(mb),
        IP(src=A4, dst=B4) / UDP(sport=5000, dport=53) / Raw(b"\x12\x34\x01\x00" + bytes(8)),
        IP(src=A4, dst=B4) / ICMP() / Raw(b"ping"),
        IP(src=A4, dst=B4, proto=132) / Raw(b"\x0b\x59\x0b\x59" + bytes(8)),
        IP(src=A4, dst=B4, flags="MF", id=9) / UDP(sport=7, dport=8) / Raw(b"f" * 16),
        IP(src=A4, dst=B4, frag=3, id=9, proto=17) / Raw(b"g" * 16),
        IP(src=A4, dst=B4) / GRE() / IP(src=A4, dst=B4) / UDP(sport=1, dport=2),
        IPv6(src=A6, dst=B6) / TCP(sport=41000, dport=102, flags="PA") / Raw(b"\x03\x00"),
        IPv6(src=A6, dst=B6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() /
        IPv6ExtHdrDestOpt() / UDP(sport=9, dport=10) / Raw(b"x"),
        IPv6(src=B6, dst=A6) / IPv6ExtHdrFragment(m=1, id=5) / UDP(sport=10, dport=9) /
        Raw(b"y" * 24),
        IPv6(src=A6, dst=B6, nh=59) / Raw(b"no next header"),
    ]
    return [bytes(p) for p in out]


IPF = _ip_frames()


def _linked(kind: str, raw: bytes) -> tuple[int, bytes]:
    v6 = raw[0] >> 4 == 6
    et = 0x86DD if v6 else 0x0800
    ip = IPv6(raw) if v6 else IP(raw)
    if kind == "eth":
        return 1, bytes(ETH / ip)
    if kind == "qinq":
        return 1, bytes(ETH / Dot1AD(vlan=5) / Dot1Q(vlan=7) / ip)
    if kind == "mpls":
        return 1, bytes(Ether(type=0x8847) / MPLS(label=16, s=0) / MPLS(label=17, s=1) / ip)
    if kind == "pw":
        return 1, bytes(Ether(type=0x8847) / MPLS(label=16, s=1) / Raw(bytes(4)) / ETH / ip)
    if kind == "pppoe":
        return 1, bytes(ETH / PPPoE(sessionid=1) / PPP(proto=0x57 if v6 else 0x21) / ip)
    if kind == "snap":
        snap = b"\xaa\xaa\x03\x00\x00\x00" + et.to_bytes(2, "big")
        return 1, bytes(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01",
                              type=len(snap) + len(raw)) / Raw(snap + raw))
    if kind == "sll":
        return 113, bytes(CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6,
                                      src=b"\x02\0\0\0\0\x09\0\0", proto=et) / ip)
    if kind == "sll2":
        return 276, bytes(CookedLinuxV2(proto=et, pkttype=0, lladdrlen=6,
                                        src=b"\x02\0\0\0\0\x07\0\0") / ip)
    if kind == "raw":
        return 101, raw
    if kind == "null":
        return 0, struct.pack("<I", 24 if v6 else 2) + raw
    if kind == "null-be":
        return 0, struct.pack(">I", 24 if v6 else 2) + raw
    if kind == "loop":
        return 108, struct.pack(">I", 24 if v6 else 2) + raw
    raise AssertionError(kind)


KINDS = ["eth", "qinq", "mpls", "pw", "pppoe", "snap", "sll", "sll2", "raw", "null",
         "null-be", "loop"]


@pytest.mark.parametrize("kind", KINDS)
def test_link_types_pcap(tmp_path: Path, mod: Any, kind: str) -> None:
    lt = _linked(kind, IPF[0])[0]
    frames = [_linked(kind, r)[1] for r in IPF] * 2
    flows, packets, *_ = assert_same(write_pcap(tmp_path / "x.pcap", frames, linktype=lt))
    assert packets == len(frames)
    assert any(f.app == "modbus" for f in flows)


@pytest.mark.parametrize("big", [False, True])
def test_pcapng_several_interfaces_and_sections(tmp_path: Path, mod: Any, big: bool) -> None:
    lts = [1, 113, 101]
    kinds = ["eth", "sll", "raw"]
    frs = [(i % 3, _linked(kinds[i % 3], r)[1]) for i, r in enumerate(IPF * 3)]
    arp = bytes(ETH / ARP())
    frs.append((0, arp))
    frs.append((5, arp))  # unknown interface: counted
    p = write_pcapng(tmp_path / "x.pcapng", lts, frs, big=big, tsresol=0x86,
                     extra_sections=[([276, 0], [(0, _linked("sll2", r)[1]) for r in IPF] +
                                      [(1, _linked("null", r)[1]) for r in IPF])])
    _, packets, _, bad, non_ip = assert_same(p)
    assert packets == len(frs) - 1 + 2 * len(IPF)
    assert bad
    assert non_ip


def test_pcapng_simple_packet_blocks_and_cut_off(tmp_path: Path, mod: Any) -> None:
    frs = [(0, _linked("eth", r)[1]) for r in IPF]
    p = write_pcapng(tmp_path / "s.pcapng", [1], frs, simple=True)
    assert_same(p)
    raw = p.read_bytes()
    for cut in (len(raw) - 3, len(raw) - 40, 60):
        q = tmp_path / f"cut{cut}.pcapng"
        q.write_bytes(raw[:cut])
        assert_same(q)


@pytest.mark.parametrize(("nsec", "big"), [(False, False), (True, False), (False, True),
                                      (True, True)])
def test_pcap_variants_and_snapped_frames(tmp_path: Path, mod: Any, nsec: bool,
                                          big: bool) -> None:
    frames: list[bytes | tuple[bytes, int]] = [_linked("eth", r)[1] for r in IPF]
    frames += [(f[:cut], len(f)) for f in frames for cut in (10, 30, 40, 60)]
    p = write_pcap(tmp_path / "v.pcap", frames, nsec=nsec, big=big)
    assert_same(p)
    raw = p.read_bytes()
    q = tmp_path / "cut.pcap"
    q.write_bytes(raw[:-5])
    assert_same(q)
    q.write_bytes(raw[:-len(frames[-1][0]) - 10])  # type: ignore[index]
    assert_same(q)


def test_unordered_timestamps_and_self_flows(tmp_path: Path, mod: Any) -> None:
    frames = [bytes(ETH / IP(src=A4, dst=A4) / UDP(sport=9, dport=9)),
              bytes(ETH / IP(src=A4, dst=A4) / UDP(sport=9, dport=8)),
              bytes(ETH / IP(src=A4, dst=A4) / UDP(sport=8, dport=9))] * 3
    p = write_pcap(tmp_path / "u.pcap", frames)
    raw = bytearray(p.read_bytes())
    off = 24
    for i in range(len(frames)):  # timestamps going backwards and forwards
        struct.pack_into("<I", raw, off, 1_700_000_000 + (i * 7919) % 11)
        off += 16 + struct.unpack_from("<I", raw, off + 8)[0]
    p.write_bytes(bytes(raw))
    assert_same(p)


def test_many_flows_across_chunks(tmp_path: Path, mod: Any,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Small chunks: flows span chunks, first frames and SYNs come late, bulk counting."""
    monkeypatch.setattr(native, "CHUNK", 7)
    monkeypatch.setattr(native, "FIRST_CHUNK", 3)
    mb = [bytes.fromhex("000100000006010300000002"), bytes.fromhex("000200000006010600100001")]
    frames = []
    for i in range(400):
        sp = 40000 + i % 13
        if i % 5 == 0:
            frames.append(bytes(ETH / IP(src=B4, dst=A4) / TCP(sport=502, dport=sp, flags="SA")))
        frames.append(bytes(ETH / IP(src=A4, dst=B4) / TCP(sport=sp, dport=502, flags="PA") /
                            Raw(mb[i % 2])))
        frames.append(bytes(ETH / IP(src=A4, dst=B4) / UDP(sport=sp, dport=53) /
                            Raw(b"\x00\x01\x01\x00\x00\x01" + bytes(6))))
    assert_same(write_pcap(tmp_path / "m.pcap", frames))


# ---------------------------------------------------------------- real captures

def _real_captures() -> list[Path]:
    return sorted((ROOT / "captures").glob("*.pcap*"))


@pytest.mark.parametrize("path", _real_captures(), ids=lambda p: p.name)
def test_repo_captures(mod: Any, path: Path) -> None:
    assert_same(path)


@pytest.mark.corpus
def test_corpus_captures(mod: Any, corpus: Path) -> None:
    files = sorted(p for p in (corpus / "pcaps").rglob("*")
                   if p.is_file() and p.suffix in (".pcap", ".pcapng", ".cap"))
    assert files
    for p in files:
        ref = results(p, "packet")
        assert results(p, "native") == ref, p.name


# ---------------------------------------------------------------- splitting

def _split_results(path: Path, parts: int, engine: str) -> tuple[Any, ...]:
    with open_capture(path) as cap:
        fmt = cap.format
        if fmt == "pcap":
            tasks = [(s, e, ff, None) for s, e, ff in pcap_split_points(cap, parts)]
        else:
            tasks = [(s, e, 1, stt) for s, e, stt in pcapng_split_points(cap, parts)]
    assert len(tasks) > 1
    merged = _merge([scan(str(path), s, e, ff, engine=engine, state=stt)
                     for s, e, ff, stt in tasks])
    flows = sorted((_finish(str(path), f) for f in merged.flows),
                   key=lambda f: (f.first_seen, f.frames, f.src, f.sport, f.dst, f.dport, f.proto))
    return flows, merged.packets, merged.bytes, dict(merged.bad), dict(merged.non_ip)


def _counts(r: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a split scan keeps exactly: flows with counts, bytes, times, frames, initiator,
    MACs (application detection restarts per chunk, see flows._merge)."""
    flows, *rest = r
    return ([(f.src, f.sport, f.dst, f.dport, f.proto, f.packets_fwd, f.packets_rev,
              f.bytes_fwd, f.bytes_rev, f.first_seen, f.last_seen, f.frames, f.initiator_by,
              f.src_mac, f.dst_mac, f.fragments) for f in flows], *rest)


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_split_equals_single_pass(tmp_path: Path, mod: Any, fmt: str) -> None:
    frames = []
    for i in range(200):
        sp = 30000 + i % 17
        frames.append(_linked(("eth", "qinq", "raw")[i % 3], IPF[i % len(IPF)])[1])
        frames.append(bytes(ETH / IP(src=B4, dst=A4) / TCP(sport=80, dport=sp, flags="SA")))
        frames.append(bytes(ETH / IP(src=A4, dst=B4) / TCP(sport=sp, dport=80, flags="A")))
    if fmt == "pcap":
        p = write_pcap(tmp_path / "s.pcap", [f for f in frames if f[0] != 0x45])
    else:
        p = write_pcapng(tmp_path / "s.pcapng", [1, 101],
                         [(1 if f[0] == 0x45 else 0, f) for f in frames], tsresol=9)
    single = results(p, "packet")
    for parts in (2, 3, 7):
        for engine in ("native", "vector", "packet"):
            assert _counts(_split_results(p, parts, engine)) == _counts(single), (parts, engine)


def test_pcapng_split_points_native_equals_python(tmp_path: Path, mod: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    frs = [(i % 2, _linked(("eth", "raw")[i % 2], IPF[i % len(IPF)])[1]) for i in range(300)]
    p = write_pcapng(tmp_path / "p.pcapng", [1, 101], frs, tsresol=0x88,
                     extra_sections=[([1], [(0, _linked("eth", r)[1]) for r in IPF])])
    with open_capture(p) as cap:
        got = pcapng_split_points(cap, 5)
        monkeypatch.setenv("SEGCHECK_NATIVE", "0")
        assert pcapng_split_points(cap, 5) == got
    assert len(got) == 5


# ---------------------------------------------------------------- hostile input

def _seed_files() -> list[tuple[str, bytes]]:
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        frames = [_linked(k, r)[1] for k in ("eth", "qinq", "pppoe") for r in IPF]
        payloads = [bytes(ETH / IP(src=A4, dst=B4) / (TCP(sport=c[2], dport=c[3], flags="PA")
                                                      if c[1] == 6 else
                                                      UDP(sport=c[2], dport=c[3])) / Raw(c[4]))
                    for c in CASES]
        out = [("pcap", write_pcap(t / "a.pcap", frames + payloads).read_bytes()),
               ("pcapng", write_pcapng(t / "b.pcapng", [1, 113],
                                       [(0, f) for f in frames] +
                                       [(1, _linked("sll", r)[1]) for r in IPF]).read_bytes()),
               ("pcapng", write_pcapng(t / "c.pcapng", [1], [(0, f) for f in payloads],
                                       simple=True, big=True).read_bytes())]
    for p in _real_captures():
        raw = p.read_bytes()
        out.append(("real", raw[:20000]))
    return out


SEEDS = _seed_files()


def _check_file(raw: bytes) -> None:
    from segcheck.errors import CaptureError

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "f.cap"
        p.write_bytes(raw)
        try:
            ref = results(p, "packet")
        except CaptureError:  # the reference refuses only non-captures (anything else fails)
            with pytest.raises(CaptureError):
                results(p, "native")
            return
        assert results(p, "native") == ref
        for engine in ("native", "vector"):
            scans = [scan(str(p), engine=engine, part=(k, 2)) for k in range(2)]
            merged = _merge(scans)
            assert sum(len(s.flows) for s in scans) == len(ref[0])
            assert (merged.packets, merged.bytes, dict(merged.bad),
                    dict(merged.non_ip)) == ref[1:]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(SEEDS))),
       st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(0, 255)), max_size=8),
       st.integers(0, 1 << 30), st.booleans())
def test_mutated_captures_equal_reference(mod: Any, seed: int, edits: list[tuple[int, int]],
                                          cut: int, do_cut: bool) -> None:
    raw = bytearray(SEEDS[seed][1])
    for pos, val in edits:  # mutations anywhere: record headers, block lengths, frames
        raw[pos % len(raw)] = val
    if do_cut:
        del raw[cut % len(raw):]
    _check_file(bytes(raw))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["pcap", "pcapng-le", "pcapng-be"]), st.binary(max_size=3000),
       st.integers(0, 300))
def test_random_bytes_in_a_capture_header(mod: Any, kind: str, body: bytes, lt: int) -> None:
    if kind == "pcap":
        head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, lt)
    else:
        o = "<" if kind == "pcapng-le" else ">"
        shb = struct.pack(o + "IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + \
            struct.pack(o + "I", 28)
        idb = struct.pack(o + "IIHHII", 1, 20, lt, 0, 65535, 20)
        head = shb + idb
    _check_file(head + body)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(range(len(IPF))),
                          st.integers(0, 120), st.integers(0, 255), st.integers(0, 200)),
                min_size=1, max_size=20))
def test_damaged_frames_of_every_link_type(mod: Any,
                                           spec: Sequence[tuple[str, int, int, int, int]],
                                           ) -> None:
    by_lt: dict[int, list[bytes]] = {}
    for kind, i, pos, val, cut in spec:
        lt, fr = _linked(kind, IPF[i])
        b = bytearray(fr)
        b[pos % len(b)] = val
        by_lt.setdefault(lt, []).append(bytes(b[:max(cut, 1)] if cut < len(b) else b))
    with tempfile.TemporaryDirectory() as tmp:
        for lt, frs in by_lt.items():
            p = write_pcap(Path(tmp) / f"{lt}.pcap", frs, linktype=lt)
            ref = results(p, "packet")
            assert results(p, "native") == ref
            assert results(p, "vector") == ref


# ---------------------------------------------------------------- flow partitions (workers)

def _mixed_frames() -> list[bytes]:
    """Flows whose records take both paths: IP options and fragments (Python) next to plain
    packets (C), IPv4 and IPv6, plus L2 and undecodable frames."""
    mb = bytes.fromhex("000100000006010300000002")
    frames = []
    for i in range(120):
        sp = 20000 + i % 23
        a, b = (A4, B4) if i % 2 else (f"10.1.{i % 5}.9", f"10.2.{i % 7}.1")
        ip = IP(src=a, dst=b, options=b"\x01\x01\x01\x00") if i % 3 == 0 else IP(src=a, dst=b)
        frames.append(bytes(ETH / ip / TCP(sport=sp, dport=502, flags="PA") / Raw(mb)))
        frames.append(bytes(ETH / IP(src=b, dst=a) / TCP(sport=502, dport=sp, flags="A")))
        frames.append(bytes(ETH / IP(src=a, dst=b, flags="MF", id=i) / UDP(sport=sp, dport=53)
                            / Raw(b"q" * 16)))
        frames.append(bytes(ETH / IP(src=a, dst=b, frag=3, id=i, proto=17) / Raw(b"r" * 8)))
        frames.append(bytes(ETH / IP(src=a, dst=b) / UDP(sport=sp, dport=53) / Raw(b"s" * 12)))
        frames.append(bytes(ETH / IPv6(src=A6, dst=f"2001:db8::{i % 9 + 3:x}") /
                            IPv6ExtHdrHopByHop() / TCP(sport=sp, dport=102, flags="S")))
        frames.append(bytes(ETH / IPv6(src=A6, dst=f"2001:db8::{i % 9 + 3:x}") /
                            TCP(sport=sp, dport=102, flags="A")))
        if i % 10 == 0:
            frames += [bytes(ETH / ARP()), bytes(ETH)[:10],
                       bytes(Ether(src="02:00:00:00:00:0a", dst="01:0e:cf:00:00:00",
                                   type=0x8892) / Raw(bytes.fromhex("fefe05000000000100000004")))]
    return frames


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_flow_partitions_equal_single_pass(tmp_path: Path, mod: Any, fmt: str) -> None:
    frames = _mixed_frames()
    p = (write_pcap(tmp_path / "w.pcap", frames) if fmt == "pcap" else
         write_pcapng(tmp_path / "w.pcapng", [1], [(0, f) for f in frames]))
    single = results(p, "packet")
    for parts, engine in ((2, "native"), (3, "native"), (2, "vector"), (3, "vector")):
        scans = [scan(str(p), engine=engine, part=(k, parts)) for k in range(parts)]
        # every flow belongs to exactly one partition (C and Python agree on the owner)
        assert sum(len(s.flows) for s in scans) == len(single[0])
        merged = _merge(scans)
        flows = sorted((_finish(str(p), f) for f in merged.flows),
                       key=lambda f: (f.first_seen, f.frames, f.src, f.sport, f.dst, f.dport,
                                      f.proto))
        assert (flows, merged.packets, merged.bytes, dict(merged.bad),
                dict(merged.non_ip)) == single, (parts, engine)


def test_extract_flows_with_workers_uses_partitions(tmp_path: Path, mod: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import segcheck.capture.flows as flows_mod

    frames = _mixed_frames()
    p = write_pcapng(tmp_path / "w.pcapng", [1], [(0, f) for f in frames])
    q = write_pcap(tmp_path / "w.pcap", frames)
    single = flows_mod.extract_flows([p, q], workers=1)
    monkeypatch.setattr(flows_mod, "SPLIT_BYTES", 1000)
    assert [t[6] for t in flows_mod._tasks([str(p)], 2)] == [(0, 2), (1, 2)]
    monkeypatch.setenv("SEGCHECK_NATIVE", "0")  # the numpy path shares flows the same way
    assert flows_mod.extract_flows([p, q], workers=3) == single
    monkeypatch.delenv("SEGCHECK_NATIVE")
    assert [t[6] for t in flows_mod._tasks([str(p), str(q)], 2)] == [None, None]
    assert flows_mod.extract_flows([p, q], workers=3) == single


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([i for i, (k, _) in enumerate(SEEDS) if k == "pcapng"]),
       st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(0, 255)), max_size=6),
       st.integers(2, 5))
def test_pcapng_split_points_on_damaged_files(mod: Any, seed: int,
                                              edits: list[tuple[int, int]], parts: int) -> None:
    """Walking a damaged pcapng in pieces from the split points (native or Python) yields
    the records and problems of one walk; both split-point walkers agree."""
    raw = bytearray(SEEDS[seed][1])
    for pos, val in edits:
        raw[4 + pos % (len(raw) - 4)] = val  # keep the magic: a pcapng it stays
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "d.pcapng"
        p.write_bytes(bytes(raw))
        with open_capture(p) as cap:
            points = pcapng_split_points(cap, parts)
            assert _py_points(cap, parts) == points
        single = results(p, "packet")
        pieces = _merge([scan(str(p), s, e, engine="packet", state=stt) for s, e, stt in points])
        orphan = "IP fragment whose first fragment was not seen"  # a fragment cut off from
        bad = dict(pieces.bad)  # its first one by a piece boundary: known limit of byte ranges
        cut = bad.pop(orphan, 0) - single[3].get(orphan, 0)
        assert cut >= 0
        assert (pieces.packets, pieces.bytes, bad, dict(pieces.non_ip)) == \
            (single[1], single[2], {k: v for k, v in single[3].items() if k != orphan},
             single[4])
        assert sum(f.pkts0 + f.pkts1 for f in pieces.flows) + cut == \
            sum(f.packets for f in single[0])


def _py_points(cap: Any, parts: int) -> list[tuple[int, int, Any]]:
    old = os.environ.get("SEGCHECK_NATIVE")
    os.environ["SEGCHECK_NATIVE"] = "0"
    try:
        return pcapng_split_points(cap, parts)
    finally:
        if old is None:
            del os.environ["SEGCHECK_NATIVE"]
        else:
            os.environ["SEGCHECK_NATIVE"] = old


def test_first_seen_is_the_first_frames_time_across_paths(tmp_path: Path, mod: Any) -> None:
    """A flow whose first frame takes the per-packet path (a first fragment) and whose later,
    bulk-path frame carries an earlier timestamp: first_seen is the first frame's time."""
    frames = [bytes(ETH / IP(src=A4, dst=B4, flags="MF", id=7) /
                    TCP(sport=1000, dport=80, flags="A")),
              bytes(ETH / IP(src=B4, dst=A4) / TCP(sport=80, dport=1000, flags="A")),
              bytes(ETH / IP(src=A4, dst=B4) / TCP(sport=1000, dport=80, flags="A"))]
    p = write_pcap(tmp_path / "t.pcap", frames)
    raw = bytearray(p.read_bytes())
    off = 24
    for ts in (500, 100, 900):
        struct.pack_into("<I", raw, off, 1_700_000_000 + ts)
        off += 16 + struct.unpack_from("<I", raw, off + 8)[0]
    p.write_bytes(bytes(raw))
    (f,), *_ = assert_same(p)
    assert f.first_seen == 1_700_000_500


@st.composite
def mixed_flows(draw: st.DrawFn) -> list[bytes | tuple[bytes, int]]:
    """Frames of a few flows, each frame drawn to take the bulk or the per-packet path
    (VLAN/QinQ, IP options, first fragments, SYN/SYN-ACK, Modbus and HTTP payloads, either
    direction)."""
    payloads = [b"", bytes.fromhex("000100000006010300000002"),
                bytes.fromhex("000200000006010600100001"), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                bytes.fromhex("00010000000701030400010002")]
    out: list[bytes | tuple[bytes, int]] = []
    for _ in range(draw(st.integers(1, 40))):
        k = draw(st.integers(0, 3))
        cport, sport = 40000 + k, (502, 80, 502, 53)[k]
        fwd = draw(st.booleans())
        src, dst, sp, dp = (A4, B4, cport, sport) if fwd else (B4, A4, sport, cport)
        kind = draw(st.sampled_from(["plain", "vlan", "qinq", "opts", "frag"]))
        ip = IP(src=src, dst=dst, options=b"\x01\x01\x01\x00") if kind == "opts" else (
            IP(src=src, dst=dst, flags="MF", id=draw(st.integers(0, 5))) if kind == "frag"
            else IP(src=src, dst=dst))
        l4 = UDP(sport=sp, dport=dp) if k == 3 else TCP(
            sport=sp, dport=dp, flags=draw(st.sampled_from(["S", "SA", "A", "PA"])))
        pkt = ip / l4 / Raw(draw(st.sampled_from(payloads)))
        eth = ETH / Dot1Q(vlan=3) / pkt if kind == "vlan" else (
            ETH / Dot1AD(vlan=4) / Dot1Q(vlan=5) / pkt if kind == "qinq" else ETH / pkt)
        out.append(bytes(eth))
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_flows(), st.lists(st.integers(0, 30), min_size=40, max_size=40),
       st.integers(1, 6))
def test_mixed_paths_small_chunks_equal_reference(mod: Any, frames: list[bytes],
                                                  times: list[int], chunk: int) -> None:
    saved = native.CHUNK, native.FIRST_CHUNK
    native.CHUNK, native.FIRST_CHUNK = chunk, max(1, chunk // 2)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            p = write_pcap(Path(tmp) / "m.pcap", frames)
            raw = bytearray(p.read_bytes())
            off = 24
            for i in range(len(frames)):  # timestamps in any order
                struct.pack_into("<I", raw, off, 1_700_000_000 + times[i])
                off += 16 + struct.unpack_from("<I", raw, off + 8)[0]
            p.write_bytes(bytes(raw))
            assert_same(p)
            for engine in ("native", "vector"):
                scans = [scan(str(p), engine=engine, part=(k, 2)) for k in range(2)]
                merged = _merge(scans)
                flows = sorted((_finish(str(p), f) for f in merged.flows),
                               key=lambda f: (f.first_seen, f.frames, f.src, f.sport, f.dst,
                                              f.dport, f.proto))
                assert flows == results(p, "packet")[0], engine
    finally:
        native.CHUNK, native.FIRST_CHUNK = saved


def test_tail_left_empty_by_the_bulk_classes(tmp_path: Path, mod: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A flow recognised as Modbus by its first payload whose later records in the chunk are
    all responses (no operation: counted in bulk) leaves an empty tail."""
    monkeypatch.setattr(native, "FIRST_CHUNK", 1)
    monkeypatch.setattr(native, "CHUNK", 100)
    req = bytes.fromhex("000100000006010300000002")
    rsp = bytes.fromhex("00010000000701030400010002")
    frames = [bytes(ETH / IP(src=B4, dst=A4) / UDP(sport=1, dport=2))]
    frames.append(bytes(ETH / IP(src=A4, dst=B4) / TCP(sport=4000, dport=502, flags="PA")
                        / Raw(req)))
    frames += [bytes(ETH / IP(src=B4, dst=A4) / TCP(sport=502, dport=4000, flags="PA")
                     / Raw(rsp))] * 20
    flows, *_ = assert_same(write_pcap(tmp_path / "e.pcap", frames))
    assert [dict(f.operations) for f in flows if f.app == "modbus"] == [{"read": 1}]
