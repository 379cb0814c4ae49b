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
- *permitted* (``permitted``) = the terminals of ``C`` mapped to their rule's action
  (``UNDECIDED`` to the default), restricted to the universe: one walk over ``C``.
- *suffix verdicts* ``S`` (``analyze``, backward): ``S_n`` = the default action,
  ``S_i = (M_i ∧ a_i) ∨ (¬M_i ∧ S_{i+1})`` as a boolean diagram: what the rules after i
  would permit. A live rule i is *removable* iff ``S_{i+1}`` gives its action on all of
  its effective set: first tested on one witness point of that set (a lookup, which settles
  almost every rule), then exactly (``passes.other_verdict_where``, a walk over
  (S, C, M) that skips subtrees whose verdict is uniform, without building the set).
  This pass runs once, on the first read of a live rule's status (``analyze`` itself runs
  only the forward pass, so callers that need the permitted set, effective sets or
  ``decides`` never pay for it).
- dead rules: shadowed vs redundant from the verdicts ``C`` takes inside their match
  (``passes.other_verdict`` with a per-node verdict memo; early exit), per rule on first read.

Cost per rule is the part of the diagram inside its match that is still undecided (forward)
or not constant (backward); rules that are "any" on an upper field but specific below fan
out over that field's branches (DESIGN.md §7 and the benchmark give numbers).

Native kernel (``segcheck.engine.native``, C; used when built unless ``SEGCHECK_NATIVE=0``):
``analyze``, ``permitted`` and ``Classifier`` run the rule diagrams, the classification,
the live rules, the permitted set and all statuses in a private C store, by composing
blocks of rules in a balanced 4-ary tree over (first rule, second verdict) terminals, not
the rule-by-rule passes above (native module docstring). Results are exported into the
Python store and are the same nodes the passes above build (tested); the classification
is exported on first read (``_Shared.classification``; the C store is freed then), effective
sets and ``covered_by`` are then computed by the Python passes as before. Statuses are
computed by ``analyze`` itself on this path (cheap there: the composition already knows them).

Statuses (``RuleAnalysis.status``): ``disabled``; ``shadowed`` — empty effective set and
some rule deciding its packets has another action; ``redundant`` — empty effective set and
every deciding rule has its action, or non-empty but removable without changing the
filter's meaning; ``ok`` otherwise. ``covered_by``: for an empty effective set, the earlier
rules that actually decide its packets (each needed: a minimal cover in the first-match
sense); for a removable rule, the later rules that would decide its packets without it.
Both are computed on first use and list at most ``COVER_CAP`` rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from segcheck.engine import mdd, native, passes
from segcheck.engine.mdd import DIFF, FALSE, OR, TRUE, UNDECIDED, Universe
from segcheck.engine.packetset import PacketSet, rule_node
from segcheck.gcpause import collector_paused
from segcheck.model.packet import Packet
from segcheck.model.rules import Action, Filter, Rule

COVER_CAP = 32
"""``covered_by`` lists at most this many rules (the status always considers all)."""


def _enabled(flt: Filter) -> list[tuple[int, Rule]]:
    return [(i, r) for i, r in enumerate(flt.rules) if r.enabled]


def classify(
    flt: Filter, universe: Universe | None = None, compact_at: int = 200_000
) -> tuple[Universe, int]:
    """The first-match classification diagram of ``flt``, in a private universe with the
    given one's layout (so its garbage dies with it; ``compact_at``: see ``Workspace``)."""
    work = mdd.Workspace(universe or mdd.default_universe(), minimum=compact_at)
    c = UNDECIDED
    for i, rule in _enabled(flt):
        c = passes.paint(work.u, c, rule_node(work.u, rule), mdd.rule_leaf(i))
        (c,) = work.compact([c])
    (c,) = work.compact([c], force=True)
    return work.u, c


def _permit_fn(flt: Filter) -> Callable[[int], int]:
    default = TRUE if flt.default_action is Action.PERMIT else FALSE
    rules = flt.rules

    def fn(t: int) -> int:
        if t == UNDECIDED:
            return default
        return TRUE if rules[mdd.leaf_rule(t)].action is Action.PERMIT else FALSE

    return fn


def _permitted_of(u: Universe, flt: Filter, c: int) -> PacketSet:
    return PacketSet(u.apply(mdd.AND, passes.map_terminals(u, c, _permit_fn(flt)), u.canonical), u)


def permitted(flt: Filter, universe: Universe | None = None) -> PacketSet:
    """The new packets ``flt`` permits (first match; enabled rules; the default otherwise)."""
    with collector_paused():  # as in ``analyze``
        return _permitted(flt, universe or mdd.default_universe())


def _permitted(flt: Filter, u: Universe) -> PacketSet:
    if native.enabled():
        run = native.NativeRun(u, flt)
        run.forward()
        (perm,) = run.export([run.permitted()])
        return PacketSet(perm, u)
    w, c = classify(flt, u)
    (perm,) = u.copy_from(w, [_permitted_of(w, flt, c).node])
    return PacketSet(perm, u)


