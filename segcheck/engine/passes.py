"""Diagram passes behind first-match analysis (``segcheck.engine.filters``).

All functions take node ids of one ``Universe`` and return node ids or terminals. Naming:
``c`` is the first-match classification (terminals ``rule_leaf(i)`` or ``UNDECIDED``),
``m`` a rule's match (a boolean diagram), ``leaf`` a rule's terminal.

Each pass is memoised per call and skips regions that cannot matter: ``paint`` skips what
is already decided (``Store.undecided``), traversals follow ``m`` (only its non-FALSE
intervals are visited, found by bisection).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable

from segcheck.engine import native
from segcheck.engine.mdd import FALSE, LEAF, TRUE, UNDECIDED, Universe, splice
from segcheck.gcpause import unlink


def paint(u: Universe, c: int, m: int, leaf: int) -> int:
    """``c`` with its ``UNDECIDED`` points inside ``m`` replaced by ``leaf``."""
    store = u.store
    level, breaks, kids, mk = store.level, store.breaks, store.kids, store.mk
    mk_reduced, und, undecided = store.mk_reduced, store.und, store.undecided
    memo: dict[tuple[int, int], int] = {}

    def rec(c: int, m: int) -> int:
        if m == FALSE:
            return c
        if c < 0:
            if c != UNDECIDED:
                return c
            if m == TRUE:
                return leaf
        else:
            uc = und[c]
            if uc is None:
                uc = undecided(c)
            if not uc:
                return c
        key = (c, m)
        r = memo.get(key)
        if r is not None:
            return r
        lc = LEAF if c < 0 else level[c]
        lm = level[m] if m >= 0 else LEAF
        if lc < lm:  # m is open at this level: every kid, but decided ones without a call
            ks = kids[c]
            out = []
            for k in ks:
                if k >= 0:
                    uk = und[k]
                    if uk is None:
                        uk = undecided(k)
                    out.append(rec(k, m) if uk else k)
                else:
                    out.append(rec(k, m) if k == UNDECIDED else k)
            r = c if out == list(ks) else mk(lc, breaks[c], out)
        elif lm < lc:
            r = mk(lm, breaks[m], [rec(c, k) for k in kids[m]])
        else:
            bs, nk = splice(breaks[c], kids[c], breaks[m], kids[m], rec, FALSE)
            r = mk_reduced(lc, bs, nk)
        memo[key] = r
        return r

    try:
        return rec(c, m)
    finally:
        unlink(rec)  # frees its memo now (a self-referencing closure)


def leaves_within(u: Universe, c: int, m: int, stop: Iterable[int] = ()) -> set[int]:
    """The terminals ``c`` takes on the points of ``m`` (returns early on one in ``stop``)."""
    kids = u.store.kids
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
        todo.extend(_expand(u, c, m))
    return out


class Verdicts:
    """Which verdicts (bit 1: permit, bit 2: deny) a classification node can reach, memoised
    per node, so "does any rule deciding this region have another action?" costs the
    frontier of the region, not its size. Shared by ``c`` and ``c2`` (same terminals)."""

    def __init__(self, u: Universe, permit_of: Callable[[int], int]) -> None:
        self.u = u
        self.permit_of = permit_of
        self.memo: dict[int, int] = {}

    def of(self, n: int) -> int:
        if n < 0:
            return 1 if self.permit_of(n) == TRUE else 2
        got = self.memo.get(n)
        if got is None:
            got = 0
            for k in self.u.store.kids[n]:
                got |= self.of(k)
                if got == 3:
                    break
            self.memo[n] = got
        return got


def _expand(u: Universe, x: int, y: int) -> list[tuple[int, int]]:
    """The (kid of x, kid of y) pairs covering the non-FALSE points of ``y`` (bisection)."""
    store = u.store
    level, breaks, kids = store.level, store.breaks, store.kids
    lx, ly = level[x], level[y]
    if lx < ly:
        return [(k, y) for k in kids[x]]
    if ly < lx:
        return [(x, k) for k in kids[y] if k != FALSE]
    out: list[tuple[int, int]] = []
    bx, kx, by, ky = breaks[x], kids[x], breaks[y], kids[y]
    ny = len(ky)
    for j in range(ny):
        z = ky[j]
        if z == FALSE:
            continue
        i = bisect_right(bx, by[j - 1]) if j else 0
        iend = bisect_left(bx, by[j]) + 1 if j < ny - 1 else len(kx)
        out.extend((k, z) for k in kx[i:iend])
    return out


def other_verdict(
    u: Universe, pairs: list[tuple[int, int]], verdicts: Verdicts, bit: int
) -> bool:
    """Whether some point of some (c, m) pair has a verdict other than ``bit`` in ``c``.

    Subtrees whose every terminal has verdict ``bit`` are skipped without a visit
    (``Verdicts`` memo), and the walk stops at the first other verdict."""
    todo = list(pairs)
    seen: set[tuple[int, int]] = set()
    while todo:
        pair = todo.pop()
        x, y = pair
        if y == FALSE or pair in seen:
            continue
        seen.add(pair)
        if not verdicts.of(x) & ~bit:
            continue
        if x < 0 or y == TRUE:
            return True
        todo.extend(_expand(u, x, y))
    return False


def _split(u: Universe, n: int, lv: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Node ``n``'s partition at level ``lv`` (a single interval if ``n`` is below it)."""
    if n < 0 or u.store.level[n] != lv:
        return (), (n,)
    return u.store.breaks[n], u.store.kids[n]


