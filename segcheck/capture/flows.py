"""Bidirectional flows from captures, with the application and ICS operations of each.

``extract_flows(paths)`` reads every capture (several files, or one large pcap/pcapng shared
by flow partitions — see ``_tasks`` — in parallel worker processes) and returns
``FlowsResult``: the flows and one ``CaptureSummary`` per file that counts what could not
be decoded, by reason. The scan engine is ``default_engine()`` (the C-accelerated
``native`` one when built, else ``vector``); all engines give the same result.

Semantics:

* A flow is a bidirectional conversation keyed by (addresses, IP protocol, ports); L2 ICS
  frames (PROFINET, GOOSE, SV, …) by (MACs, ethertype). ``src`` is the initiator, decided by
  ``initiator_by``: ``syn`` (the SYN sender, or the peer of a SYN-ACK sender), ``port`` (TCP
  seen without its handshake: the side on a well-known port is the server), ``first-packet``
  (the sender of the first packet: UDP and other datagrams, and TCP the ports cannot decide).
* ``packets``/``bytes`` count frames and their original (wire) lengths, both ways, as
  ``tshark -z conv`` does. Non-first IP fragments count to the flow of their first fragment
  (``fragments`` says how many); a fragment whose first fragment was not seen is counted in
  the capture's problems.
* ``first_seen`` is the time of the flow's first frame, ``last_seen`` the latest time seen
  (they differ from min/max only when a capture's timestamps go backwards).
* Memory is bounded by the number of flows: per flow at most ``FIRST_FRAMES`` frame numbers
  and ``MAX_EVENTS`` operation events per operation class are kept; counters are unbounded.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import operator
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from segcheck.capture import native
from segcheck.capture.reader import (
    PcapngState,
    open_capture,
    walk,
)
from segcheck.capture.scan import (
    FIRST_FRAMES,
    MAX_EVENTS,
    FlowState,
    Scan,
    Scanner,
    add_event,
)
from segcheck.capture.tables import OPERATIONS, WELL_KNOWN_SERVER_PORTS
from segcheck.gcpause import collector_paused
from segcheck.model.packet import Packet, has_ports, protocol_name

log = logging.getLogger(__name__)

__all__ = ["FIRST_FRAMES", "MAX_EVENTS", "CaptureSummary", "Flow", "FlowsResult",
           "extract_flows", "scan"]

SPLIT_BYTES = 64 << 20
"""A capture (pcap or pcapng) larger than this is split among the workers."""


@dataclass(frozen=True, slots=True)
class CaptureSummary:
    """What one capture file held, and what could not be decoded (never silently dropped)."""

    path: str
    format: str
    packets: int
    bytes: int
    flows: int
    undecodable: tuple[tuple[str, int], ...]
    """Reason -> frames: truncated or malformed frames, cut-off records, orphan fragments."""
    non_ip: tuple[tuple[str, int], ...]
    """Frames without IP and without an ICS ethertype (ARP, LLDP, LLC…), by kind."""
    first_seen: float | None = None
    last_seen: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "packets": self.packets,
                "bytes": self.bytes, "flows": self.flows,
                "undecodable": dict(self.undecodable), "non_ip": dict(self.non_ip),
                "first_seen": self.first_seen, "last_seen": self.last_seen}


@dataclass(frozen=True, slots=True)
class Flow:
    """One observed conversation (``src`` is the initiator; see the module docstring)."""

    capture: str
    version: int
    """4 or 6; 0 for an L2 flow (then ``src``/``dst`` are MACs and ``proto`` the ethertype)."""
    src: str
    dst: str
    proto: int
    sport: int
    dport: int
    packets_fwd: int
    packets_rev: int
    bytes_fwd: int
    bytes_rev: int
    first_seen: float
    last_seen: float
    app: str | None
    operations: tuple[tuple[str, int], ...]
    frames: tuple[int, ...]
    """The first few frame numbers (1-based, as Wireshark numbers them)."""
    events: tuple[tuple[int, str, str], ...]
    """(frame, operation, detail) of the first ``MAX_EVENTS`` operations of each class."""
    initiator_by: str
    src_mac: str | None = None
    dst_mac: str | None = None
    fragments: int = 0
    notes: tuple[str, ...] = ()

    @property
    def packets(self) -> int:
        return self.packets_fwd + self.packets_rev

    @property
    def bytes(self) -> int:
        return self.bytes_fwd + self.bytes_rev

    @property
    def proto_name(self) -> str:
        return f"eth:0x{self.proto:04x}" if self.version == 0 else protocol_name(self.proto)

    def packet(self) -> Packet | None:
        """The initiating packet's header (None for L2 flows)."""
        if self.version == 0:
            return None
        s, d = ipaddress.ip_address(self.src), ipaddress.ip_address(self.dst)
        ports = (self.sport, self.dport) if has_ports(self.proto) else (0, 0)
        return Packet(self.version, int(s), int(d), self.proto, *ports)

    def op_frames(self, ops: Iterable[str] | None = None) -> tuple[int, ...]:
        wanted = None if ops is None else set(ops)
        return tuple(f for f, op, _ in self.events if wanted is None or op in wanted)

    def to_json(self, src_zone: str | None = None, dst_zone: str | None = None) -> dict[str, Any]:
        """The DESIGN.md §4 ``flows --format json`` object (plus a few additive fields)."""
        frames = sorted(set(self.frames) | set(self.op_frames()))
        out: dict[str, Any] = {
            "src": self.src, "dst": self.dst, "proto": self.proto_name,
            "sport": self.sport, "dport": self.dport,
            "packets": self.packets, "bytes": self.bytes,
            "first_seen": self.first_seen, "last_seen": self.last_seen,
            "app": self.app, "operations": dict(self.operations),
            "src_zone": src_zone, "dst_zone": dst_zone, "frames": frames,
            "initiator_by": self.initiator_by, "capture": self.capture,
            "packets_fwd": self.packets_fwd, "packets_rev": self.packets_rev,
            "bytes_fwd": self.bytes_fwd, "bytes_rev": self.bytes_rev,
            "events": [{"frame": f, "operation": op, "detail": d} for f, op, d in self.events],
        }
        if self.src_mac or self.dst_mac:
            out["src_mac"], out["dst_mac"] = self.src_mac, self.dst_mac
        if self.fragments:
            out["fragments"] = self.fragments
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True)
class FlowsResult:
    flows: tuple[Flow, ...]
    captures: tuple[CaptureSummary, ...] = field(default=())


