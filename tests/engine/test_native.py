"""The native kernel against the pure-Python passes: the very same node ids.

Diagrams are reduced and hash-consed, so a native result exported into the Python store must
be the same node id as the pure-Python result for the same filter: rule diagrams (the C box
builder vs ``rule_node``), the classification, the permitted set, effective sets, statuses
and covering rules, and the classifier's answers — on tiny universes and the real one.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import resource
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from segcheck.engine import filters, mdd, native
from segcheck.engine.mdd import Universe
from segcheck.engine.packetset import rule_node
from segcheck.model import ranges as R
from segcheck.model.packet import Packet
from segcheck.model.rules import Action, Filter, Match, Rule
from segcheck.model.source import SourceSpan

from .strategies import TINY, TINY2, all_packets
from .strategies import filters as filters_st

MODES_COMPARED = True
"""Each test compares the two modes itself: generated once, in the native pass
(``tests/engine/conftest.py``)."""
REAL = mdd.default_universe()
P, D = Action.PERMIT, Action.DENY


def test_extension_built() -> None:
    """CI (SEGCHECK_REQUIRE_NATIVE=1) must have the kernel; locally it is expected too."""
    if os.environ.get("SEGCHECK_REQUIRE_NATIVE"):
        assert native.available(), "segcheck.engine._mddc did not build"
    assert native.enabled()


def _python(fn, *args, **kw):  # type: ignore[no-untyped-def]
    old = os.environ.get("SEGCHECK_NATIVE")
    os.environ["SEGCHECK_NATIVE"] = "0"
    try:
        return fn(*args, **kw)
    finally:
        os.environ["SEGCHECK_NATIVE"] = old if old is not None else "1"


def _rule(action: Action, line: int, **kw: object) -> Rule:
    return Rule(action, (Match(**kw),), SourceSpan("acl", line))  # type: ignore[arg-type]


def same_analysis(flt: Filter, u: Universe, compact_at: int = 200_000) -> None:
    nat = filters.analyze(flt, u, compact_at=compact_at)
    py = _python(filters.analyze, flt, u, compact_at=compact_at)
    assert nat.permitted.node == py.permitted.node
    assert nat.rules[0]._shared.classification == py.rules[0]._shared.classification \
        if flt.rules else True
    assert [r.decides for r in nat.rules] == [r.decides for r in py.rules]
    assert [r.status for r in nat.rules] == [r.status for r in py.rules]
    assert [r.covered_by for r in nat.rules] == [r.covered_by for r in py.rules]
    assert [r.effective.node for r in nat.rules] == [r.effective.node for r in py.rules]
    assert filters.permitted(flt, u).node == py.permitted.node
    run = native.NativeRun(u, flt)
    got = run.export(run.rules)
    want = [rule_node(u, r) for r in flt.rules if r.enabled]
    assert got == want
    canonical_in_c(flt, u, compact_at)


def canonical_in_c(flt: Filter, u: Universe, compact_at: int) -> None:
    """The C store is hash-consed too: a diagram copied into an empty Python store has as
    many nodes there (duplicates would merge) and stays reduced (merged duplicates would
    leave equal neighbours) — also after compactions renumbered the store."""
    run = native.NativeRun(u, flt, compact_at)
    run.forward()
    for node in (run.c2, run.classification(), run.permitted()):
        fresh = mdd.Store()
        (x,) = run.store.export([node], fresh.level, fresh.breaks, fresh.kids, fresh.und,
                                fresh.unique)
        assert fresh.count(x) == run.store.count(node)
        assert all(len(ks) >= 2 and all(a != b for a, b in itertools.pairwise(ks))
                   for ks in fresh.kids)


# -- strategies over the real universe ------------------------------------------------------


@st.composite
def prefixes(draw: st.DrawFn, bits: int) -> R.Ranges:
    out = []
    for _ in range(draw(st.integers(1, 2))):
        plen = draw(st.sampled_from([0, 1, 7, 8, 9, 15, 16, 23, 24, 25, bits - 1, bits]))
        base = draw(st.integers(0, (1 << bits) - 1)) >> (bits - plen) << (bits - plen)
        out.append((base, base + (1 << (bits - plen)) - 1))
    if draw(st.booleans()):  # a non-prefix range too
        lo = draw(st.integers(0, (1 << bits) - 1))
        out.append((lo, min((1 << bits) - 1, lo + draw(st.integers(0, 1 << 20)))))
    return R.normalize(out)


@st.composite
def real_matches(draw: st.DrawFn) -> Match:
    family = draw(st.sampled_from([None, 4, 6]))
    kw: dict[str, object] = {"family": family}
    if family is not None:
        bits = 32 if family == 4 else 128
        for f in ("src", "dst"):
            if draw(st.booleans()):
                kw[f] = draw(prefixes(bits))
    kind = draw(st.sampled_from(["any", "ports", "icmp", "set"]))
    ports = st.lists(st.tuples(st.integers(0, 65535), st.integers(0, 300)), min_size=1,
                     max_size=3).map(lambda xs: R.normalize((a, min(65535, a + d)) for a, d in xs))
    if kind == "ports":
        kw["protocols"] = draw(st.sampled_from([R.single(6), R.single(17), ((6, 6), (17, 17))]))
        if draw(st.booleans()):
            kw["dports"] = draw(ports)
        if draw(st.integers(0, 3)) == 0:
            kw["sports"] = draw(ports)
    elif kind == "icmp" and family is not None:
        kw["protocols"] = R.single(1 if family == 4 else 58)
        if draw(st.booleans()):
            kw["icmp_types"] = draw(st.sampled_from([R.single(8), ((0, 0), (3, 11)),
                                                     ((200, 255),)]))
        if draw(st.booleans()):
            kw["icmp_codes"] = R.single(draw(st.integers(0, 255)))
    elif kind == "set":
        kw["protocols"] = draw(st.sampled_from([((47, 47), (50, 50)), ((0, 5),), ((89, 255),)]))
    return Match(**kw)  # type: ignore[arg-type]


@st.composite
def real_filters(draw: st.DrawFn) -> Filter:
    rules = []
    for i in range(draw(st.integers(0, 8))):
        ms = tuple(draw(st.lists(real_matches(), min_size=1, max_size=2)))
        xs = tuple(draw(st.lists(real_matches(), max_size=1))) if draw(st.booleans()) else ()
        rules.append(Rule(draw(st.sampled_from([P, D])), ms, SourceSpan("acl", i + 1), excludes=xs,
                          enabled=draw(st.integers(0, 7)) > 0))
    if draw(st.booleans()):  # rules covering each other with different actions
        rules.extend(replace(r, action=D if r.action is P else P) for r in list(rules[:2]))
    return Filter("f", tuple(rules), draw(st.sampled_from([P, D])))


V4_ONLY = Filter("f", (_rule(P, 1, family=4), _rule(D, 2, family=6), _rule(P, 3)), D)
MIXED = Filter("f", (
    _rule(D, 1, family=6, dst=((1 << 100, (1 << 101) - 1),), protocols=R.single(6)),
    _rule(P, 2, family=6),
    _rule(P, 3, family=4, protocols=R.single(17), dports=R.single(53)),
    _rule(D, 4, protocols=R.single(17), dports=R.single(53)),
    _rule(P, 5, family=4, dst=((0, (1 << 32) - 1),)),
), D)
EXCLUDES = Filter("f", (
    Rule(P, (Match(family=4, protocols=R.single(6)),), SourceSpan("acl", 1),
         excludes=(Match(family=4, dst=((10 << 24, (11 << 24) - 1),)),)),
    replace(_rule(D, 2, family=4, protocols=R.single(6)), enabled=False),
    _rule(D, 3, family=4, protocols=R.single(6), dst=((10 << 24, (10 << 24) + 255),)),
    _rule(P, 4, family=4, protocols=R.single(6)),
), P)


@given(real_filters())
@example(V4_ONLY)
@example(MIXED)
@example(EXCLUDES)
@example(Filter("f", (), P))
@settings(max_examples=60)
def test_same_nodes_real_universe(flt: Filter) -> None:
    same_analysis(flt, REAL)


@given(filters_st(), st.sampled_from([1, 200_000]))
@settings(max_examples=60)
def test_same_nodes_tiny(flt: Filter, compact_at: int) -> None:
    same_analysis(flt, TINY, compact_at)


@given(filters_st(u=TINY2))
@settings(max_examples=40)
def test_same_nodes_tiny2(flt: Filter) -> None:
    same_analysis(flt, TINY2)


@given(filters_st())
@settings(max_examples=30)
def test_classifier_same_answers(flt: Filter) -> None:
    pk = all_packets(TINY)
    got = filters.Classifier(flt, TINY).decide_many(pk)
    want = _python(lambda: filters.Classifier(flt, TINY).decide_many(pk))
    assert got == want


def test_benchmark_acl_agrees() -> None:
    """Statuses, covers and the permitted set of a 1k-rule benchmark ACL, in both modes."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        from engine import make_acl, make_packets  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    flt = make_acl(1000, 3)
    same_analysis(flt, REAL)
    same_analysis(flt, REAL, compact_at=2000)  # compactions between compositions
    pk = make_packets(flt, 3000, 3)
    assert filters.Classifier(flt).decide_many(pk) == _python(
        lambda: filters.Classifier(flt).decide_many(pk))


