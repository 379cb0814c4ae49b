"""Hash-consed multi-valued interval decision diagrams over packet header digits.

This is the representation under ``PacketSet`` and the first-match classifiers.

Representation
--------------
A packet is a vector of *fields* (``FIELDS``), laid out top to bottom in ``ORDER``: version,
protocol, dst, dport, src, sport, ICMP type, ICMP code. Each field is split into *digits*
of at most ``Universe.digit_bits`` bits, most significant first, and every digit is one
*level* of the diagram. An internal node at level ``l`` is a partition of that digit's value
range into maximal intervals: ``breaks`` (the sorted start values of every interval but the
first, all ``> 0``) and ``kids`` (one child per interval, ``len(kids) == len(breaks) + 1``).
Terminals are negative ints: ``FALSE``, ``TRUE``, ``UNDECIDED`` and one leaf per rule
(``rule_leaf(i)``) for classification diagrams.

Invariants (established by ``Store.mk`` and the constructors, relied on everywhere):

- *reduced*: adjacent kids differ, so a node has at least two kids; a level a path skips
  means "any value of that digit";
- *hash-consed*: one id per (level, breaks, kids), so two diagrams denote the same function
  iff they are the same id — equality is ``==`` on ints, ``is_empty`` is ``== FALSE``;
- *canonical packets*: a diagram is constant along every field that does not apply to the
  protocol on its path (ports outside tcp/udp/sctp/dccp/udplite, ICMP type/code outside the
  family's ICMP), so diagrams and sets of canonical packets correspond one-to-one (such a
  packet has 0 there). Boxes of valid ``Match``es have this property (a port constraint
  implies port protocols) and pointwise operations keep it; the universe is ``TRUE``
  (or a protocol subset), so these levels cost nothing on the paths of typical rules;
- *in range*: no break exceeds the digit's maximum (constructors never emit a break at
  ``max + 1``), so no invisible interval breaks canonicity;
- *families apart*: the version level comes first, so IPv4 and IPv6 sub-diagrams never meet.
  An IPv4 address uses the *last* ``ceil(v4_bits / digit_bits)`` levels of the address
  block; the higher levels never occur in IPv4 sub-diagrams.

Why this and not the alternatives (DESIGN.md §7): a bit-level BDD pays one level per address
bit and needs CUDD to be fast; flat interval nodes (one level per field) make every update of
a wide node cost its width (10^5 intervals at 10^5 rules). Digits bound the width of a node by
``2**digit_bits`` while keeping the depth ~8x below a BDD's, and prefixes align with digits.

Complexity: ``apply`` is O(product of the operands' node counts) worst case, in practice the
size of the region where both operands are non-trivial (memoised per call); a box has O(depth)
nodes; membership is O(depth · log width). A store only grows: long constructions run in a
``Workspace`` (a private universe, compacted by copying the live roots when garbage
dominates) and copy only their results into the shared universe.

Measured (``benchmarks/engine.py``, 2 shared cores, load ~3-4; realistic random ACLs), on
these pure-Python passes: 1k rules permitted 0.13 s, analysis 0.29 s; 10k rules ~3.3 s and
~6.6 s — faster than a CUDD BDD on the same ACLs (which needs ~66 s at 10k), but above the
1 s target: every rule that is "any" in a field and specific below it visits all of that
field's branches (1% any-destination rules cost most of the time), at Python speed per
node. The optional native kernel (``segcheck.engine.native``) keeps this representation
and these invariants and builds the same nodes; its numbers are in the benchmark note.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from segcheck.gcpause import unlink
from segcheck.model import ranges as R
from segcheck.model.packet import Packet

FALSE, TRUE, UNDECIDED = -1, -2, -3
"""Terminal node ids (terminals are negative)."""
LEAF = 1 << 30
"""The level of terminals: below every real level."""

VERSION, PROTO, DPORT, SPORT, ITYPE, ICODE, DST, SRC = range(8)
FIELDS = ("version", "proto", "dport", "sport", "icmp_type", "icmp_code", "dst", "src")
"""Field names by field index (the order of ``Universe.values``)."""
ORDER = (VERSION, PROTO, DST, DPORT, SRC, SPORT, ITYPE, ICODE)
"""Level order of the fields, top first. Measured on the benchmark ACLs (10k rules): rules
that are "any" in a field but specific below it fan out over that field's branches, so
fields that rules leave open most often (source 30%, destination port 12%) go low and the
protocol high; this order painted 4x faster than ports-first and 8x faster than
addresses-first."""

Digit = tuple[int, int, int]
"""(level, width in bits, shift): digit value = (field value >> shift) & (2**width - 1)."""


def rule_leaf(index: int) -> int:
    """The terminal that stands for "rule ``index`` decides" in classification diagrams."""
    return -4 - index


def leaf_rule(terminal: int) -> int:
    """Inverse of ``rule_leaf``."""
    return -4 - terminal


class Store:
    """The unique table: node id -> (level, breaks, kids) and back.

    ``und[n]`` caches whether node ``n`` reaches the ``UNDECIDED`` terminal (``undecided``),
    so the first-match construction skips regions that are already decided.
    """

    __slots__ = ("breaks", "kids", "level", "und", "unique")

    def __init__(self) -> None:
        self.level: list[int] = []
        self.breaks: list[tuple[int, ...]] = []
        self.kids: list[tuple[int, ...]] = []
        self.und: list[bool | None] = []
        self.unique: dict[tuple[int, tuple[int, ...], tuple[int, ...]], int] = {}

    def __len__(self) -> int:
        return len(self.level)

    def mk(self, level: int, breaks: Sequence[int], kids: Sequence[int]) -> int:
        """The reduced, hash-consed node for this partition (merges equal neighbours)."""
        first = kids[0]
        if len(kids) == 1:
            return first
        nb: list[int] = []
        nk = [first]
        last = first
        for i in range(1, len(kids)):
            k = kids[i]
            if k != last:
                nb.append(breaks[i - 1])
                nk.append(k)
                last = k
        return self.mk_reduced(level, nb, nk)

    def mk_reduced(self, level: int, breaks: list[int], kids: list[int]) -> int:
        """``mk`` for a partition already reduced (adjacent kids differ)."""
        if len(kids) == 1:
            return kids[0]
        key = (level, tuple(breaks), tuple(kids))
        node = self.unique.get(key)
        if node is None:
            node = len(self.level)
            self.level.append(level)
            self.breaks.append(key[1])
            self.kids.append(key[2])
            self.und.append(None)
            self.unique[key] = node
        return node

    def undecided(self, n: int) -> bool:
        """Whether node ``n`` reaches the ``UNDECIDED`` terminal (computed once, lazily)."""
        if n < 0:
            return n == UNDECIDED
        got = self.und[n]
        if got is None:
            got = any(k == UNDECIDED or (k >= 0 and self.undecided(k)) for k in self.kids[n])
            self.und[n] = got
        return got

    def lvl(self, n: int) -> int:
        return LEAF if n < 0 else self.level[n]

    def count(self, root: int, cap: int | None = None) -> int:
        """Number of internal nodes reachable from ``root``; with ``cap``, the walk stops once
        it has seen ``cap`` of them (the answer is then ``min(count, cap)``: "is it small?"
        costs at most ``cap`` visits)."""
        seen: set[int] = set()
        todo = [root]
        while todo:
            n = todo.pop()
            if n < 0 or n in seen:
                continue
            seen.add(n)
            if len(seen) == cap:
                break
            todo.extend(self.kids[n])
        return len(seen)


def _merge(
    ba: tuple[int, ...], ka: tuple[int, ...], bb: tuple[int, ...], kb: tuple[int, ...]
) -> tuple[list[int], list[tuple[int, int]]]:
    """Overlay two partitions of one level: the joint breaks and each interval's kid pair."""
    out_b: list[int] = []
    pairs = [(ka[0], kb[0])]
    i = j = 0
    na, nb = len(ba), len(bb)
    while i < na or j < nb:
        x = ba[i] if i < na else LEAF
        y = bb[j] if j < nb else LEAF
        if x < y:
            out_b.append(x)
            i += 1
        elif y < x:
            out_b.append(y)
            j += 1
        else:
            out_b.append(x)
            i += 1
            j += 1
        pairs.append((ka[i], kb[j]))
    return out_b, pairs


