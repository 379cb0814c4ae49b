"""Exact sets of connection-initiating packets.

A ``PacketSet`` is a hash-consed interval decision diagram (``segcheck.engine.mdd``: the
representation, its invariants and complexity are documented there) over the canonical
packets of a ``Universe``: (ip version, protocol, dport, sport, ICMP type, ICMP code, dst,
src), where fields that do not apply to the protocol are 0 (``segcheck.model.packet``).

Semantics and invariants:

- Every set is a subset of the universe's canonical packets; ``~a`` is the complement
  *relative to them* (``universe - a``), never a set of impossible packets.
- IPv4 and IPv6 never mix: the version is the first level, a v4 ``Match`` yields no v6
  packet; a ``Match`` with ``family=None`` covers both.
- Equality is semantic and O(1): the diagram is canonical, so equal sets are the same node.
- Only ``new`` packets are modelled: a match whose ``states`` exclude ``new`` is empty.
- Sets of different universes never mix (``ValueError``).

Speed: with the native kernel on (``segcheck.engine.native``), ``&``, ``|``, ``-``, ``~``,
``<=`` and the field walks of ``to_matches`` run in C directly on the universe's Python
store, step for step like the Python code here (the same nodes, created in the same order);
``SEGCHECK_NATIVE=0`` runs the Python code, which stays the reference.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable

from segcheck.engine import mdd, native
from segcheck.engine.mdd import (
    AND,
    DIFF,
    DPORT,
    DST,
    FALSE,
    ICODE,
    ITYPE,
    OR,
    ORDER,
    PROTO,
    SPORT,
    SRC,
    TRUE,
    VERSION,
    XOR,
    Universe,
)
from segcheck.model import ranges as R
from segcheck.model.packet import (
    ICMP,
    ICMPV6,
    PORT_PROTOCOLS,
    Packet,
    icmp_protocol,
    protocol_name,
)
from segcheck.model.rules import Match, Rule

_PREFERRED = {VERSION: 0, PROTO: 6, DPORT: 0, SPORT: 49152, ITYPE: 8, ICODE: 0, DST: 0, SRC: 0}
"""Values ``sample`` prefers digit by digit: IPv4, TCP, an ephemeral source port, echo."""
_SUMMARY_PARTS = 4
_PORT_PROTOS = R.normalize((p, p) for p in PORT_PROTOCOLS)
_OTHER_PROTOS = {
    icmp: R.complement(R.normalize([*_PORT_PROTOS, (icmp, icmp)]), R.PROTO_MAX)
    for icmp in (ICMP, ICMPV6)
}
"""Protocol numbers that have neither ports nor the family's ICMP, by ICMP protocol."""
_SUMMARY_ITEMS = 4


