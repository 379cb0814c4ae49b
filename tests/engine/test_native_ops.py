"""The native operations on the Python store (``native.py_apply``, ``py_leaves_within``)
against the pure-Python passes they replace: the same results, and for ``py_apply`` the same
nodes created in the same order (the store's lists compare equal afterwards), so every node id
of a run is what the pure-Python path gives.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from segcheck.engine import filters, mdd, native, passes
from segcheck.engine.mdd import (
    AND,
    DIFF,
    FALSE,
    FIELDS,
    OR,
    PROTO,
    TRUE,
    XOR,
    Universe,
)
from segcheck.engine.packetset import PacketSet, _follow, _groups_py, _Rows, cover_rows
from segcheck.model import ranges as R
from segcheck.model.rules import Filter, Match

from .strategies import TINY, TINY2
from .strategies import filters as filters_st
from .strategies import matches as matches_st

MODES_COMPARED = True
"""Each test compares the native call with the Python pass itself (native pass only)."""
REAL = mdd.default_universe()
OPS = [AND, OR, DIFF]

pytestmark = pytest.mark.skipif(not native.available(), reason="segcheck.engine._mddc not built")


def _snapshot(u: Universe) -> tuple[list[Any], ...]:
    s = u.store
    return list(s.level), list(s.breaks), list(s.kids), list(s.und), list(s.unique.items())


def _restore(u: Universe, snap: tuple[list[Any], ...]) -> None:
    s = u.store
    s.level[:], s.breaks[:], s.kids[:], s.und[:] = snap[0], snap[1], snap[2], snap[3]
    s.unique.clear()
    s.unique.update(snap[4])


def _python(fn: Any, *args: Any) -> Any:
    old = os.environ.get("SEGCHECK_NATIVE")
    os.environ["SEGCHECK_NATIVE"] = "0"
    try:
        return fn(*args)
    finally:
        os.environ["SEGCHECK_NATIVE"] = old if old is not None else "1"


def same_apply(u: Universe, ms_a: list[Match], ms_b: list[Match]) -> None:
    """Every op on the two sets, Python then C from the same store: equal results and equal
    stores (same nodes, same order)."""
    a = PacketSet.from_matches(ms_a, u).node
    b = PacketSet.from_matches(ms_b, u).node
    for x, y in ((a, b), (b, a), (a, a), (a, TRUE), (FALSE, b), (u.canonical, a)):
        for op in OPS:
            before = _snapshot(u)
            want = u.apply(op, x, y)
            after_py = _snapshot(u)
            _restore(u, before)
            got = native.py_apply(u, op, x, y)
            assert got == want
            assert _snapshot(u) == after_py


@given(st.lists(matches_st(), min_size=1, max_size=4), st.lists(matches_st(), max_size=4))
@settings(max_examples=80)
def test_apply_same_nodes_tiny(ms_a: list[Match], ms_b: list[Match]) -> None:
    same_apply(TINY.fresh(), ms_a, ms_b)


@given(st.lists(matches_st(u=TINY2), min_size=1, max_size=4),
       st.lists(matches_st(u=TINY2), max_size=4))
@settings(max_examples=60)
def test_apply_same_nodes_tiny2(ms_a: list[Match], ms_b: list[Match]) -> None:
    same_apply(TINY2.fresh(), ms_a, ms_b)


def _net(a: int, b: int, c: int, length: int) -> R.Ranges:
    lo = (a << 24) | (b << 16) | (c << 8)
    return R.single(lo, lo + (1 << (32 - length)) - 1)


REAL_A = [Match(family=4, protocols=R.single(6), src=_net(10, k, 0, 16), dst=_net(10, 1, k, 24),
                dports=R.single(100 + k, 100 + 3 * k)) for k in range(12)]
REAL_B = [Match(family=4, protocols=((6, 6), (17, 17)), dst=_net(10, 1, 0, 16),
                src=_net(10, k, 7, 24)) for k in range(0, 12, 2)] + [Match(family=6)]


def test_apply_same_nodes_real_universe() -> None:
    same_apply(REAL.fresh(), REAL_A, REAL_B)
    same_apply(REAL.fresh(), REAL_B, [Match(family=4, dst=_net(10, 1, 3, 24))])


def test_packetset_operators_use_it_and_agree() -> None:
    """The operators route through ``py_apply`` and answer as the Python path does."""
    u = REAL.fresh()
    a, b = PacketSet.from_matches(REAL_A, u), PacketSet.from_matches(REAL_B, u)
    nat = (a & b, a | b, a - b, ~a, a <= a | b, b <= a)
    py = _python(lambda: (a & b, a | b, a - b, ~a, a <= a | b, b <= a))
    assert nat == py
    assert (a & b).node == native.py_apply(u, AND, a.node, b.node)


def test_apply_falls_back() -> None:
    """XOR has no native splice: it runs ``u.apply``; so does everything under
    ``SEGCHECK_NATIVE=0``."""
    u = REAL.fresh()
    a, b = PacketSet.from_matches(REAL_A, u).node, PacketSet.from_matches(REAL_B, u).node
    assert native.py_apply(u, XOR, a, b) == u.apply(XOR, a, b)
    assert _python(native.py_apply, u, AND, a, b) == u.apply(AND, a, b)


@given(filters_st(), st.lists(matches_st(), max_size=3), st.integers(0, 3))
@example(Filter("f", (), filters.Action.PERMIT), [], 0)
@settings(max_examples=80)
def test_leaves_within_same_terminals(flt: Filter, ms: list[Match], nstop: int) -> None:
    """The terminals of a classification inside a set, with and without early stops."""
    u = TINY.fresh()
    fa = _python(filters.analyze, flt, u)
    c = fa.rules[0]._shared.classification if fa.rules else mdd.UNDECIDED
    m = PacketSet.from_matches(ms, u).node
    for mm in (m, TRUE, FALSE, u.canonical):
        want = passes.leaves_within(u, c, mm)
        assert native.py_leaves_within(u, c, mm) == want
        stops = sorted(want)[:nstop]
        assert native.py_leaves_within(u, c, mm, stops) == passes.leaves_within(u, c, mm, stops)
    assert _python(native.py_leaves_within, u, c, m) == passes.leaves_within(u, c, m)


def same_groups(u: Universe, ms: list[Match]) -> int:
    """Every field of every node of the set read both ways (the nodes below each field are
    where ``to_matches`` reads the next one), and the whole cover in both modes."""
    root = PacketSet.from_matches(ms, u).node
    nodes = {root}
    todo = [root]
    while todo:
        n = todo.pop()
        if n >= 0:
            for k in u.store.kids[n]:
                if k not in nodes:
                    nodes.add(k)
                    todo.append(k)
    split = 0
    for n in sorted(nodes):
        for f in range(1, len(FIELDS)):
            for fam in (4, 6):
                digits = u.digits(f, fam)
                if n >= 0 and u.store.level[n] < digits[0][0]:
                    continue  # read a field only from nodes at or below its top (as to_matches)
                if u.bits(f, fam) <= native.GROUPS_MAX_BITS:
                    got = native.py_groups(u, n, digits)
                    assert got == _groups_py(u, n, f, fam)
                    split += len(got) > 1
    assert cover_rows(u, root) == _python(cover_rows, u, root)
    rows = _Rows(u)
    for fam in (4, 6):
        top = _follow(u, root, mdd.VERSION, fam, 0 if fam == 4 else 1)
        pnodes = [n for _, n in _groups_py(u, top, PROTO, fam)] if top != FALSE else []
        for kind in ("ports", "icmp", "other"):
            spec = rows.spec(fam, kind)
            if spec is not None and pnodes:
                want = [_python(_Rows(u).below, n, 0, fam, kind) for n in pnodes]
                assert native.py_rows(u, spec, pnodes) == want
                split += sum(len(w) > 1 for w in want)
    return split


@given(st.lists(matches_st(), max_size=4))
@settings(max_examples=80)
def test_groups_same_tiny(ms: list[Match]) -> None:
    same_groups(TINY.fresh(), ms)


@given(st.lists(matches_st(u=TINY2), max_size=4))
@settings(max_examples=60)
def test_groups_same_tiny2(ms: list[Match]) -> None:
    same_groups(TINY2.fresh(), ms)


def test_groups_same_real_universe() -> None:
    assert same_groups(REAL.fresh(), REAL_A + REAL_B) > 10  # fields really split


@given(filters_st(), st.lists(matches_st(), max_size=3))
@settings(max_examples=80)
def test_select_same_nodes(flt: Filter, ms: list[Match]) -> None:
    """A rule's effective set (``passes.select``) built in C: the same nodes, in the same
    order, as the Python recursion; for each rule's leaf, over its match and over others."""
    u = TINY.fresh()
    fa = _python(filters.analyze, flt, u)
    c = fa.rules[0]._shared.classification if fa.rules else mdd.UNDECIDED
    extra = PacketSet.from_matches(ms, u).node
    for i in range(len(flt.rules)):
        for m in (fa.rules[i]._shared.match(i), extra, TRUE, FALSE):
            _select_agrees(u, c, m, i)