def splice(
    bc: tuple[int, ...],
    kc: tuple[int, ...],
    bm: tuple[int, ...],
    km: tuple[int, ...],
    fn: Callable[[int, int], int],
    ident: int | None,
    const_in: int | None = None,
    const_out: int = FALSE,
) -> tuple[list[int], list[int]]:
    """Overlay partition ``c`` with a (usually narrow) partition ``m`` of the same level.

    Where ``m``'s kid is ``ident`` the result keeps ``c``'s kids (copied by slices, found by
    bisection: no per-interval Python work); where it is ``const_in`` the result is
    ``const_out``; elsewhere each overlapping ``c`` kid ``x`` becomes ``fn(x, m_kid)``.
    The result is reduced (no two adjacent kids equal) and ready for ``Store.mk_reduced``.
    """
    ob: list[int] = []
    ok: list[int] = []
    nm = len(km)
    nc = len(kc)
    for j in range(nm):
        lo = bm[j - 1] if j else 0
        x = km[j]
        i = bisect_right(bc, lo)
        iend = bisect_left(bc, bm[j]) + 1 if j < nm - 1 else nc
        if x == ident:
            k0 = kc[i]
            if not ok:
                ok.append(k0)
            elif ok[-1] != k0:
                ob.append(lo)
                ok.append(k0)
            if iend > i + 1:
                ob.extend(bc[i:iend - 1])
                ok.extend(kc[i + 1:iend])
        elif x == const_in:
            if not ok:
                ok.append(const_out)
            elif ok[-1] != const_out:
                ob.append(lo)
                ok.append(const_out)
        else:
            r = fn(kc[i], x)
            if not ok:
                ok.append(r)
            elif ok[-1] != r:
                ob.append(lo)
                ok.append(r)
            for k in range(i + 1, iend):
                r = fn(kc[k], x)
                if ok[-1] != r:
                    ob.append(bc[k - 1])
                    ok.append(r)
    return ob, ok


