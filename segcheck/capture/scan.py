"""Flow accumulation state shared by the scans: the flow table, per-packet path, payload
inspection.

``Scanner`` owns one table per IP protocol (L2 flows: ``0x10000 | ethertype``) keyed by the
packed addresses and ports *of a packet's direction*; each flow is entered under both of its
directional keys with the direction (0 or 1) that key stands for, so a packet finds its flow
and direction with one dict lookup. Invariant: for every flow ``f`` the table holds
``key(f.a → f.b) -> (f, 0)`` and ``key(f.b → f.a) -> (f, 1)``; ``orient`` keeps it when a flow
is turned round because an earlier frame shows up later in processing order.

``Scanner.packet`` is the complete per-packet path (every link type, tunnels, fragments);
``vector.scan_vector`` handles the common Ethernet/IPv4/TCP-UDP shape in bulk and sends the
rest here. ``inspect`` recognises the application and counts ICS operations of one payload.
"""

from __future__ import annotations

import bisect
import mmap
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from segcheck.capture.apps import CACHE_KEY, DECODERS, ICS_APPS, Op, State, detect
from segcheck.capture.dissect import dissect
from segcheck.capture.tables import L2_ICS_ETHERTYPES, WELL_KNOWN_SERVER_PORTS

FIRST_FRAMES = 5
MAX_EVENTS = 16
"""Operation events (frame, operation, detail) kept per operation class and flow."""
DETECT_TRIES = 6
"""Payload packets a flow is inspected for before its application is left unknown."""
IT_DECODE_TRIES = 4
PORT_BYTES = tuple(i.to_bytes(2, "big") for i in range(65536))
Key = bytes
Table = dict[Key, tuple["FlowState", int]]


class FlowState:
    """Mutable accumulator of one flow inside a scan (direction 0 = the earliest frame's)."""

    __slots__ = ("a", "app", "b", "bytes0", "bytes1", "cache_key", "client", "decoder",
                 "events", "evn", "first", "first_frame", "flips", "frags", "frames", "is_ics",
                 "last", "mac0", "mac1", "macf0", "macf1", "ops", "pkts0", "pkts1", "port_a",
                 "port_b", "proto", "state", "syn", "synf", "tries", "version")

    def __init__(self, version: int, a: bytes, b: bytes, proto: int, pa: int, pb: int,
                 ts: float, frame: int) -> None:
        self.version, self.a, self.b, self.proto, self.port_a, self.port_b = (
            version, a, b, proto, pa, pb)
        self.pkts0 = self.pkts1 = self.bytes0 = self.bytes1 = self.frags = 0
        self.first = self.last = ts
        self.first_frame = frame
        self.flips = 0
        """How often the flow was turned round (lets queued directions be corrected)."""
        self.frames: list[int] = []
        self.syn = -1
        self.synf = 1 << 62
        """Frame of the earliest SYN or SYN-ACK; ``syn`` is the direction it implies."""
        """Direction that initiated the handshake (-1: no SYN or SYN-ACK seen)."""
        self.app: str | None = L2_ICS_ETHERTYPES.get(proto) if version == 0 else None
        self.decoder = DECODERS.get(self.app) if self.app else None
        self.is_ics = self.app in ICS_APPS
        self.cache_key: Callable[[bytes], bytes] | None = None
        self.client = 0
        self.tries = DETECT_TRIES
        self.ops: Counter[str] = Counter()
        self.events: list[tuple[int, str, str]] = []
        self.evn: dict[str, int] = {}
        """Events kept per operation class (at most ``MAX_EVENTS`` each)."""
        self.state: State = {}
        self.mac0: bytes | None = None
        self.mac1: bytes | None = None
        self.macf0 = self.macf1 = 1 << 62
        """Frames the MACs come from: each direction's MAC is its earliest frame's."""

    def see_mac(self, dirn: int, mac: bytes | None, frame: int) -> None:
        """Record ``mac`` as direction ``dirn``'s MAC if ``frame`` is its earliest so far."""
        if dirn:
            if frame < self.macf1:
                self.mac1, self.macf1 = mac, frame
        elif frame < self.macf0:
            self.mac0, self.macf0 = mac, frame

    def key(self) -> tuple[bytes, bytes, int, int, int]:
        return (self.a, self.b, self.proto, self.port_a, self.port_b)

    def flip(self) -> None:
        """Swap directions (merging chunks that saw the flow the other way, or ``orient``)."""
        self.a, self.b, self.port_a, self.port_b = self.b, self.a, self.port_b, self.port_a
        self.flips += 1
        self.pkts0, self.pkts1, self.bytes0, self.bytes1 = (
            self.pkts1, self.pkts0, self.bytes1, self.bytes0)
        self.mac0, self.mac1 = self.mac1, self.mac0
        self.macf0, self.macf1 = self.macf1, self.macf0
        if self.syn >= 0:
            self.syn ^= 1
        self.client ^= 1


