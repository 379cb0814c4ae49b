"""The native scan: ``_pcapc`` (C) walks records, decodes link/IP/L4 headers and groups each
chunk's records by flow; Python updates each flow once per chunk and inspects payloads.

Division of work per chunk of ``CHUNK`` records (the first is ``FIRST_CHUNK``, as in
``vector``, so flows know their application before the big chunks):

1. ``_pcapc.pcap_chunk`` / ``pcapng_chunk`` walk the records (the reader's semantics and
   problem counting) and decode every frame that ``dissect`` would decode to an unfragmented
   IPv4/IPv6 packet outside GRE — every link type, VLAN/QinQ tags, MPLS (with PW Ethernet),
   PPPoE, SNAP, SLL/SLL2, raw, loopback, IPv6 extension headers. Every other frame (fragments,
   GRE/ERSPAN, L2 ICS ethertypes, non-IP, truncated, invalid, unknown link types) is *slow*:
   it goes through ``Scanner.packet``, so those are decoded and counted by the reference code.
2. The C code groups the decoded records by bidirectional flow with an exact hash table and
   returns per group what ``vector._fast`` computes with numpy (counts and bytes each way,
   first frames, first SYN, MACs, latest time).
3. Python applies each group to the scanner's flow table (``apply_groups``), classifies the
   plain single-PDU Modbus/DNP3/S7comm payloads with ``_pcapc.bulk`` (``vector._bulk``'s
   rules), decodes at once the other payloads of flows whose decoder is pure and memoised
   (``_decode_now``: for them the order does not change counts or the earliest events),
   queues the payloads the remaining flows still need (``_queue``), runs the slow records
   and inspects the queue in frame order (``Scanner.run_deferred``).

The result equals the per-packet scan (``flows.scan(engine="packet")``): the tests compare
them on the corpus, the repo's captures and generated and hypothesis-damaged captures.

``SEGCHECK_NATIVE=0`` in the environment disables the extension (``module()`` is None);
``SEGCHECK_REQUIRE_NATIVE=1`` makes a missing extension a test failure (see tests).
"""

from __future__ import annotations

import importlib
import mmap
import os
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from segcheck.capture.reader import PCAPNG_START, Capture, PcapngState, pcap_header
from segcheck.capture.scan import (
    FIRST_FRAMES,
    MAX_EVENTS,
    Deferred,
    FlowState,
    Scan,
    Scanner,
    add_event,
)
from segcheck.capture.tables import OPERATIONS
from segcheck.capture.vector import (
    _DNP3_OPS,
    _MB_OPS,
    _S7_OPS,
    BULK_APPS,
    CUT_HEADER,
    CUT_RECORD,
    FIRST_CHUNK,
    I64,
    _deferred,
    _first_tries,
    _flow_runs,
)

NG_PROBLEMS = ("bad pcapng section header", "bad or cut-off pcapng block",
               "pcapng packet with unknown interface or bad length", "cut-off pcapng block")
"""The reader's problem names, in the order ``pcapng_chunk`` counts them."""
_TABLES = tuple(np.ascontiguousarray(t, dtype=np.int64).tobytes()
                for t in (_MB_OPS, _DNP3_OPS, _S7_OPS))
_cached: list[ModuleType | None] = []
CHUNK = 1 << 19
"""Records per native chunk (the numpy path uses 256k): C columns ~85 bytes a record plus
the group table — ~60 MB per chunk; larger chunks mean fewer per-flow updates per file."""
_FULL_ROOM = [MAX_EVENTS] * len(OPERATIONS)
_OP_INDEX = {op: i for i, op in enumerate(OPERATIONS)}


def built() -> ModuleType | None:
    """The ``_pcapc`` extension if it is built (whatever ``SEGCHECK_NATIVE`` says)."""
    if not _cached:
        try:
            _cached.append(importlib.import_module("segcheck.capture._pcapc"))
        except ImportError:
            _cached.append(None)
    return _cached[0]