Terminal2 = Callable[[int, int], int | None]


def _and(a: int, b: int) -> int | None:
    if a == FALSE or b == FALSE:
        return FALSE
    if a in (TRUE, b):
        return b
    if b == TRUE:
        return a
    return None


def _or(a: int, b: int) -> int | None:
    if a == TRUE or b == TRUE:
        return TRUE
    if a in (FALSE, b):
        return b
    if b == FALSE:
        return a
    return None


def _diff(a: int, b: int) -> int | None:
    if a in (FALSE, b) or b == TRUE:
        return FALSE
    if b == FALSE:
        return a
    if a == TRUE and b < 0:
        return TRUE if b == FALSE else FALSE
    return None


def _xor(a: int, b: int) -> int | None:
    if a == b:
        return FALSE
    if a == FALSE:
        return b
    if b == FALSE:
        return a
    if a == TRUE and b == TRUE:
        return FALSE
    return None


AND, OR, DIFF, XOR = _and, _or, _diff, _xor

_Sparse = tuple[int | None, int | None, int]
_SPARSE: dict[Terminal2, tuple[_Sparse | None, _Sparse | None]] = {
    # op: (when the narrow operand is a, when it is b) as (identity, const_in, const_out)
    _and: ((TRUE, FALSE, FALSE), (TRUE, FALSE, FALSE)),
    _or: ((FALSE, TRUE, TRUE), (FALSE, TRUE, TRUE)),
    _diff: ((None, FALSE, FALSE), (FALSE, TRUE, FALSE)),
    _xor: ((FALSE, None, FALSE), (FALSE, None, FALSE)),
}
"""How each operation treats a terminal kid of its narrower operand (see ``splice``)."""