@dataclass
class Scan:
    """The picklable result of scanning one file or one chunk of it."""

    flows: list[FlowState]
    packets: int = 0
    bytes: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    non_ip: Counter[str] = field(default_factory=Counter)
    format: str = ""


def _frame_of(event: tuple[int, str, str]) -> int:
    return event[0]


def add_event(ev: list[tuple[int, str, str]], evn: dict[str, int],
              event: tuple[int, str, str]) -> None:
    """Keep ``ev`` sorted by frame holding the earliest ``MAX_EVENTS`` events of each
    operation class (events can arrive out of frame order from the two scan paths)."""
    frame, op = event[0], event[1]
    n = evn.get(op, 0)
    in_order = not ev or frame >= ev[-1][0]
    if n < MAX_EVENTS:
        evn[op] = n + 1
        if in_order:
            ev.append(event)
        else:
            bisect.insort(ev, event, key=_frame_of)
    elif not in_order:
        latest = max(j for j, e in enumerate(ev) if e[1] == op)
        if frame < ev[latest][0]:
            del ev[latest]
            bisect.insort(ev, event, key=_frame_of)


Deferred = tuple[int, "FlowState", int, int, int, int, int, int, int]
"""(frame, flow, direction, flow's ``flips`` then, payload start, payload end, proto, source
port, destination port)."""


def _frame_of_item(item: Deferred) -> int:
    return item[0]