# -- hostile input: errors, never crashes ---------------------------------------------------


def _store() -> object:
    assert native._mddc is not None
    return native._mddc.Store(native.layout(REAL))


@pytest.mark.parametrize("lists", [
    ([0], [(5,)], [(-1, -2)]),               # level 0 digit is 1 bit: break 5 out of range
    ([3], [(5, 2)], [(-1, -2, -1)]),         # breaks not increasing
    ([3], [(5,)], [(-1,)]),                  # kids/breaks counts disagree
    ([3], [(5,)], [(0, -1)]),                # cycle
    ([3, 2], [(5,), (7,)], [(1, -1), (-2, -1)]),  # kid above its parent
    ([3], [(5,)], [(7, -1)]),                # kid out of range
    ([10**6], [(5,)], [(-1, -2)]),           # level out of range
    ([3], [("x",)], [(-1, -2)]),             # not an int
])
def test_load_rejects_bad_nodes(lists: tuple[list[object], list[object], list[object]]) -> None:
    store = _store()
    with pytest.raises((ValueError, TypeError, OverflowError)):
        store.load(list(lists[0]), list(lists[1]), list(lists[2]), [0])  # type: ignore[attr-defined]


def test_bad_calls_raise() -> None:
    store = _store()
    with pytest.raises(ValueError, match="sorted and disjoint"):
        store.rules([([(4, (None, None, None, None, None, None, ((5, 9), (1, 2)), None))], [])],
                    -1)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="bad box"):
        store.rules([([(5, (None,) * 8)], [])], -1)  # type: ignore[attr-defined]
    with pytest.raises((ValueError, TypeError)):
        store.rules([([(4, (None,) * 8 + (None,))], [])], -1)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="out of range"):
        store.export([10**6], [], [], [], [], {})  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="bad root"):
        store.lookup_many(10**6, [])  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        store.lookup_many(-1, [object()])  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="bad apply"):
        store.apply(0, -3, -4)  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError):
        native._mddc.Store.__new__(native._mddc.Store).count(0)  # type: ignore[union-attr]
    huge = store.rules([([(6, (None, None, None, None, None, None,  # type: ignore[attr-defined]
                                 ((0, 1 << 200),), None))], [])], -1)
    any6 = store.rules([([(6, (None,) * 8)], [])], -1)  # type: ignore[attr-defined]
    assert huge == any6