def other_verdict_where(
    u: Universe, s: int, c: int, m: int, leaf: int, verdicts: Verdicts, bit: int
) -> bool:
    """``other_verdict(u, [(s, select(u, c, m, leaf))], verdicts, bit)`` without building
    the selection: a walk over (s, c, m) triples, pruned where ``m`` is FALSE, where ``c``
    is another terminal, and where ``s`` has only verdict ``bit`` (``c == leaf`` lies
    inside ``m`` for a rule's leaf, so ``m`` only prunes)."""
    store = u.store
    level = store.level
    todo = [(s, c, m)]
    seen: set[tuple[int, int, int]] = set()
    while todo:
        t = todo.pop()
        x, y, z = t
        if z == FALSE or (y < 0 and y != leaf) or t in seen:
            continue
        seen.add(t)
        if not verdicts.of(x) & ~bit:
            continue
        if y < 0:  # y == leaf: every point below is in the set, and x has another verdict
            return True
        lv = min(LEAF if x < 0 else level[x], level[y], LEAF if z < 0 else level[z])
        bx, kx = _split(u, x, lv)
        by, ky = _split(u, y, lv)
        bz, kz = _split(u, z, lv)
        nz, ny = len(kz), len(ky)
        for j in range(nz):
            zz = kz[j]
            if zz == FALSE:
                continue
            zlo = bz[j - 1] if j else 0
            zend = bz[j] if j < nz - 1 else None
            a0 = bisect_right(by, zlo) if j else 0
            a1 = bisect_left(by, zend) + 1 if zend is not None else ny
            for a in range(a0, a1):
                yy = ky[a]
                if yy < 0 and yy != leaf:
                    continue
                ylo = max(zlo, by[a - 1]) if a else zlo
                yend = by[a] if a < ny - 1 else None
                if zend is not None and (yend is None or zend < yend):
                    yend = zend
                b0 = bisect_right(bx, ylo)
                b1 = bisect_left(bx, yend) + 1 if yend is not None else len(kx)
                todo.extend((kx[b], yy, zz) for b in range(b0, b1))
    return False


def deciders(u: Universe, pairs: list[tuple[int, int]], cap: int) -> set[int]:
    """Up to ``cap`` terminals ``c`` takes on the points of ``m``, over (c, m) pairs."""
    out: set[int] = set()
    todo = list(pairs)
    seen: set[tuple[int, int]] = set()
    while todo and len(out) < cap:
        pair = todo.pop()
        x, y = pair
        if y == FALSE or pair in seen:
            continue
        seen.add(pair)
        if x < 0 or y == TRUE:
            _collect(u, x, out, cap)
            continue
        todo.extend(_expand(u, x, y))
    return out