def module() -> ModuleType | None:
    """The ``_pcapc`` extension, or None when it is not built or ``SEGCHECK_NATIVE=0``."""
    if os.environ.get("SEGCHECK_NATIVE", "1") == "0":
        return None
    return built()


def scan_native(mod: ModuleType, cap: Capture, start: int | None, stop: int | None,
                first_frame: int, state: PcapngState | None,
                progress: Callable[[int], None] | None,
                part: tuple[int, int] | None = None) -> Scan:
    """Scan ``cap`` (or its records starting in ``[start, stop)``) with the extension.

    ``part=(index, count)``: walk the whole range but account only the flows whose
    ``scan.partition`` is ``index`` (frame totals and undecodable/non-IP frames: index 0
    only), so ``count`` workers share one file without sharing a flow."""
    sc = Scanner(cap.data, part)
    pargs = part or (0, 1)
    chunks = (_pcap_chunks(mod, cap, start, stop, first_frame, pargs) if cap.format == "pcap"
              else _pcapng_chunks(mod, cap, start, stop, state, pargs))
    done = 0
    for next_off, chunk in chunks:
        if chunk[0]:
            _process(mod, sc, chunk)
        done = _release(cap, done, next_off)
        if progress is not None:
            progress(next_off)
    if sc.counts_frames:
        for reason, n in cap.problems.items():
            sc.bad[reason] += n
    return sc.result(cap.format)


Chunk = tuple[Any, ...]
RELEASE_BYTES = 64 << 20


def _release(cap: Capture, done: int, upto: int) -> int:
    """Drop the pages of ``[done, upto)`` that a chunk has finished with from this process's
    mapping (read-only file pages: the page cache keeps them, a later read maps them again),
    so resident memory stays bounded by the chunk and the flows, not the file size."""
    if upto - done < RELEASE_BYTES or not isinstance(cap.data, mmap.mmap):
        return done
    page = mmap.PAGESIZE
    lo, hi = done // page * page, upto // page * page
    if hi > lo and hasattr(mmap, "MADV_DONTNEED"):
        try:
            cap.data.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
        except (OSError, ValueError):  # not supported here: keep the pages
            return upto
    return hi


def _pcap_chunks(mod: ModuleType, cap: Capture, start: int | None, stop: int | None,
                 first_frame: int, part: tuple[int, int]) -> Iterator[tuple[int, Chunk]]:
    order, unit, rec, linktype = pcap_header(cap)
    size = len(cap.data)
    end = size if stop is None else min(stop, size)
    off = 24 if start is None else start
    frame = first_frame
    limit = FIRST_CHUNK
    while off < end:
        off, problem, chunk = mod.pcap_chunk(cap.data, off, end, rec, order == ">", unit,
                                             linktype, frame, limit, *part)
        limit = CHUNK
        frame += chunk[0]
        if problem:
            cap.problems[CUT_HEADER if problem == 1 else CUT_RECORD] += 1
            off = end
        yield off, chunk
        if not chunk[0]:
            break


def _pcapng_chunks(mod: ModuleType, cap: Capture, start: int | None, stop: int | None,
                   state: PcapngState | None, part: tuple[int, int],
                   ) -> Iterator[tuple[int, Chunk]]:
    size = len(cap.data)
    end = size if stop is None else min(stop, size)
    off = start or 0
    st = state or PCAPNG_START
    limit = FIRST_CHUNK
    while True:
        off, st, problems, ended, chunk = mod.pcapng_chunk(cap.data, off, end, st, limit,
                                                           *part)
        limit = CHUNK
        for name, n in zip(NG_PROBLEMS, problems, strict=True):
            if n:
                cap.problems[name] += n
        yield off, chunk
        if ended or off >= end or off + 12 > size:
            return


def _np(raw: bytes, dtype: type | str) -> npt.NDArray[Any]:
    return np.frombuffer(raw, dtype=dtype)