def default_engine() -> str:
    """``native`` when the C extension is built and not disabled (``SEGCHECK_NATIVE=0``),
    else ``vector``."""
    return "native" if native.module() is not None else "vector"


def scan(path: str, start: int | None = None, stop: int | None = None, first_frame: int = 1,
         progress: Callable[[int], None] | None = None, *, engine: str | None = None,
         state: PcapngState | None = None, part: tuple[int, int] | None = None) -> Scan:
    """Walk one capture (or its records starting in ``[start, stop)``: pcap numbered from
    ``first_frame``, pcapng continuing from ``state``) into flow states; with
    ``part=(index, count)`` (native or vector engine) only the flows of that partition.

    ``engine="native"`` is ``native.scan_native`` (C walk/decode/grouping),
    ``engine="vector"`` is ``vector.scan_vector`` (numpy), ``engine="packet"`` sends every
    frame through ``Scanner.packet`` — the reference both are tested against. Default:
    ``default_engine()``. All three give the same result."""
    engine = engine or default_engine()
    if part is not None and engine == "packet":
        raise ValueError("flow partitions need the native or the vector engine")
    # a scan allocates millions of short-lived tuples and thousands of long-lived flow
    # states, none in cycles: the collector's passes over them cost ~10% of the scan
    with open_capture(path) as cap, collector_paused():
        if engine == "native":
            mod = native.module()
            if mod is None:
                raise RuntimeError("the native capture scan is not available")
            return native.scan_native(mod, cap, start, stop, first_frame, state, progress,
                                      part)
        if engine == "vector":
            from segcheck.capture.vector import scan_vector

            return scan_vector(cap, start, stop, first_frame, progress, state, part)
        sc = Scanner(cap.data)
        for frame, lt, ts, d, caplen, wirelen in walk(cap, start, stop, first_frame, state):
            sc.packets += 1
            sc.bytes += wirelen
            sc.packet(frame, lt, ts, d, d + caplen, wirelen)
        for reason, n in cap.problems.items():
            sc.bad[reason] += n
        return sc.result(cap.format)