def disagreement(f1: Filter, f2: Filter, universe: Universe | None = None) -> PacketSet:
    """The new packets on which the two filters' verdicts differ."""
    return permitted(f1, universe) ^ permitted(f2, universe)


# -- analysis -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Shared:
    """State shared by the rule analyses of one filter. Statuses, effective sets and
    covering rules are computed on first use: dead rules' statuses from the classification
    alone (per rule), live rules' statuses by one backward pass over the whole filter (its
    suffix verdicts ``S``), which callers that only need the permitted set, effective sets or
    ``decides`` never pay for."""

    universe: Universe
    filter: Filter
    c_node: list[int]
    """The classification in ``universe`` (empty until exported from ``native``)."""
    live: frozenset[int]
    compact_at: int = 200_000
    kernel: native.NativeRun | None = None
    """The native kernel's copy of the filter (statuses run there), or None."""
    cache: dict[int, PacketSet] = field(default_factory=dict)
    covers: dict[int, tuple[int, ...]] = field(default_factory=dict)
    statuses: dict[int, str] = field(default_factory=dict)
    verdicts: list[passes.Verdicts] = field(default_factory=list)

    @property
    def classification(self) -> int:
        """The first-match classification diagram (node of ``universe``; exported from the
        native store on first read)."""
        if not self.c_node:
            assert self.kernel is not None
            self.c_node.extend(self.kernel.export([self.kernel.classification()]))
            self.kernel.release()  # statuses are known already: the C store has served
        return self.c_node[0]

    def match(self, index: int) -> int:
        return rule_node(self.universe, self.filter.rules[index])

    def status(self, index: int) -> str:
        got = self.statuses.get(index)
        if got is not None:
            return got
        rule = self.filter.rules[index]
        if not rule.enabled:
            got = "disabled"
        elif self.kernel is not None:
            self.statuses.update(self.kernel.statuses())
            return self.statuses[index]
        elif index not in self.live:
            if not self.verdicts:
                self.verdicts.append(passes.Verdicts(self.universe, _permit_fn(self.filter)))
            bit = 1 if rule.action is Action.PERMIT else 2
            other = passes.other_verdict(
                self.universe, [(self.classification, self.match(index))], self.verdicts[0], bit)
            got = "shadowed" if other else "redundant"
        else:
            self._backward()
            return self.statuses[index]
        self.statuses[index] = got
        return got

    def _backward(self) -> None:
        """Statuses of every live rule: ``s`` = what the rules after ``i`` permit; a live
        rule is removable iff ``s`` gives its action on all of its effective set (tested on
        one witness point first, then exactly). Runs in a ``Workspace``."""
        flt = self.filter
        work = mdd.Workspace(self.universe, minimum=self.compact_at)
        (c,) = work.u.copy_from(self.universe, [self.classification])
        s = TRUE if flt.default_action is Action.PERMIT else FALSE
        bools: passes.Verdicts | None = None
        for i, rule in reversed(_enabled(flt)):
            w = work.u
            if bools is None or bools.u is not w:  # verdict memos are per node store
                bools = passes.Verdicts(w, lambda t: t)
            m = rule_node(w, rule)
            permit = rule.action is Action.PERMIT
            if i in self.live:
                leaf = mdd.rule_leaf(i)
                point = passes.witness(w, c, m, leaf)
                assert point is not None, "a live rule decides some packet"
                if (passes.lookup_levels(w, s, point) == TRUE) != permit:
                    self.statuses[i] = "ok"
                else:
                    other = passes.other_verdict_where(w, s, c, m, leaf, bools,
                                                       1 if permit else 2)
                    self.statuses[i] = "ok" if other else "redundant"
            s = w.apply(OR, s, m) if permit else w.apply(DIFF, s, m)
            c, s = work.compact([c, s])

    def effective(self, index: int) -> PacketSet:
        if index not in self.live:
            return PacketSet.empty(self.universe)
        got = self.cache.get(index)
        if got is None:
            node = passes.select(self.universe, self.classification, self.match(index),
                                 mdd.rule_leaf(index))
            got = self.cache[index] = PacketSet(node, self.universe)
        return got

    def covered_by(self, index: int, status: str) -> tuple[int, ...]:
        if status not in ("shadowed", "redundant"):
            return ()
        got = self.covers.get(index)
        if got is None:
            if index in self.live:
                got = self._later(index)
            else:
                pairs = [(self.classification, self.match(index))]
                found = passes.deciders(self.universe, pairs, COVER_CAP + 1) - {UNDECIDED}
                got = tuple(sorted(mdd.leaf_rule(t) for t in found))
            self.covers[index] = got
        return got[:COVER_CAP]

    def _later(self, index: int) -> tuple[int, ...]:
        """The later rules that decide a removable rule's packets in its place, in order
        (the default decides whatever they leave)."""
        u = self.universe
        x = self.effective(index).node
        out: list[int] = []
        for j in range(index + 1, len(self.filter.rules)):
            if not self.filter.rules[j].enabled:
                continue
            mj = self.match(j)
            if u.apply(mdd.AND, x, mj) != FALSE:
                out.append(j)
                x = u.apply(DIFF, x, mj)
                if x == FALSE or len(out) > COVER_CAP:
                    break
        return tuple(out)