def _select_agrees(u: mdd.Universe, c: int, m: int, i: int) -> int:
    """``py_select`` returns ``select_py``'s node and leaves the store exactly as the Python
    recursion does (same nodes, same order); returns that node."""
    before = _snapshot(u)
    want = passes.select_py(u, c, m, mdd.rule_leaf(i))
    after_py = _snapshot(u)
    _restore(u, before)
    assert native.py_select(u, c, m, mdd.rule_leaf(i)) == want
    assert _snapshot(u) == after_py
    return want


def test_select_real_universe() -> None:
    from .test_native import EXCLUDES, MIXED

    for flt in (MIXED, EXCLUDES):
        u = REAL.fresh()
        fa = _python(filters.analyze, flt, u)
        c = fa.rules[0]._shared.classification
        nonempty = 0
        for i in range(len(flt.rules)):
            nonempty += _select_agrees(u, c, fa.rules[i]._shared.match(i), i) != FALSE
        assert nonempty >= 2


# -- hostile input: errors, never crashes ---------------------------------------------------


def test_bad_calls_raise() -> None:
    s = mdd.Store()
    lists = (s.level, s.breaks, s.kids)
    assert native._mddc is not None
    store: Any = native._mddc.Store
    with pytest.raises(ValueError, match="undefined"):
        store.py_apply(0, *lists, s.und, s.unique, 8, -4, -5)  # two rule leaves
    with pytest.raises(ValueError, match="op must be"):
        store.py_apply(3, *lists, s.und, s.unique, 8, -1, -2)
    with pytest.raises(ValueError, match="out of range"):
        store.py_apply(0, *lists, s.und, s.unique, 8, 0, 1)
    s.level.append(0)
    s.breaks.append((1,))
    s.kids.append((-4, -5))
    with pytest.raises(ValueError, match="boolean"):
        store.py_leaves_within(*lists, 8, 0, -4, ())
    assert store.py_apply(0, *lists, s.und, s.unique, 8, -2, 0) == 0  # TRUE & n = n
    assert store.py_leaves_within(*lists, 8, 0, -2, ()) == {-4, -5}


