"""``reach._facts_of`` (the matrix's memoised description of a large set) says exactly what
the engine's ``PacketSet.summary`` and ``protocols_and_ports`` say (the oracle)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from segcheck.engine.packetset import PacketSet
from segcheck.engine.reach import _facts_of
from segcheck.model.rules import Match


@st.composite
def boxes(draw: st.DrawFn) -> Match:
    proto = draw(st.sampled_from([6, 17, 1, 47, None]))
    fam = draw(st.sampled_from([4, 6, None]))
    kw: dict[str, object] = {}
    if proto in (6, 17):
        lo = draw(st.integers(0, 65535))
        kw = {"protocols": ((proto, proto),),
              "dports": ((lo, min(65535, lo + draw(st.integers(0, 300)))),)}
    elif proto is not None:
        kw = {"protocols": ((proto, proto),)}
    if fam == 4 and draw(st.booleans()):
        a = draw(st.integers(0, 2**32 - 300))
        kw["src"] = ((a, a + draw(st.integers(0, 255))),)
    return Match(family=fam, **kw)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(st.lists(boxes(), min_size=0, max_size=25))
def test_facts_equal_engine_renderings(ms: list[Match]) -> None:
    ps = PacketSet.from_matches(ms)
    assert _facts_of(ps) == (ps.summary() if not ps.is_empty() else "nothing",
                             tuple(ps.protocols_and_ports()))