@dataclass(frozen=True, eq=False)
class RuleAnalysis:
    rule: Rule
    index: int
    _shared: _Shared = field(repr=False)

    @property
    def status(self) -> str:
        """``ok``, ``shadowed``, ``redundant`` or ``disabled`` (module docstring; computed on
        first use: the first live rule's status runs the backward pass for all of them)."""
        return self._shared.status(self.index)

    @property
    def effective(self) -> PacketSet:
        """The new packets this rule decides in its filter (computed on first use)."""
        return self._shared.effective(self.index)

    @property
    def decides(self) -> bool:
        """Whether the rule decides some packet (its effective set is not empty)."""
        return self.index in self._shared.live

    @property
    def covered_by(self) -> tuple[int, ...]:
        """Rules that decide this rule's packets: earlier ones for an empty effective set,
        later ones for a removable rule; ``()`` otherwise (computed on first use)."""
        return self._shared.covered_by(self.index, self.status)


@dataclass(frozen=True, eq=False)
class FilterAnalysis:
    filter: Filter
    permitted: PacketSet
    rules: tuple[RuleAnalysis, ...]

    def by_status(self, status: str) -> list[RuleAnalysis]:
        return [r for r in self.rules if r.status == status]


def analyze(
    flt: Filter, universe: Universe | None = None, compact_at: int = 200_000
) -> FilterAnalysis:
    """Permitted set and per-rule status of a specialized filter (module docstring).

    Runs the forward pass (classification, live rules) in a ``Workspace`` (``compact_at``:
    its compaction threshold) and copies the classification and the permitted set into
    ``universe``; statuses, effective sets and covers are computed when first read.
    """
    with collector_paused():  # no cycles made (tested); collections would rescan the rules
        return _analyze(flt, universe or mdd.default_universe(), compact_at)


def _analyze(flt: Filter, u: Universe, compact_at: int) -> FilterAnalysis:
    if native.enabled():
        run = native.NativeRun(u, flt, compact_at)
        run.forward()
        (perm,) = run.export([run.permitted()])
        shared = _Shared(u, flt, [], run.live, compact_at, run)
        shared.statuses.update(run.statuses())  # cheap in C
        run.shrink()  # the store now only serves the classification's export
        out = tuple(RuleAnalysis(rule, i, shared) for i, rule in enumerate(flt.rules))
        return FilterAnalysis(flt, PacketSet(perm, u), out)
    work = mdd.Workspace(u, minimum=compact_at)
    c = UNDECIDED
    live: set[int] = set()
    for i, rule in _enabled(flt):  # forward: who decides what
        nc = passes.paint(work.u, c, rule_node(work.u, rule), mdd.rule_leaf(i))
        if nc != c:
            live.add(i)
        (c,) = work.compact([nc])
    perm = _permitted_of(work.u, flt, c).node
    c, perm = u.copy_from(work.u, [c, perm])
    shared = _Shared(u, flt, [c], frozenset(live), compact_at)
    out = tuple(RuleAnalysis(rule, i, shared) for i, rule in enumerate(flt.rules))
    return FilterAnalysis(flt, PacketSet(perm, u), out)


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
        self._kernel: native.NativeRun | None = None
        self._root: int | None = None
        if native.enabled():
            self._kernel = native.NativeRun(self.universe, flt)
            self._kernel.forward()
            self._kernel.shrink()
        else:
            self.universe, self._root = classify(flt, self.universe)
        self._tables: _Tables | None = None

    @property
    def root(self) -> int:
        """The classification diagram in ``universe`` (exported from the native kernel on
        first read; lookups there do not need it)."""
        if self._root is None:
            assert self._kernel is not None
            (self._root,) = self._kernel.export([self._kernel.classification()])
        return self._root

    def _terminals(self, packets: Sequence[Packet]) -> list[int]:
        if self._kernel is not None:
            return self._kernel.lookup_many(packets)
        from segcheck.engine.vector import walk  # numpy: imported only on this path

        if self._tables is None:
            self._tables = _Tables(self.universe, self.root)
        return walk(self.universe, self._tables.arrays, packets)

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
        if self._kernel is not None:
            return self._answer(self._kernel.lookup_many([p])[0])
        return self._answer(self.universe.lookup(self.root, p))

    def decide_many(
        self, packets: Sequence[Packet], states: Sequence[str] | None = None
    ) -> list[tuple[Action, int | None]]:
        fast = [
            k for k, p in enumerate(packets)
            if (states is None or states[k] == "new") and self.universe.in_range(p)
        ] if (states is not None or self.universe.protocols is not None) else None
        todo = packets if fast is None else [packets[k] for k in fast]
        terminals = self._terminals(todo)
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
