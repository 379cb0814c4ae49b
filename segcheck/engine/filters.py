"""First-match filters as packet sets: permitted set, per-rule analysis, disagreement, and a
fast classifier.

Filters handed in are already specialized (``Filter.specialize``): matches carry no interface
conditions. Only ``new`` packets are modelled (``PacketSet``); disabled rules decide nothing.

Algorithms (diagrams from ``segcheck.engine.mdd``; n = enabled rules):

- *classification* ``C`` (forward): ``C0 = UNDECIDED``; rule i paints its match onto the
  still-``UNDECIDED`` part with the terminal ``rule_leaf(i)``. Regions already decided are
  skipped without visiting them (each node knows whether it reaches ``UNDECIDED``), so the
  cost of rule i is the size of the undecided part of ``C`` inside its match. Invariant after
  rule i: ``C(p) = rule_leaf(j)`` iff j <= i is the first enabled rule matching p. Rule i's
  *effective* set is ``C == rule_leaf(i)``; it is empty iff painting left ``C`` unchanged
  (hash-consing makes that an int comparison).
- *suffix classification* ``S`` (backward): ``S_{n} = UNDECIDED`` (the default),
  ``S_i = ite(M_i, rule_leaf(i), S_{i+1})``: what would decide each packet if the filter
  started at rule i. Rule i is *removable* iff every leaf of ``S_{i+1}`` inside its
  effective set has rule i's action (``UNDECIDED`` standing for the default action).
- *permitted* = the canonical packets where ``S_0`` names a permit rule (or ``UNDECIDED``
  with a permit default) — computed by a backward boolean pass when only the set is wanted.

Statuses (``RuleAnalysis.status``): ``disabled``; ``shadowed`` — empty effective set and
some rule deciding its packets has another action; ``redundant`` — empty effective set and
every deciding rule has its action, or non-empty but removable without changing the
filter's meaning; ``ok`` otherwise. ``covered_by``: for an empty effective set, the earlier
rules that actually decide its packets (each needed: a minimal cover in the first-match
sense); for a removable rule, the later rules that would decide its packets without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from segcheck.engine import mdd
from segcheck.engine.mdd import DIFF, FALSE, LEAF, OR, TRUE, UNDECIDED, Universe
from segcheck.engine.packetset import PacketSet, rule_node
from segcheck.model.packet import Packet
from segcheck.model.rules import Action, Filter, Rule


def _enabled(flt: Filter) -> list[tuple[int, Rule]]:
    return [(i, r) for i, r in enumerate(flt.rules) if r.enabled]


def permitted(flt: Filter, universe: Universe | None = None) -> PacketSet:
    """The new packets ``flt`` permits (first match; enabled rules; the default otherwise)."""
    u = universe or mdd.default_universe()
    s = TRUE if flt.default_action is Action.PERMIT else FALSE
    for _, rule in reversed(_enabled(flt)):
        m = rule_node(u, rule)
        s = u.apply(OR, s, m) if rule.action is Action.PERMIT else u.apply(DIFF, s, m)
    return PacketSet(u.apply(mdd.AND, s, u.canonical), u)


def disagreement(f1: Filter, f2: Filter, universe: Universe | None = None) -> PacketSet:
    """The new packets on which the two filters' verdicts differ."""
    return permitted(f1, universe) ^ permitted(f2, universe)


# -- diagram passes -------------------------------------------------------------------------


def _paint(u: Universe, c: int, m: int, leaf: int) -> int:
    """``c`` with its ``UNDECIDED`` points inside ``m`` replaced by ``leaf``."""
    store = u.store
    level, breaks, kids, und, mk = store.level, store.breaks, store.kids, store.und, store.mk
    memo: dict[tuple[int, int], int] = {}

    def rec(c: int, m: int) -> int:
        if m == FALSE:
            return c
        if c < 0:
            if c != UNDECIDED:
                return c
            if m == TRUE:
                return leaf
        elif not und[c]:
            return c
        key = (c, m)
        r = memo.get(key)
        if r is not None:
            return r
        lc = LEAF if c < 0 else level[c]
        lm = level[m] if m >= 0 else LEAF
        if lc < lm:
            r = mk(lc, breaks[c], [rec(k, m) for k in kids[c]])
        elif lm < lc:
            r = mk(lm, breaks[m], [rec(c, k) for k in kids[m]])
        else:
            bs, pairs = mdd._merge(breaks[c], kids[c], breaks[m], kids[m])
            r = mk(lc, bs, [rec(x, y) for x, y in pairs])
        memo[key] = r
        return r

    return rec(c, m)