def _py_lists() -> tuple[list[int], list[object], list[object], list[object], dict[object, int]]:
    s = mdd.Store()
    return s.level, s.breaks, s.kids, s.und, s.unique  # type: ignore[return-value]


def test_no_leak() -> None:
    """C stores die with their owner: repeated analyses keep the RSS flat."""
    flt = Filter("f", tuple(_rule(P if i % 3 else D, i, family=4, protocols=R.single(6),
                                  dst=((i << 8, (i << 8) + 255),), dports=R.single(i))
                            for i in range(300)), D)
    u = REAL.fresh()

    def once() -> None:
        fa = filters.analyze(flt, u)
        assert [r.status for r in fa.rules].count("ok") > 0

    for _ in range(5):
        once()
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(60):
        once()
    gc.collect()
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 20_000, grown_kb


def test_lookup_real_packets() -> None:
    flt = MIXED
    pk = [Packet(6, 5, 1 << 100, 6, 1, 80), Packet(6, 5, (1 << 128) - 1, 17, 1, 53),
          Packet.make("10.0.0.1", "10.0.0.2", "udp", 9, 53),
          Packet.make("10.0.0.1", "255.255.255.255", "tcp", 9, 54),
          Packet.make("::1", "::2", "icmpv6", icmp_type=128)]
    clf = filters.Classifier(flt)
    assert clf.decide_many(pk) == [(flt.decide(p)[0], _idx(flt, p)) for p in pk]
    assert [clf.decide(p) for p in pk] == [(flt.decide(p)[0], _idx(flt, p)) for p in pk]