_ANY_INT = st.one_of(st.integers(-6, 8), st.integers(-(2**31), 2**31),
                     st.integers(-(2**70), 2**70))


@given(
    st.lists(st.tuples(st.one_of(st.integers(-2, 9), st.just("x")),
                       st.lists(_ANY_INT, max_size=4), st.lists(_ANY_INT, max_size=5)),
             max_size=6),
    st.lists(_ANY_INT, min_size=2, max_size=4),
    st.integers(-1, 9),
)
@settings(max_examples=200)
def test_hostile_calls_never_crash(nodes: list[tuple[object, list[int], list[int]]],
                                   roots: list[int], depth: int) -> None:
    """Garbage in (cycles, kids above parents, unsorted breaks, huge ints): exceptions or some
    answer, never a crash (a crash would take the test run down)."""
    assert native._mddc is not None
    store: Any = native._mddc.Store
    level = [n[0] for n in nodes]
    breaks = [tuple(n[1]) for n in nodes]
    kids = [tuple(n[2]) for n in nodes]
    und: list[object] = [None] * len(nodes)
    unique: dict[object, int] = {}
    for a in roots:
        for b in roots:
            for op in (0, 1, 2):
                with contextlib.suppress(ValueError, TypeError, OverflowError):
                    store.py_apply(op, level, breaks, kids, und, unique, depth, a, b)
            with contextlib.suppress(ValueError, TypeError, OverflowError):
                store.py_leaves_within(level, breaks, kids, depth, a, b, roots)
        for digits in (((0, 2, 2), (1, 2, 0)), ((1, 1, 0),), ((2, 3, 0), (1, 1, 0)), ()):
            with contextlib.suppress(ValueError, TypeError, OverflowError):
                store.py_groups(level, breaks, kids, depth, digits, a)
        specs: list[object] = [((True, ((1, 2, 0),)), (False, ((2, 1, 0),)), (True, ((3, 2, 0),))),
                               ((False, ((0, 1, 1), (1, 1, 0))),), (("x", ()),), ()]
        for spec in specs:
            with contextlib.suppress(ValueError, TypeError, OverflowError):
                store.py_rows(level, breaks, kids, depth, spec, roots)
        for b in roots:
            with contextlib.suppress(ValueError, TypeError, OverflowError):
                store.py_select(level, breaks, kids, und, unique, depth, a, b, -5)