class PacketSet:
    """An exact set of canonical ``new`` packets (see the module docstring)."""

    __slots__ = ("_node", "_u")

    def __init__(self, node: int, universe: Universe | None = None) -> None:
        self._u = universe or mdd.default_universe()
        self._node = node

    # -- constructors ---------------------------------------------------------------------

    @classmethod
    def empty(cls, universe: Universe | None = None) -> PacketSet:
        return cls(FALSE, universe)

    @classmethod
    def universe(cls, universe: Universe | None = None) -> PacketSet:
        u = universe or mdd.default_universe()
        return cls(u.canonical, u)

    @classmethod
    def from_match(cls, m: Match, universe: Universe | None = None) -> PacketSet:
        """The new packets ``m`` matches (interface conditions must already be resolved)."""
        u = universe or mdd.default_universe()
        return cls(match_node(u, m), u)

    @classmethod
    def from_matches(cls, ms: Iterable[Match], universe: Universe | None = None) -> PacketSet:
        u = universe or mdd.default_universe()
        return cls(u.union_all(match_node(u, m) for m in ms), u)

    @classmethod
    def from_rule(cls, rule: Rule, universe: Universe | None = None) -> PacketSet:
        """``union(matches) - union(excludes)``, new packets only."""
        u = universe or mdd.default_universe()
        return cls(rule_node(u, rule), u)

    # -- algebra --------------------------------------------------------------------------

    @property
    def node(self) -> int:
        """The diagram's root id (for engine internals)."""
        return self._node

    @property
    def universe_of(self) -> Universe:
        return self._u

    def _same(self, other: PacketSet) -> Universe:
        if self._u is not other._u:
            raise ValueError("packet sets of different universes")
        return self._u

    def __or__(self, other: PacketSet) -> PacketSet:
        u = self._same(other)
        return PacketSet(native.py_apply(u, OR, self._node, other._node), u)

    def __and__(self, other: PacketSet) -> PacketSet:
        u = self._same(other)
        return PacketSet(native.py_apply(u, AND, self._node, other._node), u)

    def __sub__(self, other: PacketSet) -> PacketSet:
        u = self._same(other)
        return PacketSet(native.py_apply(u, DIFF, self._node, other._node), u)

    def __xor__(self, other: PacketSet) -> PacketSet:
        u = self._same(other)
        return PacketSet(u.apply(XOR, self._node, other._node), u)

    def __invert__(self) -> PacketSet:
        return PacketSet(native.py_apply(self._u, DIFF, self._u.canonical, self._node),
                         self._u)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PacketSet):
            return NotImplemented
        return self._u is other._u and self._node == other._node

    def __hash__(self) -> int:
        return hash((id(self._u), self._node))

    def __le__(self, other: PacketSet) -> bool:
        """Subset."""
        u = self._same(other)
        return native.py_apply(u, DIFF, self._node, other._node) == FALSE

    def is_empty(self) -> bool:
        return self._node == FALSE

    def __bool__(self) -> bool:
        return self._node != FALSE

    def isdisjoint(self, other: PacketSet) -> bool:
        return (self & other).is_empty()

    def contains(self, p: Packet) -> bool:
        if not self._u.in_range(p):
            return False
        return self._u.lookup(self._node, p) == TRUE

    def __contains__(self, p: Packet) -> bool:
        return self.contains(p)

    def node_count(self, cap: int | None = None) -> int:
        """Internal nodes of the diagram (``min(count, cap)`` with ``cap``: see ``Store.count``)."""
        return self._u.store.count(self._node, cap)

    # -- witnesses and descriptions -------------------------------------------------------

    def sample(self) -> Packet | None:
        """A deterministic witness (None when empty), preferring typical values: IPv4, TCP,
        an ephemeral source port, the lowest destination port, host addresses."""
        if self._node == FALSE:
            return None
        u = self._u
        store = u.store
        node = self._node
        fam = 4
        chosen: dict[int, int] = {}
        while node >= 0:
            lv = store.level[node]
            f = u.field_of_level(lv)
            width, shift = (1, 0) if f == VERSION else u.digit_at(fam, lv)[1:]
            want = (_PREFERRED[f] >> shift) & ((1 << width) - 1)
            breaks, kids = store.breaks[node], store.kids[node]
            k = kids[bisect_right(breaks, want)]  # the interval holding the preferred value
            if k != FALSE:
                pick = (want, k)
            else:  # else the lowest value of the first non-empty interval
                i = next(i for i, k in enumerate(kids) if k != FALSE)
                pick = (breaks[i - 1] if i else 0, kids[i])
            chosen[lv] = pick[0]
            if f == VERSION:
                fam = 4 if pick[0] == 0 else 6
            node = pick[1]
        vals: list[int] = []
        for f in range(len(mdd.FIELDS)):
            v = 0
            for lv, width, shift in u.digits(f, fam):
                d = chosen.get(lv, (_PREFERRED[f] >> shift) & ((1 << width) - 1))
                v |= d << shift
            vals.append(v)
        if vals[PROTO] not in PORT_PROTOCOLS:  # fields that do not apply are 0
            vals[SPORT] = vals[DPORT] = 0
        if vals[PROTO] != icmp_protocol(fam):
            vals[ITYPE] = vals[ICODE] = 0
        p = _packet(fam, vals)
        for f in (DST, SRC):  # prefer a host address over the network address
            if vals[f] & 1 == 0 and vals[f] < u.maximum(f, fam):
                alt = list(vals)
                alt[f] += 1
                q = _packet(fam, alt)
                if q is not None and self.contains(q):
                    vals = alt
                    p = q
        assert p is not None, "sample() built an invalid packet"
        assert self.contains(p), "sample() left its set"
        return p

    def to_matches(self) -> list[Match]:
        """An exact cover of the set as ``Match`` boxes (for reports; not minimal)."""
        return _to_matches(self._u, self._node)

    def protocols_and_ports(self) -> list[tuple[int, R.Ranges]]:
        """Each protocol with packets in the set and the union of their destination ports
        (``()`` for protocols without ports)."""
        everything = R.single(0, (1 << self._u.port_bits) - 1)
        out: dict[int, R.Ranges] = {}
        for m in self.to_matches():
            protos = m.protocols or R.normalize((p, p) for p in self._u.protocol_list())
            for lo, hi in protos:
                for proto in range(lo, hi + 1):
                    ports = (m.dports or everything) if proto in PORT_PROTOCOLS else ()
                    out[proto] = R.normalize(out.get(proto, ()) + ports)
        return sorted(out.items())

    def summary(self) -> str:
        """A short human description: "tcp/502,3389 from 10.10.0.0/16 to 10.40.1.0/24"."""
        if self._node == FALSE:
            return "nothing"
        if self._node == self._u.canonical:
            return "any"
        parts = [describe_match(m, self._u) for m in self.to_matches()]
        text = "; ".join(parts[:_SUMMARY_PARTS])
        if len(parts) > _SUMMARY_PARTS:
            text += f"; (+{len(parts) - _SUMMARY_PARTS} more)"
        return text

    def __repr__(self) -> str:
        return f"PacketSet({self.summary()})"