def _overlay(u: Universe, s: int, m: int, leaf: int) -> int:
    """``ite(m, leaf, s)``: ``leaf`` inside ``m``, ``s`` elsewhere."""
    store = u.store
    level, breaks, kids, mk = store.level, store.breaks, store.kids, store.mk
    memo: dict[tuple[int, int], int] = {}

    def rec(s: int, m: int) -> int:
        if m == FALSE:
            return s
        if m == TRUE:
            return leaf
        key = (s, m)
        r = memo.get(key)
        if r is not None:
            return r
        ls = LEAF if s < 0 else level[s]
        lm = level[m]
        if ls < lm:
            r = mk(ls, breaks[s], [rec(k, m) for k in kids[s]])
        elif lm < ls:
            r = mk(lm, breaks[m], [rec(s, k) for k in kids[m]])
        else:
            bs, pairs = mdd._merge(breaks[s], kids[s], breaks[m], kids[m])
            r = mk(ls, bs, [rec(x, y) for x, y in pairs])
        memo[key] = r
        return r

    return rec(s, m)


def _leaves_within(u: Universe, c: int, m: int, stop: Iterable[int] = ()) -> set[int]:
    """The terminals ``c`` takes on the points of ``m`` (``stop``: return early on these)."""
    store = u.store
    level, breaks, kids = store.level, store.breaks, store.kids
    stops = set(stop)
    out: set[int] = set()
    seen: set[tuple[int, int]] = set()
    todo = [(c, m)]
    while todo:
        c, m = todo.pop()
        if m == FALSE or (c, m) in seen:
            continue
        seen.add((c, m))
        if c < 0:
            out.add(c)
            if c in stops:
                return out
            continue
        if m == TRUE:
            todo.extend((k, TRUE) for k in kids[c])
            continue
        lc, lm = level[c], level[m]
        if lc < lm:
            todo.extend((k, m) for k in kids[c])
        elif lm < lc:
            todo.extend((c, k) for k in kids[m])
        else:
            todo.extend(mdd._merge(breaks[c], kids[c], breaks[m], kids[m])[1])
    return out


def _leaves_where(u: Universe, c: int, s: int, m: int, leaf: int, stop: set[int]) -> set[int]:
    """The terminals of ``s`` on the points where ``c == leaf`` (inside ``m``, which contains
    them); returns early once a terminal in ``stop`` is seen."""
    store = u.store
    level, breaks, kids = store.level, store.breaks, store.kids
    out: set[int] = set()
    seen: set[tuple[int, int, int]] = set()
    todo = [(c, s, m)]
    while todo:
        item = todo.pop()
        c, s, m = item
        if m == FALSE or item in seen:
            continue
        seen.add(item)
        if c < 0 and c != leaf:
            continue
        if c == leaf and s < 0:
            out.add(s)
            if s in stop:
                return out
            continue
        lc = LEAF if c < 0 else level[c]
        ls = LEAF if s < 0 else level[s]
        lm = LEAF if m < 0 else level[m]
        lv = min(lc, ls, lm)
        parts: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        for n, ln in ((c, lc), (s, ls), (m, lm)):
            parts.append((breaks[n], kids[n]) if ln == lv else ((), (n,)))
        b1, p1 = mdd._merge(parts[0][0], parts[0][1], parts[1][0], parts[1][1])
        _, p2 = mdd._merge(tuple(b1), tuple(x for x, _ in p1), parts[2][0], parts[2][1])
        _, p3 = mdd._merge(tuple(b1), tuple(y for _, y in p1), parts[2][0], parts[2][1])
        todo.extend((x, y, z) for (x, z), (y, _) in zip(p2, p3, strict=True))
    return out


