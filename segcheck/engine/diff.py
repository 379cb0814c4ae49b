"""Reachability diff: what a change adds to and removes from each zone pair's matrix cell.

``matrix_diff(old, new)`` compares two ``ReachMatrix`` values over the union of their zone
pairs (and management cells). For each pair, ``added = new - old`` and
``removed = old - new`` are exact packet sets; a pair is reported only when one of them is
non-empty, with a witness drawn from each non-empty side. Both matrices must use the same
``PacketSet`` universe (the default one, in production).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from segcheck.engine.packetset import PacketSet
from segcheck.engine.reach import ReachMatrix


@dataclass(frozen=True)
class PairDiff:
    src: str
    dst: str
    added: PacketSet
    removed: PacketSet

    def to_json(self) -> dict[str, Any]:
        def side(ps: PacketSet) -> dict[str, Any] | None:
            if ps.is_empty():
                return None
            w = ps.sample()
            return {"summary": ps.summary(), "witness": w.to_json() if w else None}

        return {"src_zone": self.src, "dst_zone": self.dst,
                "added": side(self.added), "removed": side(self.removed)}


def matrix_diff(old: ReachMatrix, new: ReachMatrix) -> list[PairDiff]:
    out: list[PairDiff] = []
    for cells_old, cells_new, local in ((old.cells, new.cells, False),
                                        (old.local, new.local, True)):
        for key in sorted(set(cells_old) | set(cells_new)):
            a, b = key
            if a == b and not local:
                continue
            o = cells_old[key].permitted if key in cells_old else PacketSet.empty()
            n = cells_new[key].permitted if key in cells_new else PacketSet.empty()
            added, removed = n - o, o - n
            if added.is_empty() and removed.is_empty():
                continue
            out.append(PairDiff(a, f"device:{b}" if local else b, added, removed))
    return out
