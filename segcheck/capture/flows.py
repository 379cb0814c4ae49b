"""Bidirectional flows from captures, with the application and ICS operations of each.

``extract_flows(paths)`` reads every capture (several files, or one large pcap split at
record boundaries, in parallel worker processes) and returns ``FlowsResult``: the flows and
one ``CaptureSummary`` per file that counts what could not be decoded, by reason.

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
* Memory is bounded by the number of flows: per flow at most ``FIRST_FRAMES`` frame numbers
  and ``MAX_EVENTS`` operation events are kept; counters are unbounded.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from segcheck.capture.apps import CACHE_SKIP, DECODERS, ICS_APPS, Op, State, detect
from segcheck.capture.dissect import dissect
from segcheck.capture.reader import Capture, open_capture, pcap_split_points, walk
from segcheck.capture.tables import L2_ICS_ETHERTYPES, OPERATIONS, WELL_KNOWN_SERVER_PORTS
from segcheck.model.packet import Packet, has_ports, protocol_name

log = logging.getLogger(__name__)

FIRST_FRAMES = 5
MAX_EVENTS = 64
DETECT_TRIES = 6
"""Payload packets a flow is inspected for before its application is left unknown."""
IT_DECODE_TRIES = 4
PORT_BYTES = tuple(i.to_bytes(2, "big") for i in range(65536))
SPLIT_BYTES = 64 << 20
"""A pcap larger than this is split among the workers."""


class _FlowState:
    """Mutable accumulator of one flow inside a scan (direction 0 = the first packet's)."""

    __slots__ = ("a", "app", "b", "bytes0", "bytes1", "client", "decoder", "events", "first",
                 "frags", "frames", "is_ics", "last", "mac0", "mac1", "ops", "pkts0", "pkts1",
                 "port_a", "port_b", "proto", "skip", "state", "syn", "tries", "version")

    def __init__(self, version: int, a: bytes, b: bytes, proto: int, pa: int, pb: int,
                 ts: float) -> None:
        self.version, self.a, self.b, self.proto, self.port_a, self.port_b = (
            version, a, b, proto, pa, pb)
        self.pkts0 = self.pkts1 = self.bytes0 = self.bytes1 = self.frags = 0
        self.first = self.last = ts
        self.frames: list[int] = []
        self.syn = -1
        """Direction that initiated the handshake (-1: no SYN or SYN-ACK seen)."""
        self.app: str | None = L2_ICS_ETHERTYPES.get(proto) if version == 0 else None
        self.decoder = DECODERS.get(self.app) if self.app else None
        self.is_ics = self.app in ICS_APPS
        self.skip: int | None = None
        self.client = 0
        self.tries = DETECT_TRIES
        self.ops: Counter[str] = Counter()
        self.events: list[tuple[int, str, str]] = []
        self.state: State = {}
        self.mac0: bytes | None = None
        self.mac1: bytes | None = None

    def key(self) -> tuple[bytes, bytes, int, int, int]:
        return (self.a, self.b, self.proto, self.port_a, self.port_b)

    def flip(self) -> None:
        """Swap directions (used when merging chunks that saw the flow the other way)."""
        self.a, self.b, self.port_a, self.port_b = self.b, self.a, self.port_b, self.port_a
        self.pkts0, self.pkts1, self.bytes0, self.bytes1 = (
            self.pkts1, self.pkts0, self.bytes1, self.bytes0)
        self.mac0, self.mac1 = self.mac1, self.mac0
        if self.syn >= 0:
            self.syn ^= 1
        self.client ^= 1


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
    """(frame, operation, detail) of the first ``MAX_EVENTS`` operations."""
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


@dataclass
class _Scan:
    """The picklable result of scanning one file or one chunk of it."""

    flows: list[_FlowState]
    packets: int = 0
    bytes: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    non_ip: Counter[str] = field(default_factory=Counter)
    format: str = ""


def scan(path: str, start: int | None = None, stop: int | None = None, first_frame: int = 1,
         progress: Callable[[int], None] | None = None) -> _Scan:
    """Walk one capture (or the pcap records starting in ``[start, stop)``) into flow states.

    This is the hot loop: per frame one ``dissect`` call and one dict lookup."""
    with open_capture(path) as cap:
        return _scan_open(cap, start, stop, first_frame, progress)


def _scan_open(cap: Capture, start: int | None, stop: int | None, first_frame: int,
               progress: Callable[[int], None] | None) -> _Scan:
    data = cap.data
    # One table per IP protocol (L2 flows: 0x10000 | ethertype), keyed by the packed
    # addresses and ports of the packet's direction; each flow is entered in both directions.
    tables: dict[int, dict[bytes, tuple[_FlowState, int]]] = {6: {}, 17: {}}
    tcp, udp = tables[6], tables[17]
    flows: list[_FlowState] = []
    frag_ports: dict[tuple[bytes, bytes, int], tuple[int, int]] = {}
    bad: Counter[str] = Counter()
    non_ip: Counter[str] = Counter()
    cache: dict[tuple[str | None, bool, bytes], list[Op]] = {}
    npk = nbytes = tick = 0
    wk = WELL_KNOWN_SERVER_PORTS
    unpack_ip = struct.Struct("!2xH2xHxB").unpack_from
    for frame, lt, ts, d, caplen, wirelen in walk(cap, start, stop, first_frame):
        npk += 1
        nbytes += wirelen
        end = d + caplen
        table = None
        if lt == 1 and caplen >= 54:  # fast path: Ethernet (+1 tag), IPv4 w/o options, TCP/UDP
            p = d + 14
            et = data[d + 12] << 8 | data[d + 13]
            if et == 0x8100:
                et = data[d + 16] << 8 | data[d + 17]
                p += 4
            if et == 0x0800 and data[p] == 0x45:
                total, ff, proto = unpack_ip(data, p)
                pe = p + total
                if not ff & 0x3FFF and pe <= end and total >= 40:
                    if proto == 6:
                        table = tcp
                        fl = data[p + 33]
                        po = p + 20 + (data[p + 32] >> 4 << 2)
                    elif proto == 17:
                        table = udp
                        fl = 0
                        po = p + 28
        if table is not None:
            key = data[p + 12:p + 24]
            hit = table.get(key)
            frag = None
            if hit is None:
                f = _FlowState(4, key[:4], key[4:8], proto, key[8] << 8 | key[9],
                               key[10] << 8 | key[11], ts)
                table[key] = (f, 0)
                rkey = key[4:8] + key[:4] + key[10:] + key[8:10]
                if rkey != key:
                    table[rkey] = (f, 1)
                flows.append(f)
                dirn = 0
            else:
                f, dirn = hit
            if dirn:
                if f.mac1 is None:
                    f.mac1 = data[d + 6:d + 12]
            elif f.mac0 is None:
                f.mac0 = data[d + 6:d + 12]
        else:
            r = dissect(data, d, end, lt)
            if isinstance(r, str):
                if r[0] == "n":
                    non_ip[r[7:]] += 1
                else:
                    bad[r[4:]] += 1
                continue
            v, src, dst, proto, sp, dp, fl, po, pe, frag, smac = r
            if frag is not None:
                fkey = (src, dst, frag[0])
                if frag[1]:
                    if frag[2]:
                        if len(frag_ports) > 65536:
                            del frag_ports[next(iter(frag_ports))]
                        frag_ports[fkey] = (sp, dp)
                else:
                    ports = frag_ports.get(fkey)
                    if ports is None:
                        bad["IP fragment whose first fragment was not seen"] += 1
                        continue
                    sp, dp = ports
                    if not frag[2]:
                        del frag_ports[fkey]
            if v == 0:
                proto |= 0x10000
                key = src + dst + b"\0\0\0\0"
            else:
                key = src + dst + PORT_BYTES[sp] + PORT_BYTES[dp]
            table = tables.get(proto)
            if table is None:
                table = tables[proto] = {}
            hit = table.get(key)
            if hit is None:
                f = _FlowState(v, src, dst, proto & 0xFFFF, sp, dp, ts)
                table[key] = (f, 0)
                if (src, sp) != (dst, dp):
                    table[dst + src + key[-2:] + key[-4:-2]] = (f, 1)
                flows.append(f)
                dirn = 0
            else:
                f, dirn = hit
            if dirn:
                if f.mac1 is None:
                    f.mac1 = smac
            elif f.mac0 is None:
                f.mac0 = smac
        if dirn:
            f.pkts1 += 1
            f.bytes1 += wirelen
        else:
            f.pkts0 += 1
            f.bytes0 += wirelen
        f.last = ts
        if f.pkts0 + f.pkts1 <= FIRST_FRAMES:
            f.frames.append(frame)
        if fl & 2 and f.syn < 0 and proto == 6:
            f.syn = dirn if not fl & 0x10 else dirn ^ 1
        if frag is not None and not frag[1]:
            f.frags += 1
            continue
        if po >= pe or (f.decoder is None and (f.app is not None or f.tries <= 0)):
            continue
        payload = data[po:pe]
        if f.app is None:
            f.tries -= 1
            sp, dp = (f.port_b, f.port_a) if dirn else (f.port_a, f.port_b)
            app = detect(payload, proto, sp, dp)
            if app is None:
                continue
            f.app = app
            f.is_ics = app in ICS_APPS
            f.skip = CACHE_SKIP.get(app)
            f.decoder = DECODERS.get(app)
            if f.decoder is None:
                continue
            f.tries = IT_DECODE_TRIES
            if f.syn >= 0:
                f.client = f.syn
            elif dp in wk and sp not in wk:
                f.client = dirn
            elif sp in wk and dp not in wk:
                f.client = dirn ^ 1
            else:
                f.client = dirn
        from_client = dirn == f.client
        skip = f.skip
        if skip is not None:
            ckey = (f.app, from_client, payload[skip:])
            ops = cache.get(ckey)
            if ops is None:
                ops = f.decoder(payload, from_client, f.state)  # type: ignore[misc]
                if len(cache) > 65536:
                    cache.clear()
                cache[ckey] = ops
        else:
            ops = f.decoder(payload, from_client, f.state)  # type: ignore[misc]
        for op, detail in ops:
            f.ops[op] += 1
            if len(f.events) < MAX_EVENTS:
                f.events.append((frame, op, detail))
        if not f.is_ics:
            f.tries -= 1
            if f.tries <= 0:
                f.decoder = None
        if progress is not None:
            tick += 1
            if tick >= 65536:
                progress(d)
                tick = 0
    for reason, n in cap.problems.items():
        bad[reason] += n
    return _Scan(flows, npk, nbytes, bad, non_ip, cap.format)


def _merge(parts: Sequence[_Scan]) -> _Scan:
    """Join the scans of consecutive chunks of one file (flows spanning chunks are summed)."""
    if len(parts) == 1:
        return parts[0]
    merged = _Scan([], format=parts[0].format)
    index: dict[tuple[bytes, bytes, int, int, int], _FlowState] = {}
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
            g.first = min(g.first, f.first)
            g.frames = sorted(g.frames + f.frames)[:FIRST_FRAMES]
            g.mac0 = g.mac0 or f.mac0
            g.mac1 = g.mac1 or f.mac1
            if g.syn < 0:
                g.syn = f.syn
            if g.app is None and f.app is not None:
                g.app, g.client, g.is_ics = f.app, f.client, f.is_ics
            g.ops.update(f.ops)
            g.events = (g.events + f.events)[:MAX_EVENTS]
            for k, val in f.state.items():
                g.state.setdefault(k, val)
    return merged


def _mac(m: bytes | None) -> str | None:
    return ":".join(f"{x:02x}" for x in m) if m and len(m) == 6 else None


def _addr(version: int, raw: bytes) -> str:
    if version == 0:
        return _mac(raw) or raw.hex()
    return str(ipaddress.IPv4Address(raw) if version == 4 else ipaddress.IPv6Address(raw))


def _finish(path: str, f: _FlowState) -> Flow:
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
    order = {op: i for i, op in enumerate(OPERATIONS)}
    order_set = set(order)
    notes = sorted(str(n) for n in f.state.get("notes", ()))  # type: ignore[attr-defined]
    for k in ("sni", "host", "security_policy"):
        if k in f.state:
            notes.append(f"{k}={f.state[k]}")
    other = sum(n for op, n in f.ops.items() if op not in order_set)
    if other:
        notes.append(f"unclassified={other}")
    for k in ("exceptions", "malformed"):
        if f.state.get(k):
            notes.append(f"{k}={f.state[k]}")
    return Flow(
        capture=path, version=f.version, src=_addr(f.version, f.a), dst=_addr(f.version, f.b),
        proto=f.proto, sport=f.port_a, dport=f.port_b, packets_fwd=f.pkts0,
        packets_rev=f.pkts1, bytes_fwd=f.bytes0, bytes_rev=f.bytes1, first_seen=f.first,
        last_seen=f.last, app=f.app,
        operations=tuple(sorted(((k, n) for k, n in f.ops.items() if k in order_set),
                                key=lambda kv: order[kv[0]])),
        frames=tuple(f.frames), events=tuple(f.events), initiator_by=by,
        src_mac=_mac(f.mac0), dst_mac=_mac(f.mac1), fragments=f.frags, notes=tuple(notes))


def _summary(path: str, s: _Scan, n_flows: int, flows: Sequence[Flow]) -> CaptureSummary:
    return CaptureSummary(
        path=path, format=s.format, packets=s.packets, bytes=s.bytes, flows=n_flows,
        undecodable=tuple(sorted(s.bad.items())), non_ip=tuple(sorted(s.non_ip.items())),
        first_seen=min((f.first_seen for f in flows), default=None),
        last_seen=max((f.last_seen for f in flows), default=None))


Task = tuple[int, str, int | None, int | None, int]
"""(file index, path, start offset, stop offset, first frame number)."""


def _tasks(paths: Sequence[str], workers: int) -> list[Task]:
    tasks: list[Task] = []
    for i, p in enumerate(paths):
        with open_capture(p) as cap:
            if workers > 1 and cap.format == "pcap" and len(cap.data) > SPLIT_BYTES:
                for s, e, ff in pcap_split_points(cap, workers):
                    tasks.append((i, p, s, e, ff))
                continue
        tasks.append((i, p, None, None, 1))
    return tasks


def _scan_task(task: Task) -> _Scan:
    _, p, s, e, ff = task
    return scan(p, s, e, ff)


def extract_flows(paths: Sequence[str | os.PathLike[str]], workers: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> FlowsResult:
    """Flows of every capture in ``paths`` (CaptureError for a file that is no capture).

    ``workers`` processes are used when there is more than one task (several files, or a pcap
    over ``SPLIT_BYTES``); default: the CPU count. ``progress(done, total)`` is called with
    tasks completed (or bytes, in-process)."""
    spaths = [str(p) for p in paths]
    workers = max(1, workers or os.cpu_count() or 1)
    tasks = _tasks(spaths, workers)
    total = len(tasks)
    results: list[_Scan]
    if workers > 1 and total > 1:
        with ProcessPoolExecutor(max_workers=min(workers, total)) as pool:
            results = []
            for done, res in enumerate(pool.map(_scan_task, tasks), 1):
                results.append(res)
                if progress:
                    progress(done, total)
    else:
        results = []
        for done, t in enumerate(tasks, 1):
            size = os.path.getsize(t[1]) or 1
            cb = (lambda off, size=size: progress(off, size)) if progress else None
            results.append(scan(t[1], t[2], t[3], t[4], cb))
            if progress:
                progress(done, total)
    flows: list[Flow] = []
    summaries: list[CaptureSummary] = []
    for i, p in enumerate(spaths):
        merged = _merge([r for t, r in zip(tasks, results, strict=True) if t[0] == i])
        these = [_finish(p, f) for f in merged.flows]
        flows += these
        summaries.append(_summary(p, merged, len(these), these))
        if merged.bad:
            log.info("%s: %d undecodable frames: %s", p, sum(merged.bad.values()),
                     dict(merged.bad))
    return FlowsResult(tuple(flows), tuple(summaries))