def classify(flt: Filter, universe: Universe | None = None) -> tuple[int, dict[int, int]]:
    """The first-match classification diagram of ``flt`` and each enabled rule's match node."""
    u = universe or mdd.default_universe()
    c = UNDECIDED
    nodes: dict[int, int] = {}
    for i, rule in _enabled(flt):
        m = rule_node(u, rule)
        nodes[i] = m
        c = _paint(u, c, m, mdd.rule_leaf(i))
    return c, nodes


# -- analysis -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Shared:
    """State shared by the rule analyses of one filter (lazy effective sets)."""

    universe: Universe
    classification: int
    match_nodes: dict[int, int]
    cache: dict[int, PacketSet] = field(default_factory=dict)

    def effective(self, index: int) -> PacketSet:
        got = self.cache.get(index)
        if got is None:
            m = self.match_nodes.get(index, FALSE)
            node = _select(self.universe, self.classification, m, mdd.rule_leaf(index))
            got = self.cache[index] = PacketSet(node, self.universe)
        return got


def _select(u: Universe, c: int, m: int, leaf: int) -> int:
    """The points of ``m`` where ``c == leaf`` (as a boolean diagram)."""
    store = u.store
    level, breaks, kids, mk = store.level, store.breaks, store.kids, store.mk
    memo: dict[tuple[int, int], int] = {}

    def rec(c: int, m: int) -> int:
        if m == FALSE:
            return FALSE
        if c < 0:
            return m if c == leaf else FALSE
        key = (c, m)
        r = memo.get(key)
        if r is not None:
            return r
        lc = level[c]
        lm = LEAF if m < 0 else level[m]
        if lc < lm:
            r = mk(lc, breaks[c], [rec(k, m) for k in kids[c]])
        elif lm < lc:
            r = mk(lm, breaks[m], [rec(c, k) for k in kids[m]])
        else:
            bs, pairs = mdd._merge(breaks[c], kids[c], breaks[m], kids[m])
            r = mk(lc, bs, [rec(x, y) for x, y in pairs])
        memo[key] = r
        return r

    return rec(c, m)


@dataclass(frozen=True, eq=False)
class RuleAnalysis:
    rule: Rule
    index: int
    status: str
    """``ok``, ``shadowed``, ``redundant`` or ``disabled`` (module docstring)."""
    covered_by: tuple[int, ...]
    _shared: _Shared = field(repr=False)

    @property
    def effective(self) -> PacketSet:
        """The new packets this rule decides in its filter (computed on first use)."""
        if self.index not in self._shared.match_nodes:  # disabled, or decides nothing
            return PacketSet.empty(self._shared.universe)
        return self._shared.effective(self.index)


@dataclass(frozen=True, eq=False)
class FilterAnalysis:
    filter: Filter
    permitted: PacketSet
    rules: tuple[RuleAnalysis, ...]

    def by_status(self, status: str) -> list[RuleAnalysis]:
        return [r for r in self.rules if r.status == status]


def _action_of(flt: Filter, terminal: int) -> Action:
    if terminal == UNDECIDED:
        return flt.default_action
    return flt.rules[mdd.leaf_rule(terminal)].action


def analyze(flt: Filter, universe: Universe | None = None) -> FilterAnalysis:
    """Permitted set and per-rule status of a specialized filter (module docstring)."""
    u = universe or mdd.default_universe()
    enabled = _enabled(flt)
    # forward: who decides what
    c = UNDECIDED
    nodes: dict[int, int] = {}
    live: set[int] = set()
    for i, rule in enabled:
        m = rule_node(u, rule)
        nodes[i] = m
        nc = _paint(u, c, m, mdd.rule_leaf(i))
        if nc != c:
            live.add(i)
        c = nc
    # backward: what would decide without each rule
    s = UNDECIDED
    status: dict[int, str] = {}
    covered: dict[int, tuple[int, ...]] = {}
    permit_leaves = {mdd.rule_leaf(i) for i, r in enabled if r.action is Action.PERMIT}
    deny_leaves = {mdd.rule_leaf(i) for i, r in enabled if r.action is Action.DENY}
    if flt.default_action is Action.PERMIT:
        permit_leaves.add(UNDECIDED)
    else:
        deny_leaves.add(UNDECIDED)
    for i, rule in reversed(enabled):
        m = nodes[i]
        other = deny_leaves if rule.action is Action.PERMIT else permit_leaves
        if i in live:
            later = _leaves_where(u, c, s, m, mdd.rule_leaf(i), other)
            if later & other:
                status[i], covered[i] = "ok", ()
            else:
                status[i] = "redundant"
                covered[i] = tuple(sorted(mdd.leaf_rule(t) for t in later if t != UNDECIDED))
        else:
            deciders = _leaves_within(u, c, m) - {UNDECIDED}
            covered[i] = tuple(sorted(mdd.leaf_rule(t) for t in deciders))
            status[i] = "shadowed" if deciders & other else "redundant"
        s = _overlay(u, s, m, mdd.rule_leaf(i))
    perm = _map_permit(u, s, permit_leaves)
    shared = _Shared(u, c, {i: nodes[i] for i in live})
    out = []
    for i, rule in enumerate(flt.rules):
        if not rule.enabled:
            out.append(RuleAnalysis(rule, i, "disabled", (), shared))
        else:
            out.append(RuleAnalysis(rule, i, status[i], covered[i], shared))
    return FilterAnalysis(flt, PacketSet(perm, u), tuple(out))


