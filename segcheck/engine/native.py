"""Bridge to the optional native kernel ``segcheck.engine._mddc`` (C, ``_mddc.c``).

Why: the pure-Python passes (``mdd``, ``passes``) spend their time in per-node interpreter
overhead (10k benchmark rules: ~3 s forward, ~3 s statuses). The kernel does the
whole-filter work in a few C calls per filter, not per node, in a private node store:

- ``rules``: the enabled rules' diagrams, built from the matches' boxes by the algorithm of
  ``mdd.Universe.box`` / ``packetset.rule_node`` (``load`` copies Python nodes in, e.g. the
  universe's canonical set);
- ``classify``: the first-match classification and, in the same pass, what would decide each
  live rule's packets without it. Not rule by rule (``filters``' sequential paint, whose
  any-field rules revisit every branch of the diagram, once per rule) but by *composition*:
  a block of consecutive rules is a diagram over terminals (first rule, verdict of the
  second matching rule); blocks compose pointwise (the first block's answer, its missing
  second verdict filled from the next block) and combine as a balanced 8-ary tree (eight
  blocks per pass: no intermediate results; blocks after one that decides everything are
  dropped). Live rules are those whose terminal
  survives; a live rule is removable iff all its second verdicts (none: the default) equal
  its action. Same statuses as the backward suffix-verdict pass, without building the
  suffix diagrams;
- ``permitted``: terminals mapped to verdicts, AND the canonical set;
- ``dead``: shadowed vs redundant for dead rules (``passes.other_verdict``);
- ``lookup_many``: the classification's terminal for each packet (``Classifier``);
- ``export``: C nodes copied into the Python ``mdd.Store`` through its unique table, lazily
  (the classification only when someone reads it: ``_Shared.classification``).

Invariant (the oracle, ``tests/engine/test_native.py``): the C store keeps ``mdd.Store``'s
node semantics (reduced, hash-consed, same terminals and level layout), so an exported
result is the *same node id* the pure-Python path builds for the same filter: rule
diagrams, classification, permitted set, and through them statuses, covers, effective sets.

Complexity: the composition costs about the sum of the intermediate results' sizes over
the log8(n) tree levels (memoised operand tuples), instead of rules x diagram; per node tens to
hundreds of nanoseconds (a unique-table and a memo probe, both cache misses on large
stores). A C node is one run of pool words (header, kids, breaks: 12 bytes plus 8 per kid)
plus a 4-byte offset and its unique-table slots; the store compacts in place (live nodes
slide down, ids renumbered) when it grew past ``FACTOR`` times its last live size. A C
store belongs to one Python object (``NativeRun``) and is freed with it; there is no global
state. ``SEGCHECK_NATIVE=0`` forces the pure-Python path (read on every call).

Measured (``benchmarks/engine.py``, its docstring has the note; shared 2-core machine,
load 2-3): benchmark ACLs of 10k rules analysed with all statuses in 0.35-0.49 s (pure Python
7.0 s), 100k in 9.0-10.2 s CPU and ~890 MB (8.8 s idle, with the collector paused in
``filters.analyze``); ``Classifier.decide_many`` 700k+ packets/s on
10k rules.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

from segcheck.engine import mdd
from segcheck.engine.mdd import Universe
from segcheck.gcpause import collector_paused
from segcheck.model import ranges as R
from segcheck.model.rules import Action, Filter, Match, Rule

_mddc: ModuleType | None
try:
    import segcheck.engine._mddc as _built  # type: ignore[import-not-found, unused-ignore]

    _mddc = _built
except ImportError:  # pragma: no cover - no compiler on this platform
    _mddc = None

FACTOR = 2
"""Compact the C store when it grew past this many times its last live size."""
_CHUNK = 4096
"""Rules per ``rules`` call (their Python-side specs are transient)."""


def available() -> bool:
    """Whether the extension was built."""
    return _mddc is not None


def enabled() -> bool:
    """Whether the engine uses the native kernel (built, and not ``SEGCHECK_NATIVE=0``)."""
    return _mddc is not None and os.environ.get("SEGCHECK_NATIVE", "1") != "0"


def layout(u: Universe) -> list[tuple[int, int, int, int, int]]:
    """Per level: (field, v4 digit width, v4 shift, v6 width, v6 shift); width 0 where the
    family does not use the level."""
    out = [[u.field_of_level(lv), 0, 0, 0, 0] for lv in range(u.depth)]
    for fi, fam in enumerate((4, 6)):
        for f in range(len(mdd.FIELDS)):
            for lv, width, shift in u.digits(f, fam):
                out[lv][1 + 2 * fi] = width
                out[lv][2 + 2 * fi] = shift
    return [(a, b, c, d, e) for a, b, c, d, e in out]


Box = tuple[int, tuple[object, ...]]


def _boxes(ms: Sequence[Match]) -> list[Box]:
    """``packetset.match_node``'s input for the kernel: (family or 0, the constraints in
    ``mdd.FIELDS`` order) per match that can hold new packets (an empty constraint ``()``
    makes an empty box there, as ``Match.is_empty`` says)."""
    for m in ms:
        if m.in_iface or m.out_iface:
            raise ValueError("interface conditions must be resolved (Filter.specialize) first")
    return [(m.family or 0, (None, m.protocols, m.dports, m.sports, m.icmp_types, m.icmp_codes,
                             m.dst, m.src))
            for m in ms if m.states is None or "new" in m.states]


def _bit(action: Action) -> int:
    return 1 if action is Action.PERMIT else 2


class NativeRun:
    """One filter's diagrams in a private C store: the enabled rules' matches (``rules``;
    after ``forward``, each rule's single-rule block instead, which ``dead`` reads alike),
    the universe's canonical set and the classification (after ``forward``)."""

    def __init__(self, u: Universe, flt: Filter, compact_at: int = 200_000) -> None:
        assert _mddc is not None
        self.u = u
        self.filter = flt
        self.compact_at = max(1, compact_at)
        self.enabled: list[tuple[int, Rule]] = [(i, r) for i, r in enumerate(flt.rules)
                                                if r.enabled]
        self.store: Any = _mddc.Store(layout(u))
        st = u.store
        (self.canonical,) = self.store.load(st.level, st.breaks, st.kids, [u.canonical])
        canon = -1 if u.protocols is None else self.canonical
        self.rules: list[int] = []
        with collector_paused():  # the specs are acyclic tuples (GC: ~0.3 s of 100k rules)
            for k in range(0, len(self.enabled), _CHUNK):  # chunks: the specs stay small
                self.rules.extend(self.store.rules(
                    [(_boxes(r.matches), _boxes(r.excludes))
                     for _, r in self.enabled[k:k + _CHUNK]], canon))
        self.store.set_verdicts(bytes(_bit(r.action) for r in flt.rules),
                                _bit(flt.default_action))
        self.c2: int = mdd.UNDECIDED
        self._c: int | None = None
        self.flags = b""
        self.live: frozenset[int] = frozenset()

    def forward(self) -> None:
        """The classification, the live rules (filter indices) and, per live rule, the
        verdicts that would decide its packets without it (``_mddc.c``: classify)."""
        c2, flags, blocks, extra = self.store.classify(
            self.rules, [i for i, _ in self.enabled], [self.canonical], self.compact_at, FACTOR)
        self.c2, self.rules, self.canonical = c2, blocks, extra[0]
        self.flags = bytes(flags)
        self.live = frozenset(i for (i, _), x in zip(self.enabled, flags, strict=True) if x & 1)

    def permitted(self) -> int:
        """The permitted set's node in the C store."""
        node: int = self.store.permitted(self.c2, self.canonical)
        return node

    def classification(self) -> int:
        """The classification (terminals ``rule_leaf``) in the C store, built on demand
        from the two-level diagram ``c2`` (terminals: first rule, second verdict)."""
        if self._c is None:
            self._c = int(self.store.first(self.c2))
        return self._c

    def export(self, nodes: Sequence[int]) -> list[int]:
        """C nodes as nodes of ``self.u``'s Python store (hash-consed there)."""
        st = self.u.store
        out: list[int] = self.store.export(list(nodes), st.level, st.breaks, st.kids, st.und,
                                           st.unique)
        return out

    def statuses(self) -> dict[int, str]:
        """``ok``/``shadowed``/``redundant`` of every enabled rule (``filters`` docstring)."""
        out: dict[int, str] = {}
        dead = [(k, i) for k, (i, _) in enumerate(self.enabled) if i not in self.live]
        if dead:
            got = self.store.dead(self.c2, [self.rules[k] for k, _ in dead],
                                  bytes(_bit(self.enabled[k][1].action) for k, _ in dead))
            for (_, i), x in zip(dead, got, strict=True):
                out[i] = "shadowed" if x else "redundant"
        for (i, rule), x in zip(self.enabled, self.flags, strict=True):
            if x & 1:  # live: removable iff no other verdict would decide its packets
                out[i] = "ok" if (x >> 1) & ~_bit(rule.action) else "redundant"
        return out

    def lookup_many(self, packets: Sequence[object]) -> list[int]:
        """The classification's terminal for each packet (packets must fit the universe)."""
        out: list[int] = self.store.lookup_many(self.c2, packets)
        return out

    def size(self) -> int:
        return len(self.store)

    def shrink(self) -> None:
        """Keep only the two-level diagram (after ``statuses``/``permitted``, the rule
        diagrams have served: lookups and the classification need ``c2`` alone)."""
        self.c2, self.canonical = self.store.compact([self.c2, self.canonical])
        self.rules = []
        self._c = None

    def release(self) -> None:
        """Free the C store (its results were exported); later calls raise."""
        self.store = None


# -- operations on the Python store (reach and findings) -------------------------------------

_PY_OPS: dict[mdd.Terminal2, int] = {mdd.AND: 0, mdd.OR: 1, mdd.DIFF: 2}


def py_apply(u: Universe, op: mdd.Terminal2, a: int, b: int) -> int:
    """``u.apply(op, a, b)`` for ``op`` AND/OR/DIFF, computed in C directly on ``u``'s Python
    store (``_mddc.c``: py_apply), step for step like the Python recursion: it creates the same
    nodes in the same order, so the result and every later node id are what the pure-Python
    apply gives. Other operations (XOR) and a disabled kernel run ``u.apply``."""
    code = _PY_OPS.get(op)
    if code is None or not enabled():
        return u.apply(op, a, b)
    assert _mddc is not None
    st = u.store
    node: int = _mddc.Store.py_apply(code, st.level, st.breaks, st.kids, st.und, st.unique,
                                     u.depth, a, b)
    return node


def py_leaves_within(u: Universe, c: int, m: int, stop: Iterable[int] = ()) -> set[int]:
    """``passes.leaves_within(u, c, m, stop)`` computed in C on ``u``'s Python store (the same
    walk in the same order, so the same answer, early return included); the Python pass when
    the kernel is disabled."""
    if not enabled():
        from segcheck.engine import passes

        return passes.leaves_within(u, c, m, stop)
    assert _mddc is not None
    st = u.store
    out: set[int] = _mddc.Store.py_leaves_within(st.level, st.breaks, st.kids, u.depth, c, m,
                                                 tuple(stop))
    return out


GROUPS_MAX_BITS = 62
"""Widest field ``py_groups`` reads (its values are 64-bit in C); IPv6 addresses stay in Python."""


def py_groups(u: Universe, node: int, digits: tuple[mdd.Digit, ...]) -> list[tuple[R.Ranges, int]]:
    """``packetset._groups_py`` for the field of ``digits`` (at most ``GROUPS_MAX_BITS`` bits),
    computed in C on ``u``'s Python store: the field's values from ``node`` as maximal
    intervals, grouped by the node below the field in order of first appearance, FALSE
    dropped, each group's intervals normalized. The kernel must be enabled."""
    assert _mddc is not None
    st = u.store
    out: list[tuple[R.Ranges, int]] = _mddc.Store.py_groups(st.level, st.breaks, st.kids,
                                                           u.depth, digits, node)
    return out


def py_rows(u: Universe, spec: tuple[tuple[bool, tuple[mdd.Digit, ...]], ...],
            roots: Sequence[int]) -> list[list[tuple[R.Ranges | None, ...]]]:
    """``packetset._Rows.below(root, 0, fam, kind)`` for each root, computed in C on ``u``'s
    Python store; ``spec`` gives, per field below the protocol in level order, whether it
    applies to the protocol class and its digits (every field at most ``GROUPS_MAX_BITS``
    bits). Same rows in the same order. The kernel must be enabled."""
    assert _mddc is not None
    st = u.store
    out: list[list[tuple[R.Ranges | None, ...]]] = _mddc.Store.py_rows(
        st.level, st.breaks, st.kids, u.depth, spec, list(roots))
    return out


def py_select(u: Universe, c: int, m: int, leaf: int) -> int:
    """``passes.select_py(u, c, m, leaf)`` (the points of ``m`` where the classification ``c``
    is ``leaf``) computed in C on ``u``'s Python store, step for step like the Python
    recursion: the same nodes in the same order. The kernel must be enabled."""
    assert _mddc is not None
    st = u.store
    node: int = _mddc.Store.py_select(st.level, st.breaks, st.kids, st.und, st.unique, u.depth,
                                      c, m, leaf)
    return node
