"""Vectorised lookups: walk a decision diagram for many packets at once with numpy.

``flatten`` turns the part of the node store reachable from a root into flat arrays; ``walk``
advances every packet one level per step (at most ``Universe.depth`` steps), finding the kid
of each node by one ``searchsorted`` over keys ``node << 17 | break`` (digits are at most 16
bits, so a node's breaks never collide with the next node's). Results are the terminals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from segcheck.engine.mdd import FIELDS, Universe
from segcheck.model.packet import Packet

_KEY_SHIFT = 17
_M64 = (1 << 64) - 1
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Flat:
    root: int
    """Renumbered root (>= 0) or the terminal itself (< 0)."""
    level: I64
    bstart: I64
    kstart: I64
    keys: I64
    kids: I64


def flatten(u: Universe, root: int) -> Flat:
    store = u.store
    order: list[int] = []
    index: dict[int, int] = {}
    todo = [root]
    while todo:
        n = todo.pop()
        if n < 0 or n in index:
            continue
        index[n] = len(order)
        order.append(n)
        todo.extend(store.kids[n])
    level = np.array([store.level[n] for n in order], dtype=np.int64)
    keys: list[int] = []
    kids: list[int] = []
    bstart: list[int] = []
    kstart: list[int] = []
    for new, n in enumerate(order):
        bstart.append(len(keys))
        kstart.append(len(kids))
        keys.extend((new << _KEY_SHIFT) | b for b in store.breaks[n])
        kids.extend(index[k] if k >= 0 else k for k in store.kids[n])
    return Flat(
        root=index[root] if root >= 0 else root,
        level=level,
        bstart=np.array(bstart, dtype=np.int64),
        kstart=np.array(kstart, dtype=np.int64),
        keys=np.array(keys, dtype=np.int64),
        kids=np.array(kids, dtype=np.int64),
    )


def _level_tables(u: Universe) -> tuple[I64, npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    depth = u.depth
    fld = np.array([u.field_of_level(lv) for lv in range(depth)], dtype=np.int64)
    shift = np.zeros((2, depth), dtype=np.uint64)
    width = np.zeros((2, depth), dtype=np.uint64)
    for fi, fam in enumerate((4, 6)):
        for f in range(len(FIELDS)):
            for lv, w, sh in u.digits(f, fam):
                shift[fi, lv] = sh
                width[fi, lv] = w
    return fld, shift, width


def walk(u: Universe, flat: Flat, packets: Sequence[Packet]) -> list[int]:
    """The terminal each packet reaches (packets must fit the universe)."""
    n = len(packets)
    if n == 0:
        return []
    if flat.root < 0:
        return [flat.root] * n
    fld, shift_t, width_t = _level_tables(u)
    ver = np.fromiter((0 if p.version == 4 else 1 for p in packets), dtype=np.int64, count=n)
    rows_hi: list[npt.NDArray[np.uint64]] = []
    rows_lo: list[npt.NDArray[np.uint64]] = []
    for name in FIELDS:
        if name == "version":
            vals = ver.astype(np.uint64)
            rows_hi.append(np.zeros(n, dtype=np.uint64))
            rows_lo.append(vals)
        elif name in ("src", "dst"):
            raw = [getattr(p, name) for p in packets]
            rows_hi.append(np.fromiter((x >> 64 for x in raw), dtype=np.uint64, count=n))
            rows_lo.append(np.fromiter((x & _M64 for x in raw), dtype=np.uint64, count=n))
        else:
            rows_hi.append(np.zeros(n, dtype=np.uint64))
            rows_lo.append(np.fromiter((getattr(p, name) for p in packets), dtype=np.uint64,
                                       count=n))
    vh = np.stack(rows_hi)
    vl = np.stack(rows_lo)
    node = np.full(n, flat.root, dtype=np.int64)
    one = np.uint64(1)
    for _ in range(u.depth + 1):
        active = np.nonzero(node >= 0)[0]
        if active.size == 0:
            break
        cur = node[active]
        lv = flat.level[cur]
        fam = ver[active]
        f = fld[lv]
        sh = shift_t[fam, lv]
        w = width_t[fam, lv]
        hi = vh[f, active]
        lo = vl[f, active]
        big = sh >= 64
        d_hi = hi >> np.where(big, sh - np.uint64(64) * big, np.uint64(0))
        d_lo = lo >> np.where(big, np.uint64(0), sh)
        cross = (~big) & (sh + w > 64) & (sh > 0)
        up = np.where(cross, np.uint64(64) - np.where(cross, sh, np.uint64(1)), np.uint64(1))
        d_lo = d_lo | np.where(cross, hi << up, np.uint64(0))
        digit = np.where(big, d_hi, d_lo) & ((one << w) - one)
        key = (cur << _KEY_SHIFT) | digit.astype(np.int64)
        pos = np.searchsorted(flat.keys, key, side="right")
        node[active] = flat.kids[flat.kstart[cur] + (pos - flat.bstart[cur])]
    return [int(x) for x in node]