# -- building nodes -------------------------------------------------------------------------


def match_node(u: Universe, m: Match) -> int:
    """The diagram of the new packets a match covers (interface conditions not allowed)."""
    cached = u.match_cache.get(m)
    if cached is not None:
        return cached
    node = _match_node(u, m)
    u.match_cache[m] = node
    return node


def _match_node(u: Universe, m: Match) -> int:
    if m.in_iface or m.out_iface:
        raise ValueError("interface conditions must be resolved (Filter.specialize) first")
    if not m.matches_new() or m.is_empty:
        return FALSE
    cons = {
        f: value
        for f, value in (
            (PROTO, m.protocols), (DPORT, m.dports), (SPORT, m.sports), (ITYPE, m.icmp_types),
            (ICODE, m.icmp_codes), (DST, m.dst), (SRC, m.src),
        )
        if value is not None
    }
    out = u.box(m.family, cons)
    return out if u.protocols is None else u.apply(AND, out, u.canonical)


def rule_node(u: Universe, rule: Rule) -> int:
    pos = u.union_all(match_node(u, m) for m in rule.matches)
    if pos == FALSE or not rule.excludes:
        return pos
    return u.apply(DIFF, pos, u.union_all(match_node(u, m) for m in rule.excludes))


def _packet(fam: int, vals: list[int]) -> Packet | None:
    try:
        return Packet(fam, vals[SRC], vals[DST], vals[PROTO], vals[SPORT], vals[DPORT],
                      vals[ITYPE], vals[ICODE])
    except ValueError:
        return None


# -- reading diagrams field by field --------------------------------------------------------


def _partition(u: Universe, node: int, f: int, fam: int) -> list[tuple[int, int, int]]:
    """Field ``f``'s values as maximal intervals, each with the node below the field."""
    digits = u.digits(f, fam)
    out: list[tuple[int, int, int]] = []
    _partition_walk(u.store, digits, digits[-1][0], out, node, 0, 0)
    merged: list[tuple[int, int, int]] = []
    for lo, hi, k in out:
        if merged and merged[-1][2] == k and merged[-1][1] + 1 == lo:
            merged[-1] = (merged[-1][0], hi, k)
        else:
            merged.append((lo, hi, k))
    return merged