def _map_permit(u: Universe, s: int, permit_leaves: set[int]) -> int:
    """The canonical points where the classification ``s`` names a permitting terminal."""
    store = u.store
    level, breaks, kids, mk = store.level, store.breaks, store.kids, store.mk
    memo: dict[int, int] = {}

    def rec(n: int) -> int:
        if n < 0:
            return TRUE if n in permit_leaves else FALSE
        r = memo.get(n)
        if r is None:
            r = memo[n] = mk(level[n], breaks[n], [rec(k) for k in kids[n]])
        return r

    return u.apply(mdd.AND, rec(s), u.canonical)


# -- classifier -----------------------------------------------------------------------------


class Classifier:
    """Fast first-match decisions for one specialized filter.

    ``decide`` walks the classification diagram (O(depth · log width) per packet);
    ``decide_many`` walks it for all packets at once with numpy, one level per step.
    Packets in another state than ``new`` (and packets outside the universe) take the
    reference path ``Filter.decide``.
    """

    def __init__(self, flt: Filter, universe: Universe | None = None) -> None:
        self.filter = flt
        self.universe = universe or mdd.default_universe()
        self.root, _ = classify(flt, self.universe)
        self._tables: _Tables | None = None

    def _answer(self, terminal: int) -> tuple[Action, int | None]:
        if terminal == UNDECIDED:
            return self.filter.default_action, None
        i = mdd.leaf_rule(terminal)
        return self.filter.rules[i].action, i

    def _reference(self, p: Packet, state: str) -> tuple[Action, int | None]:
        action, rule = self.filter.decide(p, state)
        if rule is None:
            return action, None
        index = next(i for i, r in enumerate(self.filter.rules) if r is rule)
        return action, index

    def decide(self, p: Packet, state: str = "new") -> tuple[Action, int | None]:
        if state != "new" or not self.universe.in_range(p):
            return self._reference(p, state)
        return self._answer(self.universe.lookup(self.root, p))

    def decide_many(
        self, packets: Sequence[Packet], states: Sequence[str] | None = None
    ) -> list[tuple[Action, int | None]]:
        from segcheck.engine.vector import walk

        if self._tables is None:
            self._tables = _Tables(self.universe, self.root)
        fast = [
            k for k, p in enumerate(packets)
            if (states is None or states[k] == "new") and self.universe.in_range(p)
        ] if (states is not None or self.universe.protocols is not None) else None
        todo = packets if fast is None else [packets[k] for k in fast]
        terminals = walk(self.universe, self._tables.arrays, todo)
        answers: list[tuple[Action, int | None]]
        if fast is None:
            return [self._answer(t) for t in terminals]
        answers = [(Action.DENY, None)] * len(packets)
        done = set(fast)
        for k, t in zip(fast, terminals, strict=True):
            answers[k] = self._answer(t)
        for k, p in enumerate(packets):
            if k not in done:
                answers[k] = self._reference(p, "new" if states is None else states[k])
        return answers


class _Tables:
    def __init__(self, u: Universe, root: int) -> None:
        from segcheck.engine.vector import flatten

        self.arrays = flatten(u, root)