def _merge(parts: Sequence[Scan]) -> Scan:
    """Join the scans of consecutive chunks of one file (flows spanning chunks are summed)."""
    if len(parts) == 1:
        return parts[0]
    merged = Scan([], format=parts[0].format)
    index: dict[tuple[bytes, bytes, int, int, int], FlowState] = {}
    for part in parts:
        merged.packets += part.packets
        merged.bytes += part.bytes
        merged.bad.update(part.bad)
        merged.non_ip.update(part.non_ip)
        for f in part.flows:
            g = index.get(f.key())
            if g is None:
                rev = (f.b, f.a, f.proto, f.port_b, f.port_a)
                g = index.get(rev)
                if g is not None:
                    f.flip()
            if g is None:
                index[f.key()] = f
                merged.flows.append(f)
                continue
            g.pkts0 += f.pkts0
            g.pkts1 += f.pkts1
            g.bytes0 += f.bytes0
            g.bytes1 += f.bytes1
            g.frags += f.frags
            g.last = max(g.last, f.last)
            if f.first_frame < g.first_frame:  # first_seen: the first frame's time
                g.first, g.first_frame = f.first, f.first_frame
            g.frames = sorted(g.frames + f.frames)[:FIRST_FRAMES]
            g.see_mac(0, f.mac0, f.macf0)
            g.see_mac(1, f.mac1, f.macf1)
            if f.syn >= 0 and f.synf < g.synf:
                g.syn, g.synf = f.syn, f.synf
            if g.app is None and f.app is not None:
                g.app, g.client, g.is_ics = f.app, f.client, f.is_ics
            g.ops.update(f.ops)
            for e in f.events:
                add_event(g.events, g.evn, e)
            for k, val in f.state.items():
                g.state.setdefault(k, val)
    return merged


_IPS: dict[bytes, str] = {}
"""Memo of IP address texts (4- or 16-byte keys; a pure function of the bytes; cleared
when it grows past 100k entries)."""


def _mac(m: bytes | None) -> str | None:
    return m.hex(":") if m and len(m) == 6 else None


def _addr(version: int, raw: bytes) -> str:
    if version == 0:
        return _mac(raw) or raw.hex()
    t = _IPS.get(raw)
    if t is None:
        t = str(ipaddress.IPv4Address(raw) if version == 4 else ipaddress.IPv6Address(raw))
        if len(_IPS) > 100_000:
            _IPS.clear()
        _IPS[raw] = t
    return t


_ORDER = {op: i for i, op in enumerate(OPERATIONS)}


def _op_order(kv: tuple[str, int]) -> int:
    return _ORDER[kv[0]]


def _finish(path: str, f: FlowState) -> Flow:
    by = "first-packet"
    if f.syn >= 0:
        by = "syn"
        if f.syn:
            f.flip()
    elif f.proto == 6 and f.version:
        a_wk, b_wk = f.port_a in WELL_KNOWN_SERVER_PORTS, f.port_b in WELL_KNOWN_SERVER_PORTS
        if a_wk == b_wk:  # fall back to the privileged-port rule
            a_wk, b_wk = f.port_a < 1024, f.port_b < 1024
        if a_wk != b_wk:
            by = "port"
            if a_wk:  # the first packet came from the server
                f.flip()
    state = f.state
    notes: list[str] = []
    if state:
        notes = sorted(str(n) for n in state.get("notes", ()))  # type: ignore[attr-defined]
        for k in ("sni", "host", "security_policy"):
            if k in state:
                notes.append(f"{k}={state[k]}")
    ops = []
    other = 0
    for op, n in f.ops.items():
        if op in _ORDER:
            ops.append((op, n))
        else:
            other += n
    if other:
        notes.append(f"unclassified={other}")
    if state:
        for k in ("exceptions", "malformed"):
            if state.get(k):
                notes.append(f"{k}={state[k]}")
    return Flow(
        capture=path, version=f.version, src=_addr(f.version, f.a), dst=_addr(f.version, f.b),
        proto=f.proto, sport=f.port_a, dport=f.port_b, packets_fwd=f.pkts0,
        packets_rev=f.pkts1, bytes_fwd=f.bytes0, bytes_rev=f.bytes1, first_seen=f.first,
        last_seen=f.last, app=f.app,
        operations=tuple(sorted(ops, key=_op_order)) if len(ops) > 1 else tuple(ops),
        frames=tuple(f.frames), events=tuple(f.events), initiator_by=by,
        src_mac=_mac(f.mac0), dst_mac=_mac(f.mac1), fragments=f.frags, notes=tuple(notes))


def _summary(path: str, s: Scan, n_flows: int, flows: Sequence[Flow]) -> CaptureSummary:
    return CaptureSummary(
        path=path, format=s.format, packets=s.packets, bytes=s.bytes, flows=n_flows,
        undecodable=tuple(sorted(s.bad.items())), non_ip=tuple(sorted(s.non_ip.items())),
        first_seen=min((f.first_seen for f in flows), default=None),
        last_seen=max((f.last_seen for f in flows), default=None))


Task = tuple[int, str, int | None, int | None, int, PcapngState | None,
             tuple[int, int] | None]
"""(file index, path, start offset, stop offset, first frame number (pcap), walk state at
the start offset (pcapng), flow partition (index, count))."""