def _partition_walk(
    store: mdd.Store, digits: tuple[mdd.Digit, ...], end_level: int,
    out: list[tuple[int, int, int]], n: int, idx: int, base: int,
) -> None:
    """``_partition``'s walk from node ``n`` at digit ``idx`` (value bits so far: ``base``).
    A module function, not a closure: a recursive closure is a reference cycle per call."""
    if idx == len(digits) or store.lvl(n) > end_level:
        span = 0 if idx == len(digits) else (1 << (digits[idx][1] + digits[idx][2])) - 1
        out.append((base, base + span, n))
        return
    lv, width, shift = digits[idx]
    if store.level[n] != lv:  # this digit is skipped: every value leads to n
        for d in range(1 << width):
            _partition_walk(store, digits, end_level, out, n, idx + 1, base | (d << shift))
        return
    breaks, kids = store.breaks[n], store.kids[n]
    for i, k in enumerate(kids):
        lo = 0 if i == 0 else breaks[i - 1]
        hi = breaks[i] - 1 if i < len(breaks) else (1 << width) - 1
        if idx + 1 == len(digits) or store.lvl(k) > end_level:
            out.append((base | (lo << shift), base | (hi << shift) | ((1 << shift) - 1), k))
        else:
            for d in range(lo, hi + 1):
                _partition_walk(store, digits, end_level, out, k, idx + 1, base | (d << shift))


def _follow(u: Universe, node: int, f: int, fam: int, value: int) -> int:
    """The node below field ``f`` on the path where the field equals ``value``."""
    from bisect import bisect_right

    store = u.store
    for lv, width, shift in u.digits(f, fam):
        if node >= 0 and store.level[node] == lv:
            d = (value >> shift) & ((1 << width) - 1)
            node = store.kids[node][bisect_right(store.breaks[node], d)]
    return node


def _groups_py(u: Universe, node: int, f: int, fam: int) -> list[tuple[R.Ranges, int]]:
    """Field ``f``'s partition grouped by the node below: (ranges, node), FALSE dropped, in
    order of first appearance (the reference; ``native.py_groups`` computes the same in C for
    fields of at most ``native.GROUPS_MAX_BITS`` bits, see ``_Rows.group``)."""
    by: dict[int, list[tuple[int, int]]] = {}
    for lo, hi, k in _partition(u, node, f, fam):
        if k != FALSE:
            by.setdefault(k, []).append((lo, hi))
    return [(R.normalize(v), k) for k, v in by.items()]


Row = tuple[R.Ranges | None, ...]
"""Field constraints of one diagram path below the protocol: per field that applies to the
protocol class, in level order, its ranges or ``None`` for the whole field (``_KIND_FIELDS``
names them)."""
_KIND_FIELDS = {
    "ports": ("dst", "dports", "src", "sports"),
    "icmp": ("dst", "src", "icmp_types", "icmp_codes"),
    "other": ("dst", "src"),
}
"""The ``Match`` fields of a protocol class's rows, in level order (``ORDER``)."""
_REST = ("src", "dst", "sports", "dports", "icmp_types", "icmp_codes")
_REST_OF = {kind: tuple(names.index(n) if n in names else None for n in _REST)
            for kind, names in _KIND_FIELDS.items()}
"""Per class: where each ``_REST`` field sits in its rows (None: the field does not apply)."""


def _applies(f: int, kind: str) -> bool:
    """Whether field ``f`` applies to packets of a protocol class (fields that do not are 0)."""
    return f in (DST, SRC) or (kind == "ports" if f in (DPORT, SPORT) else kind == "icmp")


