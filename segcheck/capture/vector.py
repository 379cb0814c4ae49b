"""The vectorised scan: record headers walked in Python, header fields and flow grouping in
numpy, per-flow (not per-packet) Python work for the common case.

Per chunk of ``CHUNK`` records (the first chunk is ``FIRST_CHUNK``, so that flows know their
application before the big chunks come):

1. the walk collects record offsets (pcap: only ``caplen`` is read per record — offsets are a
   cumulative sum, timestamps and lengths are gathered by numpy afterwards);
2. numpy gathers Ethernet (+ one 802.1Q tag) / IPv4-without-options or IPv6-without-
   extension-headers / TCP-or-UDP fields for all records at once; the records that fit this
   shape form the *fast* set;
3. fast records are grouped by bidirectional 5-tuple (one sort of a 64-bit hash, checked
   exactly against each group's first record — a collision falls back to the per-packet
   path); each group updates its flow once (counts and bytes per direction, first/last time,
   first frames, SYN direction, MACs);
4. plain single-PDU Modbus, DNP3 and S7comm payloads are classified in bulk (``_bulk``) once
   their operation class has its events (only the earliest records that can still become
   events go to the decoder); other payloads of flows that still need inspection are queued
   — for a flow still recognising its application only as many as it will look at, the rest
   as a lazy tail (``_inspect_each``);
5. every other record (other link types, tunnels, IPv6 extension headers, fragments,
   options, truncated…) goes through ``Scanner.packet``, the per-packet path, which queues
   its payload too; then the queue is inspected in frame order (``Scanner.run_deferred``).

Order-dependent results are made order-independent: a flow's orientation, MACs, SYN and
first frames are those of its earliest frames whichever path meets them first, and payloads
are inspected in frame order. The result equals the per-packet scan's, which the tests check
on the corpus, crafted captures and hypothesis-damaged frames.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

import numpy as np
import numpy.typing as npt

from segcheck.capture.reader import Capture, PcapngState, pcap_header, walk
from segcheck.capture.scan import FIRST_FRAMES, MAX_EVENTS, Deferred, FlowState, Scan, Scanner
from segcheck.capture.tables import DNP3_FC, MODBUS_FC, OPERATIONS, S7_JOB_FUNCTION

CHUNK = 1 << 18
FIRST_CHUNK = 1 << 13
"""The first chunk is small: flows meet their application there, so the big chunks after it
can classify their PDUs in bulk instead of sending every payload to the decoders."""
I64 = npt.NDArray[np.int64]


def scan_vector(cap: Capture, start: int | None, stop: int | None, first_frame: int,
                progress: Callable[[int], None] | None,
                state: PcapngState | None = None, part: tuple[int, int] | None = None,
                ) -> Scan:
    """The numpy scan of ``cap`` (records in ``[start, stop)``; with ``part`` only that flow
    partition's flows, as ``native.scan_native``)."""
    sc = Scanner(cap.data, part)
    mem = Mem(cap.data)
    chunks = (_pcap_chunks(cap, start, stop, first_frame, mem.u8) if cap.format == "pcap"
              else _pcapng_chunks(cap, start, stop, state))
    for frame0, d, cl, wl, ts, lt in chunks:
        _process(sc, mem, frame0, d, cl, wl, ts, lt)
        if progress is not None and len(d):
            progress(int(d[-1]))
    if sc.counts_frames:
        for reason, n in cap.problems.items():
            sc.bad[reason] += n
    return sc.result(cap.format)


Chunk = tuple[int, I64, I64, I64, npt.NDArray[np.float64], I64]


class Mem:
    """The capture as bytes and as big-endian 16/32-bit words at *any* byte offset
    (overlapping unaligned views), so one gather reads one header field. Offsets past the
    end are clamped (records there are short and filtered out by their lengths)."""

    def __init__(self, data: mmap.mmap | bytes) -> None:
        n = len(data)
        self.last = max(n - 1, 0)
        if n >= 4:
            self.u8 = np.frombuffer(data, dtype=np.uint8)
            self.u16 = np.ndarray((n - 1,), ">u2", buffer=data, strides=(1,))
            self.u32 = np.ndarray((n - 3,), ">u4", buffer=data, strides=(1,))
        else:
            self.u8 = np.zeros(4, np.uint8)
            self.u16 = np.zeros(4, ">u2")
            self.u32 = np.zeros(4, ">u4")
            self.last = 0

    def b(self, idx: I64) -> I64:
        return np.asarray(self.u8[np.minimum(idx, self.last)], dtype=np.int64)

    def w16(self, idx: I64) -> I64:
        return np.asarray(self.u16[np.minimum(idx, max(self.last - 1, 0))], dtype=np.int64)

    def w32(self, idx: I64) -> I64:
        return np.asarray(self.u32[np.minimum(idx, max(self.last - 3, 0))], dtype=np.int64)


def _u32(buf: npt.NDArray[np.uint8], off: I64, big: bool) -> I64:
    b = [buf[off + k].astype(np.int64) for k in range(4)]
    if big:
        return (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]
    return (b[3] << 24) | (b[2] << 16) | (b[1] << 8) | b[0]


def _pcap_chunks(cap: Capture, start: int | None, stop: int | None, first_frame: int,
                 buf: npt.NDArray[np.uint8]) -> Iterator[Chunk]:
    data = cap.data
    order, unit, rec, linktype = pcap_header(cap)
    big = order == ">"
    unpack = struct.Struct(order + "I").unpack_from
    size = len(data)
    end = size if stop is None else min(stop, size)
    off = 24 if start is None else start
    frame = first_frame - 1
    while off < end:
        base = off
        cl, off, problem = _walk(data, off, end, rec, unpack,
                                 FIRST_CHUNK if frame < first_frame else CHUNK)
        if problem:
            cap.problems[problem] += 1
            off = end
        if not len(cl):
            break
        hdr = np.empty_like(cl)
        hdr[0] = base
        np.cumsum(cl[:-1] + rec, out=hdr[1:])
        hdr[1:] += base
        ts = _u32(buf, hdr, big) + _u32(buf, hdr + 4, big) * unit
        wl = _u32(buf, hdr + 12, big)
        lt = np.full(len(cl), linktype, dtype=np.int64)
        yield frame + 1, hdr + rec, cl, wl, ts.astype(np.float64), lt
        frame += len(cl)


CUT_HEADER = "cut-off record header"
CUT_RECORD = "cut-off record (file ends inside a packet)"


def _walk(data: mmap.mmap | bytes, off: int, end: int, rec: int,
          unpack: Callable[[mmap.mmap | bytes, int], tuple[int]], limit: int,
          ) -> tuple[I64, int, str]:
    """Captured lengths of up to ``limit`` records from ``off`` (the one serial loop of the
    scan, ~0.25 µs a record; a numba-compiled version measured only 0.15 s per 1M records
    faster, not worth the dependency): (lengths, next offset, problem or "")."""
    caps: list[int] = []
    append = caps.append
    size = len(data)
    problem = ""
    for _ in range(limit):
        if off >= end:
            break
        if off + rec > size:
            problem = CUT_HEADER
            break
        (caplen,) = unpack(data, off + 8)
        nxt = off + rec + caplen
        if nxt > size:
            problem = CUT_RECORD
            break
        append(caplen)
        off = nxt
    return np.array(caps, dtype=np.int64), off, problem


def _pcapng_chunks(cap: Capture, start: int | None, stop: int | None,
                   state: PcapngState | None) -> Iterator[Chunk]:
    it = walk(cap, start, stop, state=state)
    first_done = False
    while True:
        recs = list(islice(it, CHUNK if first_done else FIRST_CHUNK))
        first_done = True
        if not recs:
            return
        cols = list(zip(*recs, strict=True))
        frames = np.array(cols[0], dtype=np.int64)
        if len(frames) > 1 and not (np.diff(frames) == 1).all():
            # a block the walk skipped (counted as a problem) breaks the numbering: per packet
            for r in recs:
                yield (r[0], np.array([r[3]]), np.array([r[4]]), np.array([r[5]]),
                       np.array([r[2]], dtype=np.float64), np.array([r[1]]))
            continue
        yield (int(frames[0]), np.array(cols[3], dtype=np.int64),
               np.array(cols[4], dtype=np.int64), np.array(cols[5], dtype=np.int64),
               np.array(cols[2], dtype=np.float64), np.array(cols[1], dtype=np.int64))


def _process(sc: Scanner, mem: Mem, frame0: int, d: I64, cl: I64, wl: I64,
             ts: npt.NDArray[np.float64], lt: I64) -> None:
    n = len(d)
    sc.defer = []
    if sc.counts_frames:
        sc.packets += n
        sc.bytes += int(wl.sum())
    end = d + cl
    at, w16 = mem.b, mem.w16

    eth = (lt == 1) & (cl >= 54)
    et = w16(d + 12)
    tagged = et == 0x8100
    p = d + 14 + 4 * tagged
    et = np.where(tagged, w16(d + 16), et)
    # IPv4 without options or fragmentation
    total = w16(p + 2)
    ff = w16(p + 6)
    proto4 = at(p + 9)
    v4 = (eth & (et == 0x0800) & (at(p) == 0x45) & ((ff & 0x3FFF) == 0) & (p + total <= end)
          & (((proto4 == 6) & (total >= 40)) | ((proto4 == 17) & (total >= 28))))
    # IPv6 straight to TCP/UDP (no extension headers)
    plen = w16(p + 4)
    proto6 = at(p + 6)
    v6 = (eth & (et == 0x86DD) & ((at(p) >> 4) == 6) & (p + 40 + plen <= end) & (cl >= 74)
          & (((proto6 == 6) & (plen >= 20)) | ((proto6 == 17) & (plen >= 8))))
    slow = ~(v4 | v6)
    for version, mask in ((4, v4), (6, v6)):
        fi = np.flatnonzero(mask)
        if not len(fi):
            continue
        pp = p[fi]
        if version == 4:
            proto, l4, pe = proto4[fi], pp + 20, pp + total[fi]
        else:
            proto, l4, pe = proto6[fi], pp + 40, pp + 40 + plen[fi]
        tcp = proto == 6
        hl = (at(l4 + 12) >> 4) << 2
        po = np.where(tcp, l4 + hl, l4 + 8)
        ok = ~tcp | ((hl >= 20) & (po <= pe))
        if sc.part is not None:  # another worker's flows take neither path here; records
            # for the per-packet path (not ok) are filtered there
            keep = ~ok | _owned(mem, version, pp, l4, proto, sc.part)
            fi, pp, proto, l4, pe, po, ok = (fi[keep], pp[keep], proto[keep], l4[keep],
                                             pe[keep], po[keep], ok[keep])
        rejected = _fast(sc, mem, version, frame0 + fi[ok], pp[ok], proto[ok], l4[ok], po[ok],
                         pe[ok], wl[fi[ok]], ts[fi[ok]], d[fi[ok]])
        slow[fi[~ok]] = True
        slow[fi[ok][rejected]] = True
    for i in np.flatnonzero(slow).tolist():
        s = int(d[i])
        sc.packet(frame0 + i, int(lt[i]), float(ts[i]), s, s + int(cl[i]), int(wl[i]))
    sc.run_deferred()


MIX = np.uint64(0x9E3779B97F4A7C15)


def _owned(mem: Mem, version: int, p: I64, l4: I64, proto: I64,
           part: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """Records whose flow belongs to partition ``part`` — ``scan.partition`` in numpy (the
    canonical key's address words, ports and protocol; uint64 arithmetic wraps like the
    Python ``& 0xFFFFFFFFFFFFFFFF``)."""
    nwords = 1 if version == 4 else 4
    a0 = p + (12 if version == 4 else 8)
    src = [mem.w32(a0 + 4 * k) for k in range(nwords)]
    dst = [mem.w32(a0 + 4 * nwords + 4 * k) for k in range(nwords)]
    sp, dp = mem.w16(l4), mem.w16(l4 + 2)
    cmp = np.zeros(len(p), dtype=np.int64)
    for s_w, d_w in zip(src, dst, strict=True):
        cmp = np.where(cmp == 0, np.sign(s_w - d_w), cmp)
    swap = (cmp > 0) | ((cmp == 0) & (sp > dp))
    total = (np.where(swap, dp, sp) * 65537 + np.where(swap, sp, dp) * 31 + proto * 7919)
    for s_w, d_w in zip(src, dst, strict=True):
        total = total + np.where(swap, d_w, s_w) + 3 * np.where(swap, s_w, d_w)
    with np.errstate(over="ignore"):
        h = (total.astype(np.uint64) * MIX) >> np.uint64(33)
    return np.asarray(h % np.uint64(part[1]) == np.uint64(part[0]), dtype=bool)


def _fast(sc: Scanner, mem: Mem, version: int, frames: I64, p: I64,
          proto: I64, l4: I64, po: I64, pe: I64, wl: I64, ts: npt.NDArray[np.float64], d: I64,
          ) -> npt.NDArray[np.bool_]:
    """Group IPv4/IPv6 TCP/UDP records into flows and update them; returns the mask of
    records left to the per-packet path (hash collisions, which do not happen in practice)."""
    at, w16, w32 = mem.b, mem.w16, mem.w32

    nwords = 1 if version == 4 else 4
    a0 = p + (12 if version == 4 else 8)
    alen = 4 * nwords
    src = [w32(a0 + 4 * k) for k in range(nwords)]
    dst = [w32(a0 + alen + 4 * k) for k in range(nwords)]
    sp = w16(l4)
    dp = w16(l4 + 2)
    flags = np.where(proto == 6, at(l4 + 13), 0)
    # canonical orientation: (lower address, its port) first, compared word by word
    cmp = np.zeros(len(p), dtype=np.int64)
    for s_w, d_w in zip(src, dst, strict=True):
        cmp = np.where(cmp == 0, np.sign(s_w - d_w), cmp)
    swap = (cmp > 0) | ((cmp == 0) & (sp > dp))
    lo = [np.where(swap, dw, sw) for sw, dw in zip(src, dst, strict=True)]
    hi = [np.where(swap, sw, dw) for sw, dw in zip(src, dst, strict=True)]
    ports = np.where(swap, (dp << 16) | sp, (sp << 16) | dp)
    parts = [*lo, *hi, ports | (proto << 32)]
    h = np.zeros(len(p), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for w in parts:
            h = (h ^ w.astype(np.uint64)) * MIX
            h ^= h >> np.uint64(29)
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    rejected = np.zeros(len(p), dtype=bool)
    for w in parts:  # exactness: every record equals its group's first record
        rejected |= w != w[first][inv]
    if rejected.any():
        keep = np.flatnonzero(~rejected)
        if len(keep):
            sub = _fast(sc, mem, version, frames[keep], p[keep], proto[keep], l4[keep],
                        po[keep], pe[keep], wl[keep], ts[keep], d[keep])
            rejected[keep[sub]] = True
        return rejected
    ngroups = len(first)
    n = len(p)
    pdir = (swap ^ swap[first][inv]).astype(np.int64)  # 0: same direction as group's first
    c1 = np.bincount(inv, weights=pdir, minlength=ngroups).astype(np.int64)
    call = np.bincount(inv, minlength=ngroups)
    b1 = np.bincount(inv, weights=wl * pdir, minlength=ngroups).astype(np.int64)
    ball = np.bincount(inv, weights=wl, minlength=ngroups).astype(np.int64)
    tsmax = np.full(ngroups, -np.inf)
    np.maximum.at(tsmax, inv, ts)  # the latest time, as the per-packet path keeps it
    first_other = np.full(ngroups, n, dtype=np.int64)
    other = np.flatnonzero(pdir)
    np.minimum.at(first_other, inv[other], other)
    first_syn = np.full(ngroups, n, dtype=np.int64)
    syn = np.flatnonzero(flags & 2)
    np.minimum.at(first_syn, inv[syn], syn)
    syn_ok = first_syn < n
    syn_dir = np.full(ngroups, -1, dtype=np.int64)
    sel = first_syn[syn_ok]
    syn_dir[syn_ok] = pdir[sel] ^ ((flags[sel] & 0x10) > 0)
    data = sc.data
    gflow: list[FlowState] = []
    tables = sc.tables
    firsts, tsmax_l = first.tolist(), tsmax.tolist()
    frames_l = frames.tolist()
    a_l, proto_l, ts_l, d_l = a0.tolist(), proto.tolist(), ts.tolist(), d.tolist()
    c1_l, call_l, b1_l, ball_l = c1.tolist(), call.tolist(), b1.tolist(), ball.tolist()
    syn_l, other_l, synat_l = syn_dir.tolist(), first_other.tolist(), first_syn.tolist()
    gdir_l: list[int] = []
    need_l: list[bool] = []
    want_frames: list[int] = []
    klen = 2 * alen + 4
    for g in range(ngroups):
        i0 = firsts[g]
        ka = a_l[i0]
        key = data[ka:ka + klen]
        pr = proto_l[i0]
        table = tables[pr]
        hit = table.get(key)
        fr0 = frames_l[i0]
        if hit is None:
            f = FlowState(version, key[:alen], key[alen:2 * alen], pr,
                          key[-4] << 8 | key[-3], key[-2] << 8 | key[-1], ts_l[i0], fr0)
            sc.add_flow(table, key, f)
            dg = 0
        else:
            f, dg = hit
            if fr0 < f.first_frame:
                dg = sc.orient(table, key, f, dg, fr0, ts_l[i0])
        gdir_l.append(dg)
        gflow.append(f)
        n1 = c1_l[g]
        n0 = call_l[g] - n1
        by1 = b1_l[g]
        by0 = ball_l[g] - by1
        if dg:
            f.pkts1 += n0
            f.pkts0 += n1
            f.bytes1 += by0
            f.bytes0 += by1
        else:
            f.pkts0 += n0
            f.pkts1 += n1
            f.bytes0 += by0
            f.bytes1 += by1
        tl = tsmax_l[g]
        if tl > f.last:
            f.last = tl
        if len(f.frames) < FIRST_FRAMES or fr0 < f.frames[-1]:
            want_frames.append(g)
        sd = syn_l[g]
        if sd >= 0 and frames_l[synat_l[g]] < f.synf:
            f.syn, f.synf = sd ^ dg, frames_l[synat_l[g]]
        f.see_mac(dg, data[d_l[i0] + 6:d_l[i0] + 12], fr0)
        io = other_l[g]
        if io < n:
            f.see_mac(dg ^ 1, data[d_l[io] + 6:d_l[io] + 12], frames_l[io])
        need_l.append(f.decoder is not None or (f.app is None and f.tries > 0))
    if want_frames:
        _first_frames(gflow, want_frames, inv, frames)
    need = np.array(need_l, dtype=bool)
    payload = po < pe
    apps = np.array([BULK_APPS.get(f.app, 0) if f.decoder is not None else 0  # type: ignore[arg-type]
                     for f in gflow], dtype=np.int64)
    if apps.any():
        payload &= ~_bulk(mem, gflow, apps, inv, pdir, gdir_l, po, pe)
    sel_i = np.flatnonzero(payload & need[inv])
    if len(sel_i):
        _inspect_each(sc, gflow, gdir_l, sel_i, inv, pdir, sp, dp, po, pe, frames_l)
    return rejected


def _first_frames(gflow: list[FlowState], groups: list[int], inv: I64, frames: I64) -> None:
    """Merge the first ``FIRST_FRAMES`` frames of each listed group into its flow."""
    wanted = np.zeros(len(gflow), dtype=bool)
    wanted[groups] = True
    sel = np.flatnonzero(wanted[inv])
    order = sel[np.argsort(inv[sel], kind="stable")]
    ginv = inv[order]
    starts = np.searchsorted(ginv, np.array(groups))
    ends = np.searchsorted(ginv, np.array(groups), side="right")
    order_l, starts_l, ends_l = order.tolist(), starts.tolist(), ends.tolist()
    frames_l = frames.tolist()
    for g, s, e in zip(groups, starts_l, ends_l, strict=True):
        f = gflow[g]
        new = [frames_l[i] for i in order_l[s:min(e, s + FIRST_FRAMES)]]
        f.frames = sorted(set(f.frames) | set(new))[:FIRST_FRAMES]


def _inspect_each(sc: Scanner, gflow: list[FlowState], gdir_l: list[int], sel: I64, inv: I64,
                  pdir: I64, sp: I64, dp: I64, po: I64, pe: I64, frames_l: list[int]) -> None:
    """Queue the selected records' payloads for in-order inspection (``run_deferred``).

    A flow whose application is unknown, or an IT application still being described (SNI,
    Host), looks at no more than ``tries`` more payloads unless an ICS protocol is recognised,
    so only its first ``tries`` are queued now; the rest become a lazy tail, built only if
    the flow turns out to need them."""
    defer = sc.defer
    assert defer is not None
    g_sel = inv[sel]
    now = _first_tries(gflow, g_sel)
    flips_l = [f.flips for f in gflow]

    def items(sub: I64) -> list[Deferred]:
        return _deferred(sub, gflow, gdir_l, flips_l, inv, pdir, sp, dp, po, pe, frames_l)

    defer += items(sel[np.flatnonzero(now)])
    for part in _flow_runs(np.flatnonzero(~now), g_sel):
        sub = sel[part]
        f = gflow[int(g_sel[part[0]])]
        sc.tails[id(f)] = (f, frames_l[int(sub[0])],
                           lambda sub=sub: items(sub))  # type: ignore[misc]


def _first_tries(gflow: list[FlowState], g_sel: I64) -> npt.NDArray[np.bool_]:
    """For records whose flows are ``g_sel`` (in record order): is the record among the
    first ``tries`` of its flow's records here (always, for an ICS flow)?"""
    order = np.argsort(g_sel, kind="stable")
    gs = g_sel[order]
    rank = np.empty(len(g_sel), dtype=np.int64)
    rank[order] = np.arange(len(gs)) - np.searchsorted(gs, gs, side="left")
    tries = np.array([1 << 40 if f.is_ics else f.tries for f in gflow], dtype=np.int64)
    return rank < tries[g_sel]


def _flow_runs(later: I64, g_sel: I64) -> list[I64]:
    """``later`` (positions into ``g_sel``) split by flow, each flow's in record order."""
    if not len(later):
        return []
    lg = g_sel[later]
    srt = np.argsort(lg, kind="stable")
    cut = np.flatnonzero(np.diff(lg[srt])) + 1
    return np.split(later[srt], cut)


def _deferred(sub: I64, gflow: list[FlowState], gdir_l: list[int], flips_l: list[int],
              inv: I64, pdir: I64, sp: I64, dp: I64, po: I64, pe: I64,
              frames_l: list[int]) -> list[Deferred]:
    """The ``run_deferred`` queue items of records ``sub`` (``inv``: each record's group,
    ``gflow``/``gdir_l``/``flips_l``: each group's flow, first record's flow direction and
    the flow's ``flips`` when the chunk was grouped)."""
    sp_l, dp_l, po_l, pe_l, inv_l, pdir_l = (sp[sub].tolist(), dp[sub].tolist(),
                                              po[sub].tolist(), pe[sub].tolist(),
                                              inv[sub].tolist(), pdir[sub].tolist())
    out = []
    for j, i in enumerate(sub.tolist()):
        g = inv_l[j]
        f = gflow[g]
        out.append((frames_l[i], f, pdir_l[j] ^ gdir_l[g], flips_l[g], po_l[j], pe_l[j],
                    f.proto, sp_l[j], dp_l[j]))
    return out


BULK_APPS = {"modbus": 1, "dnp3": 2, "s7comm": 3}
"""Apps whose common PDUs are classified in bulk (the rest of their PDUs, and every other
app, go through ``Scanner.inspect``)."""


def _bulk(mem: Mem, gflow: list[FlowState], apps: I64, inv: I64, pdir: I64,
          gdir: list[int], po: I64, pe: I64) -> npt.NDArray[np.bool_]:
    """Classify plain single-PDU Modbus, DNP3 and S7comm payloads in bulk.

    Each protocol's function code sits at a fixed offset in its common PDU shape; ``opi`` is
    its operation index (-1: no operation, e.g. a response; -2: not this simple shape, so the
    full decoder must see it). A record is handled here when it has no operation, or when
    its operation class already holds its ``MAX_EVENTS`` events in the flow (no frame
    number needed, only the count). Returns the mask of handled records."""
    at, w16 = mem.b, mem.w16

    size = pe - po
    app = apps[inv]
    opi = np.full(len(po), -2, dtype=np.int64)
    client = np.array([f.client ^ g for f, g in zip(gflow, gdir, strict=True)], dtype=np.int64)
    from_client = pdir == client[inv]
    m = (app == 1) & (size >= 8)
    if m.any():  # Modbus: MBAP, protocol id 0, one ADU; requests come from the client
        one = m & (w16(po + 2) == 0) & (size == 6 + w16(po + 4))
        code = _MB_OPS[at(po + 7)]
        opi = np.where(one, np.where(from_client | (code == -2), code, -1), opi)
    m = (app == 2) & (size >= 13)
    if m.any():  # DNP3: one link frame whose size matches; FC at 12 when transport FIR
        data = at(po + 2) - 5
        one = (m & (at(po) == 0x05) & (at(po + 1) == 0x64) & (data >= 3)
               & (size == 10 + data + 2 * ((data + 15) // 16)) & ((at(po + 10) & 0x40) > 0))
        fc = at(po + 12)
        code = np.where(fc >= 0x81, -1, _DNP3_OPS[np.minimum(fc, 255)])
        code = np.where((fc == 2) & (data >= 4), -2, code)  # WRITE: the object decides
        opi = np.where(one, code, opi)
    m = (app == 3) & (size >= 19)
    if m.any():  # S7comm: TPKT one PDU, COTP DT (li 2), 0x32; job FC at 17, ack: nothing
        one = (m & (at(po) == 3) & (w16(po + 2) == size) & (at(po + 4) == 2)
               & (at(po + 5) == 0xF0) & (at(po + 7) == 0x32)
               & (w16(po + 13) > 0))  # a parameter block
        rosctr = at(po + 8)
        code = np.where((rosctr == 2) | (rosctr == 3), -1,
                        np.where(rosctr == 1, _S7_OPS[at(po + 17)], -2))
        opi = np.where(one, code, opi)
    ncls = len(OPERATIONS)
    # events still wanted per flow and class; column ncls: no operation, ncls+1: decoder
    room = np.array([[max(MAX_EVENTS - f.evn.get(op, 0), 0) for op in OPERATIONS] + [0, -1]
                     for f in gflow], dtype=np.int64)
    col = np.where(opi == -1, ncls, np.where(opi == -2, ncls + 1, opi))
    handled = room[inv, col] == 0
    # Of the records of a class that still wants events, only the earliest ``room`` can
    # become events (all earlier chunks' frames precede them): the rest are counted here.
    want = np.flatnonzero((opi >= 0) & ~handled)
    if len(want):
        key = inv[want] * 16 + opi[want]
        order = np.argsort(key, kind="stable")
        ks = key[order]
        rank = np.arange(len(ks)) - np.searchsorted(ks, ks, side="left")
        late = want[order][rank >= room[inv[want[order]], opi[want[order]]]]
        handled[late] = True
    counted = np.flatnonzero(handled & (opi >= 0))
    if len(counted):
        combo = inv[counted] * 16 + opi[counted]
        vals, counts = np.unique(combo, return_counts=True)
        for v, n in zip(vals.tolist(), counts.tolist(), strict=True):
            gflow[v // 16].ops[OPERATIONS[v % 16]] += n
    return np.asarray(handled, dtype=bool)


def _op_table(table: dict[int, tuple[str | None, str]], special: Iterable[int] = (),
              ) -> npt.NDArray[np.int64]:
    """Code -> operation index (-1: no operation; -2: unknown or needs the full decoder)."""
    t = np.full(256, -2, dtype=np.int64)
    for code, (op, _name) in table.items():
        if code not in special and code < 256:
            t[code] = OPERATIONS.index(op) if op else -1
    return t


_MB_OPS = _op_table(MODBUS_FC, special=(8, 43, 90))
_DNP3_OPS = _op_table(DNP3_FC)
_S7_OPS = _op_table(S7_JOB_FUNCTION, special=(0x28,))