def _process(mod: ModuleType, sc: Scanner, chunk: Chunk) -> None:
    n, frame_b, ts_b, wl_b, d_b, cl_b, lt_b, gid_b, pdir_b, po_b, pe_b, sp_b, dp_b, groups = chunk
    sc.defer = []
    wl = _np(wl_b, np.int64)
    if sc.counts_frames:
        sc.packets += n
        sc.bytes += int(wl.sum())
    gid = _np(gid_b, np.int32)
    gflow, gdir = apply_groups(sc, groups)
    if gflow:
        pdir = _np(pdir_b, np.uint8)
        po, pe = _np(po_b, np.int64), _np(pe_b, np.int64)
        # per flow: wants payloads (need), bulk app code, pure memoised ICS decoder; flows
        # whose decoder is pure have their payloads decoded right here — the order does not
        # matter for them (ops are counted, events keep the earliest per class)
        need_l, apps, pure_l = [], [], []
        for f in gflow:
            if f.decoder is None:
                need_l.append(f.app is None and f.tries > 0)
                apps.append(0)
                pure_l.append(False)
            else:
                need_l.append(True)
                apps.append(BULK_APPS.get(f.app, 0))  # type: ignore[arg-type]
                pure_l.append(f.is_ics and f.cache_key is not None)
        # records without a group here (-1 slow, -2 another worker's) pick the False at the end
        gi = np.where(gid < 0, len(gflow), gid)
        payload = (po < pe) & np.array([*need_l, False], dtype=bool)[gi]
        if any(apps):
            payload &= ~_bulk(mod, sc, gflow, gdir, apps, gid_b, pdir_b, po_b, pe_b)
        pure = np.array([*pure_l, False], dtype=bool)[gi]
        now = np.flatnonzero(payload & pure)
        if len(now):
            _decode_now(sc, gflow, gdir, now, gid, pdir, po, pe, _np(frame_b, np.int64))
        sel = np.flatnonzero(payload & ~pure)
        if len(sel):
            inv = gid.astype(np.int64)
            _queue(mod, sc, gflow, gdir, sel, inv, pdir.astype(np.int64),
                   _np(sp_b, np.int32).astype(np.int64), _np(dp_b, np.int32).astype(np.int64),
                   po, pe, _np(frame_b, np.int64))
    slow = np.flatnonzero(gid == -1)
    if len(slow):
        frames = _np(frame_b, np.int64)[slow].tolist()
        lts = _np(lt_b, np.int64)[slow].tolist()
        tss = _np(ts_b, np.float64)[slow].tolist()
        ds = _np(d_b, np.int64)[slow].tolist()
        cls = _np(cl_b, np.int64)[slow].tolist()
        wls = wl[slow].tolist()
        packet = sc.packet
        for fr, lt, ts, d, cl, w in zip(frames, lts, tss, ds, cls, wls, strict=True):
            packet(fr, lt, ts, d, d + cl, w)
    sc.run_deferred()


def _decode_now(sc: Scanner, gflow: list[FlowState], gdir: list[int], sel: I64,
                gid: npt.NDArray[Any], pdir: npt.NDArray[Any], po: I64, pe: I64,
                frames: I64, turned: int = 0) -> None:
    """Decode the selected payloads of flows with a pure memoised ICS decoder now, flow by
    flow in record order (``Scanner.inspect``'s effect for such a flow: the same memo, counts
    and events). ``pdir ^ gdir ^ turned`` is the record's flow direction (``turned``: the
    flow was turned round an odd number of times since ``apply_groups``; only for a single
    flow's records)."""
    if not len(sel):
        return
    data, cache = sc.data, sc.cache
    g_sel = gid[sel]
    order = np.argsort(g_sel, kind="stable")
    sel, g_sel = sel[order], g_sel[order]
    cuts = (np.flatnonzero(np.diff(g_sel)) + 1).tolist()
    g_l, pd_l, po_l, pe_l, fr_l = (g_sel.tolist(), pdir[sel].tolist(), po[sel].tolist(),
                                   pe[sel].tolist(), frames[sel].tolist())
    for s0, e0 in zip([0, *cuts], [*cuts, len(g_l)], strict=True):
        g = g_l[s0]
        f = gflow[g]
        app, keyf, decoder, state = f.app, f.cache_key, f.decoder, f.state
        client = f.client ^ gdir[g] ^ turned  # a record is the client's when pdir == client
        fops, ev, evn = f.ops, f.events, f.evn
        for j in range(s0, e0):
            payload = data[po_l[j]:pe_l[j]]
            from_client = pd_l[j] == client
            ckey = (app, from_client, keyf(payload))
            ops = cache.get(ckey)
            if ops is None:
                ops = decoder(payload, from_client, state)
                if len(cache) > 65536:
                    cache.clear()
                cache[ckey] = ops
            if not ops:
                continue
            frame = fr_l[j]
            # as Scanner._inspect_items: add_event's in-order case inlined (a helper call
            # per payload cost ~2% of the 1M-frame benchmark's CPU)
            for op, detail in ops:
                fops[op] += 1
                n = evn.get(op, 0)
                if n < MAX_EVENTS and (not ev or frame >= ev[-1][0]):
                    evn[op] = n + 1
                    ev.append((frame, op, detail))
                else:
                    add_event(ev, evn, (frame, op, detail))