def _collect(u: Universe, n: int, out: set[int], cap: int) -> None:
    todo = [n]
    seen: set[int] = set()
    kids = u.store.kids
    while todo and len(out) < cap:
        n = todo.pop()
        if n < 0:
            out.add(n)
        elif n not in seen:
            seen.add(n)
            todo.extend(kids[n])


def select(u: Universe, c: int, m: int, leaf: int) -> int:
    """The points of ``m`` where ``c == leaf``, as a boolean diagram (a rule's effective set).

    With the native kernel on, ``native.py_select`` builds it in C on the same store, step
    for step like ``select_py`` (same nodes in the same order)."""
    if native.enabled():
        return native.py_select(u, c, m, leaf)
    return select_py(u, c, m, leaf)


def select_py(u: Universe, c: int, m: int, leaf: int) -> int:
    """``select`` in Python (the reference)."""
    store = u.store
    level, breaks, kids, mk = store.level, store.breaks, store.kids, store.mk
    mk_reduced = store.mk_reduced
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
            bs, ks = splice(breaks[c], kids[c], breaks[m], kids[m], rec, None, FALSE, FALSE)
            r = mk_reduced(lc, bs, ks)
        memo[key] = r
        return r

    try:
        return rec(c, m)
    finally:
        unlink(rec)  # frees its memo now (a self-referencing closure)


def witness(u: Universe, c: int, m: int, leaf: int) -> dict[int, int] | None:
    """Digits (level -> value) of one point where ``c == leaf`` inside ``m``, if any.

    Depth first, ``m`` only prunes (``c == leaf`` lies inside ``m`` for a rule's leaf):
    its FALSE intervals are skipped by bisection and failed pairs are not revisited."""
    store = u.store
    level, breaks, kids = store.level, store.breaks, store.kids
    failed: set[tuple[int, int]] = set()
    path: dict[int, int] = {}

    def rec(c: int, m: int) -> bool:
        if m == FALSE:
            return False
        if c < 0:
            return c == leaf
        if (c, m) in failed:
            return False
        lc = level[c]
        lm = LEAF if m < 0 else level[m]
        if lc < lm:
            bc = breaks[c]
            for k, x in enumerate(kids[c]):
                if x < 0 and x != leaf:
                    continue
                if rec(x, m):
                    path[lc] = bc[k - 1] if k else 0
                    return True
        elif lm < lc:
            bm = breaks[m]
            for j, y in enumerate(kids[m]):
                if y != FALSE and rec(c, y):
                    path[lm] = bm[j - 1] if j else 0
                    return True
        else:
            bc, kc, bm, km = breaks[c], kids[c], breaks[m], kids[m]
            nm = len(km)
            for j in range(nm):
                y = km[j]
                if y == FALSE:
                    continue
                lo = bm[j - 1] if j else 0
                i = bisect_right(bc, lo) if j else 0
                iend = bisect_left(bc, bm[j]) + 1 if j < nm - 1 else len(kc)
                for k in range(i, iend):
                    x = kc[k]
                    if x < 0 and x != leaf:
                        continue
                    if rec(x, y):
                        path[lc] = max(lo, bc[k - 1]) if k else lo
                        return True
        failed.add((c, m))
        return False

    try:
        found = rec(c, m)
    finally:
        unlink(rec)  # frees its memo now (a self-referencing closure)
    return path if found else None


def lookup_levels(u: Universe, n: int, digits: dict[int, int]) -> int:
    """The terminal ``n`` reaches on the point with these digits (0 where unspecified)."""
    store = u.store
    while n >= 0:
        n = store.kids[n][bisect_right(store.breaks[n], digits.get(store.level[n], 0))]
    return n


def map_terminals(u: Universe, n: int, fn: Callable[[int], int]) -> int:
    """``n`` with every terminal ``t`` replaced by ``fn(t)``."""
    store = u.store
    level, breaks, kids, mk = store.level, store.breaks, store.kids, store.mk
    memo: dict[int, int] = {}

    def rec(n: int) -> int:
        if n < 0:
            return fn(n)
        r = memo.get(n)
        if r is None:
            r = memo[n] = mk(level[n], breaks[n], [rec(k) for k in kids[n]])
        return r

    try:
        return rec(n)
    finally:
        unlink(rec)  # frees its memo now (a self-referencing closure)