def partition(src: bytes, dst: bytes, proto: int, sp: int, dp: int, parts: int) -> int:
    """The worker (of ``parts``) that owns a flow: a function of its canonical key — the
    same as ``_pcapc``'s ``partition`` (lower (address, port) first; big-endian 32-bit
    words of the addresses, zero-padded; ports; protocol)."""
    if (src, sp) > (dst, dp):
        src, dst, sp, dp = dst, src, dp, sp
    pad = -len(src) % 4
    lo, hi = src + bytes(pad), dst + bytes(pad)
    s = 0
    for k in range(0, len(lo), 4):
        s += int.from_bytes(lo[k:k + 4], "big") + 3 * int.from_bytes(hi[k:k + 4], "big")
    s += sp * 65537 + dp * 31 + proto * 7919
    return (((s * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) >> 33) % parts


def reverse_key(key: Key) -> Key:
    alen = (len(key) - 4) // 2
    return key[alen:2 * alen] + key[:alen] + key[-2:] + key[-4:-2]


class Scanner:
    """One scan's flow table and counters (see the module docstring for the invariant)."""

    def __init__(self, data: mmap.mmap | bytes, part: tuple[int, int] | None = None) -> None:
        self.data = data
        self.part = part
        """(index, count): account only flows whose ``partition`` is ``index``; frames that
        belong to no flow (undecodable, non-IP) are counted by index 0 only."""
        self.counts_frames = part is None or part[0] == 0
        self.tables: dict[int, Table] = {6: {}, 17: {}}
        self.flows: list[FlowState] = []
        self.frag_ports: dict[tuple[bytes, bytes, int], tuple[int, int]] = {}
        self.bad: Counter[str] = Counter()
        self.non_ip: Counter[str] = Counter()
        self.cache: dict[tuple[str | None, bool, bytes], list[Op]] = {}
        self.packets = 0
        self.bytes = 0
        self.defer: list[Deferred] | None = None
        """When a list, payloads to inspect are queued here (see ``run_deferred``)."""
        self.tails: dict[int, tuple[FlowState, int, Callable[[], list[Deferred]]]] = {}
        """id(flow) -> (flow, first frame of its lazy tail, builder of the tail's items)."""

    def result(self, fmt: str) -> Scan:
        return Scan(self.flows, self.packets, self.bytes, self.bad, self.non_ip, fmt)

    def add_flow(self, table: Table, key: Key, f: FlowState) -> None:
        table[key] = (f, 0)
        rkey = reverse_key(key)
        if rkey != key:
            table[rkey] = (f, 1)
        self.flows.append(f)

    def orient(self, table: Table, key: Key, f: FlowState, dirn: int, frame: int,
               ts: float) -> int:
        """``frame`` (direction ``dirn``) precedes every frame ``f`` has seen: make it the
        flow's first frame and its direction 0; returns the frame's new direction (0)."""
        if dirn:
            f.flip()
            table[key] = (f, 0)
            rkey = reverse_key(key)
            if rkey != key:
                table[rkey] = (f, 1)
        f.first_frame = frame
        f.first = ts  # the first frame's time, as a scan in frame order has it
        return 0

    def packet(self, frame: int, lt: int, ts: float, d: int, end: int, wirelen: int) -> None:
        """Account one frame by the full per-packet path (counters are the caller's)."""
        r = dissect(self.data, d, end, lt)
        if isinstance(r, str):
            if not self.counts_frames:
                return
            if r[0] == "n":
                self.non_ip[r[7:]] += 1
            else:
                self.bad[r[4:]] += 1
            return
        v, src, dst, proto, sp, dp, fl, po, pe, frag, smac = r
        if frag is not None:
            fkey = (src, dst, frag[0])
            if frag[1]:
                if frag[2]:
                    if len(self.frag_ports) > 65536:
                        del self.frag_ports[next(iter(self.frag_ports))]
                    self.frag_ports[fkey] = (sp, dp)
            else:
                ports = self.frag_ports.get(fkey)
                if ports is None:
                    if self.counts_frames:
                        self.bad["IP fragment whose first fragment was not seen"] += 1
                    return
                sp, dp = ports
                if not frag[2]:
                    del self.frag_ports[fkey]
        if self.part is not None and partition(src, dst, proto | (0 if v else 0x10000), sp, dp,
                                               self.part[1]) != self.part[0]:
            return  # another worker's flow
        if v == 0:
            proto |= 0x10000
            key = src + dst + b"\0\0\0\0"
        else:
            key = src + dst + PORT_BYTES[sp] + PORT_BYTES[dp]
        table = self.tables.get(proto)
        if table is None:
            table = self.tables[proto] = {}
        hit = table.get(key)
        if hit is None:
            f = FlowState(v, src, dst, proto & 0xFFFF, sp, dp, ts, frame)
            self.add_flow(table, key, f)
            dirn = 0
        else:
            f, dirn = hit
            if frame < f.first_frame:
                dirn = self.orient(table, key, f, dirn, frame, ts)
        if dirn:
            f.pkts1 += 1
            f.bytes1 += wirelen
            if frame < f.macf1:
                f.mac1, f.macf1 = smac, frame
        else:
            f.pkts0 += 1
            f.bytes0 += wirelen
            if frame < f.macf0:
                f.mac0, f.macf0 = smac, frame
        if ts > f.last:
            f.last = ts
        fr = f.frames
        if not fr or frame > fr[-1]:
            if len(fr) < FIRST_FRAMES:
                fr.append(frame)
        else:  # met out of frame order (the bulk path went first): keep the earliest, sorted
            bisect.insort(fr, frame)
            if len(fr) > FIRST_FRAMES:
                fr.pop()
        if fl & 2 and proto == 6 and frame < f.synf:
            f.syn, f.synf = (dirn if not fl & 0x10 else dirn ^ 1), frame
        if frag is not None and not frag[1]:
            f.frags += 1
            return
        if po < pe:
            if self.defer is not None:
                self.defer.append((frame, f, dirn, f.flips, po, pe, proto, sp, dp))
            elif f.decoder is not None or (f.app is None and f.tries > 0):
                self.inspect(f, dirn, self.data[po:pe], frame, proto, sp, dp)

    def run_deferred(self) -> None:
        """Inspect the deferred payloads, each flow's in frame order (so application
        recognition sees them as the per-packet scan does), each in the flow's current
        direction. Flows are independent here (``inspect`` touches only its flow and a pure
        memo), so the order *across* flows does not matter. A flow may also have a lazy
        ``tail`` (its later bulk-path payloads, see ``vector``): it is built only if the flow
        still wants payloads when the tail's first frame comes up."""
        items, self.defer = self.defer or [], None
        tails, self.tails = self.tails, {}
        items.sort(key=_frame_of_item)
        if not tails:
            self._inspect_items(items)
            return
        per_flow: dict[int, list[Deferred]] = {}
        plain: list[Deferred] = []
        for it in items:
            if id(it[1]) in tails:
                per_flow.setdefault(id(it[1]), []).append(it)
            else:
                plain.append(it)
        self._inspect_items(plain)
        for key, (f, first, build) in tails.items():
            own = per_flow.get(key, [])
            head = [it for it in own if it[0] < first]
            self._inspect_items(head)
            if f.decoder is None and (f.app is not None or f.tries <= 0):
                continue  # done: nothing later can change it
            rest = [it for it in own if it[0] >= first] + build()
            rest.sort(key=_frame_of_item)
            self._inspect_items(rest)

    def _inspect_items(self, items: list[Deferred]) -> None:
        """``inspect`` each item; the common case — an ICS flow whose memoised decoder has
        seen this payload shape — is inlined (same effect as ``inspect``)."""
        data, inspect, cache = self.data, self.inspect, self.cache
        for frame, f, dirn, flips, po, pe, proto, sp, dp in items:
            if f.decoder is None:
                if f.app is not None or f.tries <= 0:
                    continue
            elif f.is_ics and f.cache_key is not None:
                d = dirn ^ ((f.flips - flips) & 1)
                payload = data[po:pe]
                ops = cache.get((f.app, d == f.client, f.cache_key(payload)))
                if ops is None:
                    inspect(f, d, payload, frame, proto, sp, dp)
                    continue
                fops, ev, evn = f.ops, f.events, f.evn
                for op, detail in ops:
                    fops[op] += 1
                    n = evn.get(op, 0)
                    if n < MAX_EVENTS and (not ev or frame >= ev[-1][0]):
                        evn[op] = n + 1
                        ev.append((frame, op, detail))
                    else:
                        add_event(ev, evn, (frame, op, detail))
                continue
            inspect(f, dirn ^ ((f.flips - flips) & 1), data[po:pe], frame, proto, sp, dp)

    def inspect(self, f: FlowState, dirn: int, payload: bytes, frame: int, proto: int,
                sp: int, dp: int) -> None:
        """Recognise the application (first payloads) and count the operations of one
        payload; ``sp``/``dp`` are the packet's own ports."""
        if f.app is None:
            f.tries -= 1
            app = detect(payload, proto, sp, dp)
            if app is None:
                return
            f.app = app
            f.is_ics = app in ICS_APPS
            f.cache_key = CACHE_KEY.get(app)
            f.decoder = DECODERS.get(app)
            if f.decoder is None:
                return
            f.tries = IT_DECODE_TRIES
            wk = WELL_KNOWN_SERVER_PORTS
            if f.syn >= 0 and f.synf < frame:
                f.client = f.syn
            elif dp in wk and sp not in wk:
                f.client = dirn
            elif sp in wk and dp not in wk:
                f.client = dirn ^ 1
            else:
                f.client = dirn
        decoder = f.decoder
        if decoder is None:
            return
        from_client = dirn == f.client
        keyf = f.cache_key
        if keyf is not None:
            ckey = (f.app, from_client, keyf(payload))
            ops = self.cache.get(ckey)
            if ops is None:
                ops = decoder(payload, from_client, f.state)
                if len(self.cache) > 65536:
                    self.cache.clear()
                self.cache[ckey] = ops
        else:
            ops = decoder(payload, from_client, f.state)
        for op, detail in ops:
            f.ops[op] += 1
            add_event(f.events, f.evn, (frame, op, detail))
        if not f.is_ics:
            f.tries -= 1
            if f.tries <= 0:
                f.decoder = None