def _queue(mod: ModuleType, sc: Scanner, gflow: list[FlowState], gdir: list[int], sel: I64,
           inv: I64, pdir: I64, sp: I64, dp: I64, po: I64, pe: I64, frames: I64) -> None:
    """``vector._inspect_each`` (queue the payloads flows still need, a lazy tail for those
    past a flow's detection budget), except that a tail built for a flow that meanwhile
    recognised a bulk application (Modbus, DNP3, S7comm) first goes through ``_pcapc.bulk``
    with the flow's room for events then: only the records that can still become events, or
    that the bulk rules cannot classify, are queued (the same rules as ``_bulk``: a counted
    record has ``MAX_EVENTS`` earlier events of its class), and the rest of a pure memoised
    decoder's records are decoded right away (``_decode_now``)."""
    defer = sc.defer
    assert defer is not None
    g_sel = inv[sel]
    now = _first_tries(gflow, g_sel)
    flips_l = [f.flips for f in gflow]
    frames_l = frames.tolist()

    def items(sub: I64) -> list[Deferred]:
        return _deferred(sub, gflow, gdir, flips_l, inv, pdir, sp, dp, po, pe, frames_l)

    def tail(sub: I64, g: int) -> list[Deferred]:
        f = gflow[g]
        app = BULK_APPS.get(f.app, 0) if f.decoder is not None else 0  # type: ignore[arg-type]
        if not app:
            if f.decoder is not None and not f.is_ics:
                # an IT app being described looks at no more than ``tries`` more payloads,
                # all among the first ``tries`` of its tail and of its queued records
                return items(sub[:max(f.tries, 0)])
            return items(sub)
        ncls = len(OPERATIONS)
        room = np.array([max(MAX_EVENTS - f.evn.get(op, 0), 0) for op in OPERATIONS],
                        dtype=np.int64)
        client = (f.client ^ gdir[g] ^ (f.flips - flips_l[g])) & 1
        handled_b, counts_b = mod.bulk(
            sc.data, np.zeros(len(sub), dtype=np.int32).tobytes(),
            pdir[sub].astype(np.uint8).tobytes(), po[sub].tobytes(), pe[sub].tobytes(),
            bytes([app]), bytes([client]), room.tobytes(), *_TABLES, len(sub), 1, ncls)
        for c, n in enumerate(_np(counts_b, np.int64).tolist()):
            if n:
                f.ops[OPERATIONS[c]] += n
        rest = sub[~_np(handled_b, np.uint8).astype(bool)]
        if f.is_ics and f.cache_key is not None:  # pure: order-free, decode them now
            _decode_now(sc, gflow, gdir, rest, inv, pdir, po, pe, frames,
                        (f.flips - flips_l[g]) & 1)
            return []
        return items(rest)

    defer += items(sel[np.flatnonzero(now)])
    for part in _flow_runs(np.flatnonzero(~now), g_sel):
        g = int(g_sel[part[0]])
        f = gflow[g]
        sub = sel[part]
        sc.tails[id(f)] = (f, frames_l[int(sub[0])],
                           lambda sub=sub, g=g: tail(sub, g))  # type: ignore[misc]