@dataclass(frozen=True, eq=False)
class Universe:
    """The packet space: field widths, the protocols that exist, and the node store.

    The default universe is the real one (32/128-bit addresses, 16-bit ports, protocols
    0..255). Tests use tiny ones (2-bit addresses, 3-bit ports, a few protocols) so every
    packet can be enumerated; the code paths are the same. Obtain universes through
    ``universe(...)`` so equal parameters share one store (sets of different universes
    never mix).
    """

    v4_bits: int = 32
    v6_bits: int = 128
    port_bits: int = 16
    icmp_bits: int = 8
    protocols: tuple[int, ...] | None = None
    """The protocol numbers that exist (``None``: all of 0..255)."""
    digit_bits: int = 8
    store: Store = field(default_factory=Store, repr=False, compare=False)
    _digits: dict[tuple[int, int], tuple[Digit, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _field_of_level: list[int] = field(default_factory=list, repr=False, compare=False)
    _digit_at: dict[tuple[int, int], Digit] = field(default_factory=dict, repr=False,
                                                    compare=False)
    _canonical: list[int] = field(default_factory=list, repr=False, compare=False)
    match_cache: dict[object, int] = field(default_factory=dict, repr=False, compare=False)
    """Match -> node (a memo: nodes are immutable and live as long as the store)."""

    def __post_init__(self) -> None:
        if not (1 <= self.digit_bits <= 16):
            raise ValueError("digit_bits must be within 1..16")
        level = 0
        for f in ORDER:
            per_family = {4: self.bits(f, 4), 6: self.bits(f, 6)}
            span = max(-(-b // self.digit_bits) for b in per_family.values())
            for fam, bits in per_family.items():
                n = -(-bits // self.digit_bits)
                digits: list[Digit] = []
                rest = bits
                for d in range(n):
                    width = rest - self.digit_bits * (n - d - 1)
                    rest -= width
                    digits.append((level + span - n + d, width, rest))
                self._digits[(f, fam)] = tuple(digits)
            self._field_of_level.extend([f] * span)
            level += span
        self._canonical.append(self._build_canonical())

    # -- layout ---------------------------------------------------------------------------

    def bits(self, f: int, family: int) -> int:
        if f == VERSION:
            return 1
        if f == PROTO:
            return 8
        if f in (DPORT, SPORT):
            return self.port_bits
        if f in (ITYPE, ICODE):
            return self.icmp_bits
        return self.v4_bits if family == 4 else self.v6_bits

    def maximum(self, f: int, family: int) -> int:
        return (1 << self.bits(f, family)) - 1

    def digits(self, f: int, family: int) -> tuple[Digit, ...]:
        return self._digits[(f, family)]

    def field_of_level(self, level: int) -> int:
        return self._field_of_level[level]

    def digit_at(self, family: int, level: int) -> Digit:
        """The digit of ``family`` at ``level`` (the level must be one of the family's)."""
        if not self._digit_at:
            for (_, fam), digits in self._digits.items():
                for d in digits:
                    self._digit_at[(fam, d[0])] = d
        return self._digit_at[(family, level)]

    @property
    def depth(self) -> int:
        return len(self._field_of_level)

    def protocol_list(self) -> tuple[int, ...]:
        return tuple(range(256)) if self.protocols is None else tuple(sorted(self.protocols))

    @property
    def canonical(self) -> int:
        """The node of every canonical packet of this universe (the complement's frame)."""
        return self._canonical[0]

    # -- constructors ---------------------------------------------------------------------

    def field_node(self, f: int, family: int, ranges: R.Ranges, inside: int) -> int:
        """``inside`` where field ``f`` (of ``family``) lies in ``ranges``, else FALSE."""
        top = self.maximum(f, family)
        ivs = [(lo, min(hi, top)) for lo, hi in ranges if lo <= top]
        return self._digits_node(self.digits(f, family), 0, ivs, inside)

    def _interval_node(
        self, digits: tuple[Digit, ...], idx: int, lo: int, hi: int, inside: int
    ) -> int:
        """``_digits_node`` for one interval (the common case: prefixes, port ranges)."""
        level, width, shift = digits[idx]
        rest = (1 << shift) - 1
        dlo, dhi = lo >> shift, hi >> shift
        llo, lhi = lo & rest, hi & rest
        last = idx + 1 == len(digits)
        top = (1 << width) - 1
        if dlo == dhi:
            if last or (llo == 0 and lhi == rest):
                child = inside
            else:
                child = self._interval_node(digits, idx + 1, llo, lhi, inside)
            segs = [(dlo, dlo, child)]
        else:
            left = inside if (last or llo == 0) else self._interval_node(
                digits, idx + 1, llo, rest, inside)
            right = inside if (last or lhi == rest) else self._interval_node(
                digits, idx + 1, 0, lhi, inside)
            segs = [(dlo, dlo, left), (dlo + 1, dhi - 1, inside), (dhi, dhi, right)]
        breaks: list[int] = []
        kids: list[int] = []
        if segs[0][0] > 0:
            kids.append(FALSE)
        for a, b, k in segs:
            if a > b:
                continue
            if kids:
                breaks.append(a)
            kids.append(k)
        end = segs[-1][1]
        if end < top:
            breaks.append(end + 1)
            kids.append(FALSE)
        return self.store.mk(level, breaks, kids)

    def _digits_node(
        self, digits: tuple[Digit, ...], idx: int, ivs: list[tuple[int, int]], inside: int
    ) -> int:
        if not ivs or inside == FALSE:
            return FALSE
        if idx == len(digits):
            return inside
        if len(ivs) == 1:
            lo, hi = ivs[0]
            if lo == 0 and hi >= (1 << (digits[idx][1] + digits[idx][2])) - 1:
                return inside
            return self._interval_node(digits, idx, lo, hi, inside)
        if idx == len(digits):
            return inside
        level, width, shift = digits[idx]
        full = (1 << (width + shift)) - 1
        if len(ivs) == 1 and ivs[0][0] == 0 and ivs[0][1] >= full:
            return inside
        mask = (1 << shift) - 1
        # segments (first digit, last digit, sub-intervals or None for "all of the rest")
        segs: list[tuple[int, int, list[tuple[int, int]] | None]] = []

        def add(d0: int, d1: int, sub: list[tuple[int, int]] | None) -> None:
            if segs and segs[-1][0] == d0 == segs[-1][1] == d1:
                prev = segs[-1][2]
                if prev is not None and sub is not None:
                    prev.extend(sub)
                    return
            segs.append((d0, d1, sub))

        for lo, hi in ivs:
            dlo, dhi = lo >> shift, hi >> shift
            llo, lhi = lo & mask, hi & mask
            if dlo == dhi:
                add(dlo, dlo, None if (llo == 0 and lhi == mask) else [(llo, lhi)])
                continue
            if llo == 0:
                add(dlo, dlo, None)
            else:
                add(dlo, dlo, [(llo, mask)])
            if dhi > dlo + 1:
                add(dlo + 1, dhi - 1, None)
            add(dhi, dhi, None if lhi == mask else [(0, lhi)])
        breaks: list[int] = []
        kids: list[int] = []
        cur = 0
        for d0, d1, sub in segs:
            if d0 > cur:
                if kids:
                    breaks.append(cur)
                kids.append(FALSE)
            child = inside if sub is None else self._digits_node(digits, idx + 1, sub, inside)
            if kids:
                breaks.append(d0)
            kids.append(child)
            cur = d1 + 1
        if cur <= (1 << width) - 1:
            breaks.append(cur)
            kids.append(FALSE)
        return self.store.mk(level, breaks, kids)

    def box(self, family: int | None, constraints: dict[int, R.Ranges]) -> int:
        """The node of a box: field -> ranges for the constrained fields, any elsewhere
        (``family`` None: both families; then no address or ICMP field may be constrained).

        Not restricted to the universe's protocols; intersect with ``canonical`` for that.
        """
        node = TRUE
        for f in reversed(ORDER[1:]):
            rs = constraints.get(f)
            if rs is not None:
                node = self.field_node(f, family or 4, rs, node)
        if family is None:
            return node
        return self.field_node(VERSION, family, R.single(0 if family == 4 else 1), node)

    def _build_canonical(self) -> int:
        """Every packet of the universe: all of them, or those of the listed protocols.

        Fields that do not apply to a protocol are not constrained here: diagrams are
        *constant* along them (see the module docstring), which is what makes them denote
        sets of canonical packets one-to-one.
        """
        if self.protocols is None:
            return TRUE
        protos = R.normalize((p, p) for p in self.protocols)
        return self.field_node(PROTO, 4, protos, TRUE)

    # -- operations -----------------------------------------------------------------------

    def apply(self, op: Terminal2, a: int, b: int) -> int:
        """The pointwise ``op`` of two diagrams (``op`` decides terminal cases or says None)."""
        store = self.store
        level, breaks, kids, mk = store.level, store.breaks, store.kids, store.mk
        mk_reduced = store.mk_reduced
        memo: dict[tuple[int, int], int] = {}
        sparse_a, sparse_b = _SPARSE[op]

        def rec(a: int, b: int) -> int:
            t = op(a, b)
            if t is not None:
                return t
            key = (a, b)
            r = memo.get(key)
            if r is not None:
                return r
            la = LEAF if a < 0 else level[a]
            lb = LEAF if b < 0 else level[b]
            if la < lb:
                r = mk(la, breaks[a], [rec(k, b) for k in kids[a]])
            elif lb < la:
                r = mk(lb, breaks[b], [rec(a, k) for k in kids[b]])
            elif len(kids[b]) <= len(kids[a]) and sparse_b is not None:
                bs, ks = splice(breaks[a], kids[a], breaks[b], kids[b], rec, *sparse_b)
                r = mk_reduced(la, bs, ks)
            elif sparse_a is not None:
                bs, ks = splice(breaks[b], kids[b], breaks[a], kids[a], rec_swapped, *sparse_a)
                r = mk_reduced(la, bs, ks)
            else:
                bs, pairs = _merge(breaks[a], kids[a], breaks[b], kids[b])
                r = mk(la, bs, [rec(x, y) for x, y in pairs])
            memo[key] = r
            return r

        def rec_swapped(b: int, a: int) -> int:
            return rec(a, b)

        try:
            return rec(a, b)
        finally:
            unlink(rec, rec_swapped)  # frees the memo now (self-referencing closures)

    def fresh(self) -> Universe:
        """A private universe with this layout and an empty store (for scratch work whose
        garbage should die with it; see ``Workspace``)."""
        return Universe(self.v4_bits, self.v6_bits, self.port_bits, self.icmp_bits,
                        self.protocols, self.digit_bits)

    def copy_from(self, other: Universe, roots: Sequence[int]) -> list[int]:
        """The nodes of ``other``'s ``roots`` rebuilt in this universe (same layout).

        Nodes of ``other`` are reduced and unique there, so each copy is a plain unique-table
        lookup (no re-reduction); ``breaks`` tuples and known ``undecided`` flags are shared.
        """
        if other is self:
            return list(roots)
        level, breaks, kids, und = (other.store.level, other.store.breaks, other.store.kids,
                                    other.store.und)
        store = self.store
        unique, n_level, n_breaks, n_kids, n_und = (store.unique, store.level, store.breaks,
                                                    store.kids, store.und)
        memo: dict[int, int] = {}

        def rec(n: int) -> int:
            nk = tuple([
                k if k < 0 else (memo[k] if k in memo else rec(k)) for k in kids[n]
            ])
            key = (level[n], breaks[n], nk)
            r = unique.get(key)
            if r is None:
                r = len(n_level)
                n_level.append(key[0])
                n_breaks.append(key[1])
                n_kids.append(nk)
                n_und.append(und[n])
                unique[key] = r
            memo[n] = r
            return r

        try:
            return [r if r < 0 else (memo[r] if r in memo else rec(r)) for r in roots]
        finally:
            unlink(rec)  # frees the memo now (a self-referencing closure)

    def union_all(self, nodes: Iterable[int]) -> int:
        """OR of many diagrams, combined pairwise (balanced) to keep operands small."""
        items = [n for n in nodes if n != FALSE]
        if not items:
            return FALSE
        while len(items) > 1:
            nxt = [
                self.apply(OR, items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)
            ]
            if len(items) % 2:
                nxt.append(items[-1])
            items = nxt
        return items[0]

    def values(self, p: Packet) -> tuple[int, ...]:
        """The field values of a packet, in ``FIELDS`` order."""
        return (
            0 if p.version == 4 else 1, p.proto, p.dport, p.sport, p.icmp_type, p.icmp_code,
            p.dst, p.src,
        )

    def in_range(self, p: Packet) -> bool:
        """Whether the packet's fields fit this universe's widths."""
        vals = self.values(p)
        return all(
            v <= self.maximum(f, p.version) for f, v in enumerate(vals)
        ) and (self.protocols is None or p.proto in self.protocols)

    def lookup(self, root: int, p: Packet) -> int:
        """The terminal ``root`` maps packet ``p`` to (``p`` must be ``in_range``)."""
        from bisect import bisect_right

        store = self.store
        vals = self.values(p)
        fam = p.version
        node = root
        while node >= 0:
            lv = store.level[node]
            f = self._field_of_level[lv]
            for lev, width, shift in self._digits[(f, fam)]:
                if lev == lv:
                    digit = (vals[f] >> shift) & ((1 << width) - 1)
                    break
            else:  # pragma: no cover - a level outside this family's digits cannot occur
                raise AssertionError("level outside the family's digits")
            node = store.kids[node][bisect_right(store.breaks[node], digit)]
        return node


@cache
def universe(
    v4_bits: int = 32,
    v6_bits: int = 128,
    port_bits: int = 16,
    icmp_bits: int = 8,
    protocols: tuple[int, ...] | None = None,
    digit_bits: int = 8,
) -> Universe:
    """The shared universe for these parameters (one node store per distinct universe)."""
    return Universe(v4_bits, v6_bits, port_bits, icmp_bits, protocols, digit_bits)


def default_universe() -> Universe:
    return universe()


class Workspace:
    """A scratch universe that is compacted when its garbage dominates.

    Long constructions (a first-match pass over 10^5 rules) leave every intermediate node
    in the store. A workspace runs them in a private ``Universe`` and, when its store has
    grown past ``factor`` times what was live after the last compaction (and past
    ``minimum``), copies the live roots into a fresh one and drops the old: memory stays
    proportional to the live diagrams, at an amortised O(1) copy per created node.
    """

    def __init__(self, base: Universe, minimum: int = 200_000, factor: int = 4) -> None:
        self.base = base
        self.u = base.fresh()
        self.minimum = minimum
        self.factor = factor
        self.floor = 0

    def compact(self, roots: Sequence[int], force: bool = False) -> list[int]:
        """``roots`` valid in ``self.u`` afterwards (renumbered when it compacted)."""
        size = len(self.u.store)
        if not force and size < max(self.minimum, self.factor * self.floor):
            return list(roots)
        new = self.base.fresh()
        out = new.copy_from(self.u, roots)
        self.u = new
        self.floor = len(new.store)
        return out