class _Rows:
    """The constraint rows of the paths from a node to ``TRUE`` (``_to_matches``), memoised.

    Sub-diagrams are shared by hash-consing, so the rows below a node are computed once per
    (node, field position, family, protocol class) and reused: the cost is the number of
    distinct nodes plus the size of the output, not the number of paths leading into a
    shared node times its partition work. Rows come out in depth-first order of the field
    partitions (the order a breadth-first expansion gives too).
    """

    FIELDS = ORDER[2:]  # level order below the protocol

    def __init__(self, u: Universe) -> None:
        self.u = u
        self.memo: dict[tuple[int, int, int, str], list[Row]] = {}
        self.groups: dict[tuple[int, int, int], list[tuple[R.Ranges, int]]] = {}
        self.native = native.enabled()
        self.digits: dict[tuple[int, int], tuple[mdd.Digit, ...] | None] = {}
        """(field, family) -> its digits when ``native.py_groups`` reads it, else None."""

    def group(self, n: int, f: int, fam: int) -> list[tuple[R.Ranges, int]]:
        """``_groups_py(u, n, f, fam)``, in C when the kernel is on and the field fits it (the
        decision taken once per field)."""
        key = (f, fam)
        if key not in self.digits:
            fast = self.native and self.u.bits(f, fam) <= native.GROUPS_MAX_BITS
            self.digits[key] = self.u.digits(f, fam) if fast else None
        digits = self.digits[key]
        if digits is None:
            return _groups_py(self.u, n, f, fam)
        return native.py_groups(self.u, n, digits)

    def below_all(self, fam: int, items: list[tuple[str, int]]) -> list[list[Row]]:
        """``below(pnode, 0, fam, kind)`` for each (kind, pnode): per protocol class in one
        ``native.py_rows`` call when the kernel is on and the class's fields fit it (IPv4;
        IPv6 addresses stay in Python), else ``below``."""
        got: dict[tuple[str, int], list[Row]] = {}
        for kind in dict.fromkeys(k for k, _ in items):
            pnodes = list(dict.fromkeys(n for k, n in items if k == kind))
            spec = self.spec(fam, kind)
            if spec is None:
                got.update(((kind, n), self.below(n, 0, fam, kind)) for n in pnodes)
            else:
                got.update(zip(((kind, n) for n in pnodes),
                               native.py_rows(self.u, spec, pnodes), strict=True))
        return [got[item] for item in items]

    def spec(self, fam: int, kind: str) -> tuple[tuple[bool, tuple[mdd.Digit, ...]], ...] | None:
        """``native.py_rows``' field list for a family and class (None: use ``below``)."""
        if not self.native:
            return None
        spec = tuple((_applies(f, kind), self.u.digits(f, fam)) for f in self.FIELDS)
        if any(self.u.bits(f, fam) > native.GROUPS_MAX_BITS for f in self.FIELDS):
            return None
        return spec

    def below(self, n: int, j: int, fam: int, kind: str) -> list[Row]:
        """Rows of ``n``'s paths from field position ``j`` on; ``kind`` is the protocol
        class ("ports", "icmp", "other"), which decides the fields that apply."""
        if n == FALSE:
            return []
        if j == len(self.FIELDS):
            return [()] if n == TRUE else []
        key = (n, j, fam, kind)
        got = self.memo.get(key)
        if got is not None:
            return got
        f = self.FIELDS[j]
        out: list[Row] = []
        if not _applies(f, kind):
            out = self.below(_follow(self.u, n, f, fam, 0), j + 1, fam, kind)
        else:
            whole = ((0, self.u.maximum(f, fam)),)
            gkey = (n, f, fam)
            groups = self.groups.get(gkey)
            if groups is None:
                groups = self.groups[gkey] = self.group(n, f, fam)
            for rs, k in groups:
                head = None if rs == whole else rs
                out.extend((head, *tail) for tail in self.below(k, j + 1, fam, kind))
        self.memo[key] = out
        return out


def _to_matches(u: Universe, root: int) -> list[Match]:
    """Every root-to-``TRUE`` path as a box (``_Rows``), then merged (``_merge_matches``)."""
    return [Match(**row) for row in cover_rows(u, root)]  # type: ignore[arg-type]