Group = tuple[int, int, bytes, int, float, float, int, int, int, int, bytes | None, int,
              bytes | None, int, int, tuple[int, ...]]


def apply_groups(sc: Scanner, groups: list[Group]) -> tuple[list[FlowState], list[int]]:
    """Update the flow table with one chunk's groups (``vector._fast``'s per-group step):
    returns each group's flow and the flow direction of the group's first record."""
    tables = sc.tables
    gflow: list[FlowState] = []
    gdir: list[int] = []
    for (version, pr, key, fr0, ts0, tsmax, n0, n1, by0, by1, mac0, fro, maco, frs, sd,
         firsts) in groups:
        table = tables.get(pr)
        if table is None:
            table = tables[pr] = {}
        hit = table.get(key)
        if hit is None:
            alen = len(key) // 2 - 2
            f = FlowState(version, key[:alen], key[alen:2 * alen], pr,
                          key[-4] << 8 | key[-3], key[-2] << 8 | key[-1], ts0, fr0)
            sc.add_flow(table, key, f)
            dg = 0
        else:
            f, dg = hit
            if fr0 < f.first_frame:
                dg = sc.orient(table, key, f, dg, fr0, ts0)
        gdir.append(dg)
        gflow.append(f)
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
        if tsmax > f.last:
            f.last = tsmax
        fr = f.frames
        if len(fr) < FIRST_FRAMES or fr0 < fr[-1]:
            f.frames = sorted(set(fr) | set(firsts))[:FIRST_FRAMES] if fr else list(firsts)
        if sd >= 0 and frs < f.synf:
            f.syn, f.synf = sd ^ dg, frs
        if dg:  # FlowState.see_mac, inlined: each direction's MAC is its earliest frame's
            if fr0 < f.macf1:
                f.mac1, f.macf1 = mac0, fr0
            if 0 <= fro < f.macf0:
                f.mac0, f.macf0 = maco, fro
        else:
            if fr0 < f.macf0:
                f.mac0, f.macf0 = mac0, fr0
            if 0 <= fro < f.macf1:
                f.mac1, f.macf1 = maco, fro
    return gflow, gdir


def _bulk(mod: ModuleType, sc: Scanner, gflow: list[FlowState], gdir: list[int],
          apps: list[int], gid_b: bytes, pdir_b: bytes, po_b: bytes, pe_b: bytes,
          ) -> npt.NDArray[np.bool_]:
    """``vector._bulk`` in C: the mask of records counted (or without an operation) there."""
    ncls = len(OPERATIONS)
    rows = [_FULL_ROOM] * len(gflow)  # groups without a bulk app: never read
    for g, a in enumerate(apps):
        if a and gflow[g].evn:
            row = list(_FULL_ROOM)
            for op, n in gflow[g].evn.items():
                c = _OP_INDEX.get(op)
                if c is not None:
                    row[c] = max(MAX_EVENTS - n, 0)
            rows[g] = row
    room = np.array(rows, dtype=np.int64).reshape(len(gflow), ncls)
    client = bytes((f.client ^ g) & 1 for f, g in zip(gflow, gdir, strict=True))
    n = len(gid_b) // 4
    handled_b, counts_b = mod.bulk(sc.data, gid_b, pdir_b, po_b, pe_b,
                                   np.array(apps, dtype=np.int8).tobytes(), client,
                                   room.tobytes(), *_TABLES, n, len(gflow), ncls)
    counts = _np(counts_b, np.int64).reshape(len(gflow), ncls)
    for g, c in zip(*np.nonzero(counts), strict=True):
        gflow[int(g)].ops[OPERATIONS[int(c)]] += int(counts[g, c])
    return _np(handled_b, np.uint8).astype(bool)
