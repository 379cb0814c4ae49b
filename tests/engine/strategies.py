"""Hypothesis strategies and brute-force oracles over a tiny, fully enumerable universe."""

from __future__ import annotations

from hypothesis import strategies as st

from segcheck.engine.mdd import Universe, universe
from segcheck.model import ranges as R
from segcheck.model.packet import ICMP, ICMPV6, PORT_PROTOCOLS, Packet
from segcheck.model.rules import Action, Filter, Match, Rule
from segcheck.model.source import SourceSpan

PROTOS = (1, 6, 17, 47, 58)
TINY = universe(v4_bits=2, v6_bits=2, port_bits=3, icmp_bits=1, protocols=PROTOS, digit_bits=1)
"""2-bit addresses, 8 ports, 2 ICMP types/codes; 1-bit digits exercise multi-level fields."""
TINY2 = universe(v4_bits=2, v6_bits=3, port_bits=3, icmp_bits=2, protocols=PROTOS, digit_bits=2)
"""Digits of 2 bits (a top digit narrower than the rest) and v6 wider than v4."""


def all_packets(u: Universe) -> list[Packet]:
    out = []
    protos = u.protocol_list()
    for fam in (4, 6):
        amax = (1 << (u.v4_bits if fam == 4 else u.v6_bits)) - 1
        pmax = (1 << u.port_bits) - 1
        imax = (1 << u.icmp_bits) - 1
        icmp = ICMP if fam == 4 else ICMPV6
        for proto in protos:
            if proto in PORT_PROTOCOLS:
                extra = [(s, d, 0, 0) for s in range(pmax + 1) for d in range(pmax + 1)]
            elif proto == icmp:
                extra = [(0, 0, t, c) for t in range(imax + 1) for c in range(imax + 1)]
            else:
                extra = [(0, 0, 0, 0)]
            for src in range(amax + 1):
                for dst in range(amax + 1):
                    out.extend(Packet(fam, src, dst, proto, *e) for e in extra)
    return out


def ranges_st(top: int) -> st.SearchStrategy[R.Ranges]:
    return st.lists(
        st.tuples(st.integers(0, top), st.integers(0, top)), min_size=1, max_size=3
    ).map(lambda ivs: R.normalize((min(a, b), max(a, b)) for a, b in ivs))


@st.composite
def matches(draw: st.DrawFn, u: Universe = TINY) -> Match:
    family = draw(st.sampled_from([None, 4, 6]))
    kw: dict[str, object] = {"family": family}
    if family is not None:
        amax = (1 << (u.v4_bits if family == 4 else u.v6_bits)) - 1
        if draw(st.booleans()):
            kw["src"] = draw(ranges_st(amax))
        if draw(st.booleans()):
            kw["dst"] = draw(ranges_st(amax))
    kind = draw(st.sampled_from(["any", "ports", "icmp", "set"]))
    pmax = (1 << u.port_bits) - 1
    if kind == "ports":
        kw["protocols"] = draw(st.sampled_from([R.single(6), R.single(17), ((6, 6), (17, 17))]))
        if draw(st.booleans()):
            kw["dports"] = draw(ranges_st(pmax))
        if draw(st.integers(0, 3)) == 0:
            kw["sports"] = draw(ranges_st(pmax))
    elif kind == "icmp" and family is not None:
        kw["protocols"] = R.single(ICMP if family == 4 else ICMPV6)
        imax = (1 << u.icmp_bits) - 1
        if draw(st.booleans()):
            kw["icmp_types"] = draw(ranges_st(imax))
        if draw(st.booleans()):
            kw["icmp_codes"] = draw(ranges_st(imax))
    elif kind == "set":
        kw["protocols"] = draw(ranges_st(255).filter(lambda r: r != ()))
    if draw(st.integers(0, 9)) == 0:
        kw["states"] = draw(st.sampled_from([frozenset({"established"}),
                                             frozenset({"new", "established"})]))
    return Match(**kw)  # type: ignore[arg-type]


@st.composite
def rules(draw: st.DrawFn, line: int = 1, u: Universe = TINY) -> Rule:
    ms = tuple(draw(st.lists(matches(u), min_size=1, max_size=2)))
    xs = tuple(draw(st.lists(matches(u), max_size=1))) if draw(st.integers(0, 4)) == 0 else ()
    return Rule(
        action=draw(st.sampled_from([Action.PERMIT, Action.DENY])),
        matches=ms,
        excludes=xs,
        span=SourceSpan("acl.txt", line),
        enabled=draw(st.integers(0, 9)) > 0,
    )


@st.composite
def filters(draw: st.DrawFn, max_rules: int = 7, u: Universe = TINY) -> Filter:
    n = draw(st.integers(0, max_rules))
    rs = tuple(draw(rules(i + 1, u)) for i in range(n))
    return Filter("f", rs, draw(st.sampled_from([Action.PERMIT, Action.DENY])))


def rule_index(flt: Filter, p: Packet) -> int | None:
    _, rule = flt.decide(p)
    if rule is None:
        return None
    return next(i for i, r in enumerate(flt.rules) if r is rule)
