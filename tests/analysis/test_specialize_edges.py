"""``reach.specialize_kept`` (prepared once per filter, visiting only the rules whose match
conditions a pair satisfies) equals ``Filter.specialize`` on edge cases the random sites of
``test_reach_oracle`` rarely draw: rules that match nothing, conditions only on excludes,
several matches with different interfaces, and a prepared filter reused across pairs."""

from __future__ import annotations

from segcheck.engine.reach import kept_indices, prepare, specialize_kept
from segcheck.model.rules import Action, Filter, IfaceContext, IfaceMatch, Match, Rule
from segcheck.model.source import SourceSpan


def _on(name: str, out: bool = False, negate: bool = False) -> Match:
    cond = (IfaceMatch((name,), negate=negate),)
    return Match(out_iface=cond) if out else Match(in_iface=cond)


def test_edge_rules_specialize_like_the_reference() -> None:
    sp = SourceSpan("x", 1)
    rules = (
        Rule(Action.PERMIT, (), sp),  # matches nothing: never kept
        Rule(Action.PERMIT, (Match(),), sp),
        Rule(Action.DENY, (), sp, excludes=(_on("a"),)),
        Rule(Action.PERMIT, (_on("a"), _on("b")), sp, excludes=(_on("c", out=True),)),
        Rule(Action.DENY, (_on("e+"), Match(family=4)), sp),
        Rule(Action.PERMIT, (_on("a", negate=True),), sp, excludes=(Match(family=6),)),
    )
    flt = Filter("F", rules)
    prepared = prepare(flt)
    for i in ("a", "b", "eth0", None):
        for e in ("c", "d", None):
            ci, ce = IfaceContext(i), IfaceContext(e)
            for prep in (None, prepared):
                spec, kept = specialize_kept(flt, ci, ce, prep)
                assert spec == flt.specialize(ci, ce), (i, e)
                assert kept == kept_indices(flt, ci, ce), (i, e)