def _idx(flt: Filter, p: Packet) -> int | None:
    _, rule = flt.decide(p)
    return None if rule is None else next(i for i, r in enumerate(flt.rules) if r is rule)


_ANY_INT = st.one_of(st.integers(-6, 12), st.integers(-(2**31), 2**31),
                     st.integers(-(2**70), 2**70))
_ERRORS = (ValueError, TypeError, OverflowError, RuntimeError)


@given(
    st.lists(st.tuples(st.integers(-2, 50), st.lists(_ANY_INT, max_size=4),
                       st.lists(_ANY_INT, max_size=5)), max_size=6),
    st.lists(_ANY_INT, max_size=4),
    st.lists(st.tuples(st.sampled_from([0, 4, 6, 5, -1]),
                       st.lists(st.one_of(st.none(), st.lists(
                           st.tuples(_ANY_INT, _ANY_INT), max_size=3)), min_size=8,
                           max_size=8)), max_size=3),
)
@settings(max_examples=150)
def test_hostile_calls_never_crash(nodes: list[tuple[int, list[int], list[int]]],
                                   roots: list[int],
                                   boxes: list[tuple[int, list[object]]]) -> None:
    """Garbage in: exceptions, never a crash (a crash would take the test run down)."""
    store: Any = _store()
    ids: list[int] = []
    with contextlib.suppress(*_ERRORS):
        ids = store.load([n[0] for n in nodes], [tuple(n[1]) for n in nodes],
                         [tuple(n[2]) for n in nodes], roots)
    with contextlib.suppress(*_ERRORS):
        ids += store.rules([(boxes, boxes[:1])], -1)
    store.set_verdicts(bytes([1, 2, 0, 7]), 1)
    other = ids[0] if ids else -2
    pk = [Packet(6, 1, 2, 6, 3, 4), Packet(4, 1, 2, 17, 3, 4)]
    for a in [*ids, -1, -2, -3, -7, 10**6]:
        calls = (
            (store.apply, (1, a, other)), (store.permitted, (a, -2)), (store.first, (a,)),
            (store.dead, (a, ids, bytes(len(ids)))),
            (store.classify, (ids, list(range(len(ids))), [], 1, 2)),
            (store.lookup_many, (a, pk)), (store.export, ([a], *_py_lists())),
        )
        for fn, args in calls:
            with contextlib.suppress(*_ERRORS):
                fn(*args)


def test_classifier_root_is_the_classification() -> None:
    """``Classifier.root`` (exported on first read) is the analysis' classification."""
    for flt in (MIXED, EXCLUDES, V4_ONLY):
        clf = filters.Classifier(flt)
        assert clf.root == filters.analyze(flt).rules[0]._shared.classification
        assert clf.root == _python(filters.analyze, flt).rules[0]._shared.classification


def test_c_store_stays_hash_consed_across_compactions() -> None:
    """Pinned: compaction renumbers kids, so it must rehash the nodes whose kids it renamed
    (a stale hash put the next construction of the same node beside it: a duplicate, and
    diagrams no longer canonical). 3k benchmark rules, compacting often, showed it."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        from engine import make_acl
    finally:
        sys.path.pop(0)
    canonical_in_c(make_acl(3000, 1), REAL, 500)