def cover_rows(u: Universe, root: int) -> list[dict[str, object]]:
    """``to_matches``' boxes, in its order, as ``Match`` keyword dicts (family, src, dst,
    sports, dports, icmp_types, icmp_codes, protocols), for callers that read only some
    fields of most boxes (building a ``Match`` validates every field)."""
    rows = _Rows(u)
    # rows that differ only in protocol are joined: (family, *_REST fields) -> protocols
    by_rest: dict[tuple[object, ...], R.Ranges] = {}
    for fam in (4, 6):
        top = _follow(u, root, VERSION, fam, 0 if fam == 4 else 1)
        if top == FALSE:
            continue
        icmp = ICMP if fam == 4 else ICMPV6
        plan: list[tuple[str, R.Ranges, int]] = []
        for protos, pnode in rows.group(top, PROTO, fam):
            classes = (  # protos split by class (normalized: intersections of normalized)
                ("ports", R.intersect(protos, _PORT_PROTOS)),
                ("icmp", R.intersect(protos, R.single(icmp))),
                ("other", R.intersect(protos, _OTHER_PROTOS[icmp])),
            )
            # pnode is the same for every protocol of the group, so any of them works
            plan.extend((kind, ps, pnode) for kind, ps in classes if ps)
        found = rows.below_all(fam, [(kind, pnode) for kind, _, pnode in plan])
        for (kind, ps, _), below in zip(plan, found, strict=True):
            at = _REST_OF[kind]
            for row in below:
                k = (fam, *[None if i is None else row[i] for i in at])
                got = by_rest.get(k)  # ps is normalized: the first one needs no merge
                by_rest[k] = ps if got is None else R.normalize(got + ps)
    return _merge_rows(u, by_rest)


def _merge_rows(u: Universe, by_rest: dict[tuple[object, ...], R.Ranges],
                ) -> list[dict[str, object]]:
    """The boxes of rows joined by protocol (``by_rest``: (family, *_REST) -> protocols),
    then boxes that differ only in family joined into one box of both."""
    keys = ("family", *_REST)
    all_protos = R.normalize((p, p) for p in u.protocol_list())
    by_family: dict[tuple[object, ...], list[dict[str, object]]] = {}
    for k, protos in by_rest.items():
        row: dict[str, object] = dict(zip(keys, k, strict=True))
        row["protocols"] = p = None if protos == all_protos else protos
        by_family.setdefault((*k[1:], p), []).append(row)
    out: list[dict[str, object]] = []
    for group in by_family.values():
        both = {row["family"] for row in group} == {4, 6}
        plain = group[0]["src"] is None and group[0]["dst"] is None
        plain = plain and group[0]["icmp_types"] is None and group[0]["icmp_codes"] is None
        if both and plain:
            group = [{**group[0], "family": None}]
        out.extend(group)
    return out


# -- human descriptions ---------------------------------------------------------------------


def _list(items: list[str]) -> str:
    if len(items) > _SUMMARY_ITEMS:
        return ",".join(items[:_SUMMARY_ITEMS]) + f",…(+{len(items) - _SUMMARY_ITEMS})"
    return ",".join(items)


def _ports(rs: R.Ranges) -> str:
    return _list([str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in rs])


def _addresses(rs: R.Ranges | None, family: int | None, u: Universe) -> str:
    real = (u.v4_bits, u.v6_bits) == (32, 128)
    if rs is None:
        if family is None:
            return "any"
        if real:
            return "0.0.0.0/0" if family == 4 else "::/0"
        return f"any{family}"
    if real:
        nets = R.to_networks(rs, family or 4)
        return _list([str(n) for n in nets])
    return _list([str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in rs])


def describe_match(m: Match, u: Universe | None = None) -> str:
    """One match as "tcp/502 from 10.0.0.0/8 to 10.40.1.0/24" (interfaces not shown)."""
    u = u or mdd.default_universe()
    if m.protocols is None:
        service = "any"
    else:
        names = [protocol_name(p) for lo, hi in m.protocols for p in range(lo, hi + 1)]
        service = _list(names)
        if m.dports is not None:
            service += "/" + _ports(m.dports)
        if m.sports is not None:
            service += f" sport {_ports(m.sports)}"
        if m.icmp_types is not None:
            service += f" type {_ports(m.icmp_types)}"
        if m.icmp_codes is not None:
            service += f" code {_ports(m.icmp_codes)}"
    src = _addresses(m.src, m.family, u)
    dst = _addresses(m.dst, m.family, u)
    text = service
    if m.src is not None or m.dst is not None or m.family is not None:
        text += f" from {src} to {dst}"
    return text


def network_text(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    return str(net)


__all__ = ["PacketSet", "cover_rows", "describe_match", "icmp_protocol", "match_node",
           "rule_node"]