def _tasks(paths: Sequence[str], workers: int) -> list[Task]:
    """One task per file; with fewer files than workers, a file over ``SPLIT_BYTES`` becomes
    ``workers`` tasks, one per flow partition: each task walks the whole file and takes the
    flows of its partition (``scan.partition``), so no flow is shared and the result equals
    one pass exactly. (``reader.pcap_split_points``/``pcapng_split_points`` cut a file into
    record-aligned byte ranges instead; ``_merge`` joins such pieces, but a flow's
    application detection restarts per piece, so extract_flows does not use them.)"""
    tasks: list[Task] = []
    split = workers > len(paths)  # enough files to keep the workers busy: no splitting
    for i, p in enumerate(paths):
        with open_capture(p) as cap:
            big = len(cap.data) > SPLIT_BYTES
        if split and big:
            tasks += [(i, p, None, None, 1, None, (k, workers)) for k in range(workers)]
        else:
            tasks.append((i, p, None, None, 1, None, None))
    return tasks


TaskResult = tuple[Scan, list[Flow] | None]
"""A task's scan and, when no other task shares its flows (a whole file or a flow
partition), its finished flows (the scan's flow list is then emptied: less to pickle)."""


_FLOW_FIELDS = tuple(f.name for f in dataclasses.fields(Flow))
_flow_values = operator.attrgetter(*_FLOW_FIELDS)


def _scan_task(task: Task, progress: Callable[[int], None] | None = None,
               compact: bool = False) -> TaskResult:
    """Scan one task; ``compact`` (pool workers): finished flows travel as plain tuples,
    which pickle several times faster than the frozen dataclasses (see ``_unpack``)."""
    _, p, s, e, ff, st, part = task
    with collector_paused():
        res = scan(p, s, e, ff, progress, state=st, part=part)
        if s is None and e is None:
            flows: list[Any] = [_finish(p, f) for f in res.flows]
            if compact:
                flows = [_flow_values(f) for f in flows]
            res.flows = []
            return res, flows
    return res, None


def _unpack(res: TaskResult) -> TaskResult:
    """A pool worker's result with its flows as ``Flow`` objects again."""
    scan_res, flows = res
    if flows and not isinstance(flows[0], Flow):
        with collector_paused():
            flows = [Flow(*t) for t in flows]
    return scan_res, flows


def _first_frame(f: Flow) -> int:
    return f.frames[0] if f.frames else 0


def extract_flows(paths: Sequence[str | os.PathLike[str]], workers: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> FlowsResult:
    """Flows of every capture in ``paths`` (CaptureError for a file that is no capture).

    ``workers`` processes are used when there is more than one task (several files, or a
    capture over ``SPLIT_BYTES``, see ``_tasks``); default: the CPU count. This process
    runs the first task itself while the pool runs the others.
    ``progress(done, total)`` is called with tasks completed (or bytes, in-process)."""
    spaths = [str(p) for p in paths]
    workers = max(1, workers or os.cpu_count() or 1)
    tasks = _tasks(spaths, workers)
    total = len(tasks)
    results: list[TaskResult]
    if workers > 1 and total > 1:
        with ProcessPoolExecutor(max_workers=min(workers - 1, total - 1)) as pool:
            futures = [pool.submit(_scan_task, t, None, True) for t in tasks[1:]]
            results = [_scan_task(tasks[0])]
            if progress:
                progress(1, total)
            for done, fut in enumerate(futures, 2):
                results.append(_unpack(fut.result()))
                if progress:
                    progress(done, total)
    else:
        results = []
        for done, t in enumerate(tasks, 1):
            size = os.path.getsize(t[1]) or 1
            cb = (lambda off, size=size: progress(off, size)) if progress else None
            results.append(_scan_task(t, cb))
            if progress:
                progress(done, total)
    flows: list[Flow] = []
    summaries: list[CaptureSummary] = []
    for i, p in enumerate(spaths):
        mine = [r for t, r in zip(tasks, results, strict=True) if t[0] == i]
        merged = _merge([s for s, _ in mine])
        if all(done is not None for _, done in mine):
            these = sorted((f for _, done in mine for f in done or ()), key=_first_frame)
        else:
            these = [_finish(p, f) for f in sorted(merged.flows, key=lambda f: f.first_frame)]
        flows += these
        summaries.append(_summary(p, merged, len(these), these))
        if merged.bad:
            log.info("%s: %d undecodable frames: %s", p, sum(merged.bad.values()),
                     dict(merged.bad))
    return FlowsResult(tuple(flows), tuple(summaries))
