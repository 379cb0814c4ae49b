"""The engine leaves no reference cycles behind (both modes).

``segcheck check`` runs its analysis with the cyclic collector paused
(``analysis.check.run_check``), so anything the engine leaves in a cycle lives until the
check ends: the pure-Python passes' recursive closures each held their memo (and a private
universe's whole store) that way until ``gcpause.unlink`` broke the self-reference
(a 1k-rule site's peak memory grew by 60 % with the collector paused). The stdlib's own
cycles (``ipaddress`` networks) are tolerated.
"""

from __future__ import annotations

import gc
import random

from segcheck.engine.filters import analyze, disagreement
from segcheck.engine.packetset import PacketSet
from segcheck.model import ranges as R
from segcheck.model.rules import Action, Filter, Match, Rule
from segcheck.model.source import SourceSpan


def _filter(seed: int, n: int) -> Filter:
    rng = random.Random(seed)

    def net() -> R.Ranges:
        plen = rng.choice((8, 16, 24, 32))
        base = rng.randrange(1 << 32) >> (32 - plen) << (32 - plen)
        return ((base, base + (1 << (32 - plen)) - 1),)

    rules = []
    for line in range(1, n + 1):
        port = rng.randrange(1, 1024)
        m = Match(family=4, src=net() if rng.random() < 0.8 else None, dst=net(),
                  protocols=R.single(rng.choice((6, 17))),
                  dports=((port, port + rng.choice((0, 0, 7))),))
        rules.append(Rule(rng.choice((Action.PERMIT, Action.PERMIT, Action.DENY)), (m,),
                          SourceSpan("acl", line)))
    return Filter("f", tuple(rules), Action.DENY)


def test_engine_work_leaves_no_reference_cycles() -> None:
    first, second = _filter(1, 120), _filter(2, 60)
    gc.collect()
    gc.disable()
    try:
        result = analyze(first)
        statuses = [r.status for r in result.rules]
        for r in result.rules[:40]:
            r.covered_by  # noqa: B018 (computed on first read)
            r.effective.sample()
        permitted = result.permitted
        other = analyze(second).permitted
        both = (permitted & other) | (permitted - other) | ~other
        both.to_matches()
        both.summary()
        disagreement(first, second).sample()
        PacketSet.from_matches(m for r in first.rules[:20] for m in r.matches).sample()
        assert {"ok", "shadowed", "redundant"} & set(statuses)
        del result, permitted, other, both
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [o for o in gc.garbage if not _stdlib_network_cycle(o)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []


def _stdlib_network_cycle(obj: object) -> bool:
    """``ipaddress`` makes a cycle per /31 (/127) network (``self.hosts = self.__iter__``);
    summaries build such networks. Not ours, three small objects each."""
    owner = getattr(obj, "__self__", obj)
    return type(owner).__module__ == "ipaddress"
