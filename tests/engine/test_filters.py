"""Filter analysis against brute force: permitted, effective, statuses, covering rules,
disagreement and the classifier, on every packet of a tiny universe."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import example, given, settings
from hypothesis import strategies as st

from segcheck.engine.filters import Classifier, analyze, disagreement, permitted
from segcheck.engine.mdd import TRUE
from segcheck.engine.packetset import PacketSet
from segcheck.engine.vector import flatten, walk
from segcheck.model import ranges as R
from segcheck.model.packet import Packet
from segcheck.model.rules import Action, Filter, Match, Rule
from segcheck.model.source import SourceSpan

from .strategies import TINY, all_packets, filters, rule_index

PACKETS = all_packets(TINY)


def as_set(s: PacketSet) -> frozenset[Packet]:
    hits = walk(TINY, flatten(TINY, s.node), PACKETS)
    out = frozenset(p for p, t in zip(PACKETS, hits, strict=True) if t == TRUE)
    assert all((p in out) == s.contains(p) for p in PACKETS[::97])
    return out


def permits(flt: Filter) -> frozenset[Packet]:
    return frozenset(p for p in PACKETS if flt.decide(p)[0] is Action.PERMIT)


def _rule(action: Action, line: int, **kw: object) -> Rule:
    return Rule(action, (Match(**kw),), SourceSpan("acl", line))  # type: ignore[arg-type]


P, D = Action.PERMIT, Action.DENY
# pinned: a rule whose match is covered by two earlier rules of different actions
SPLIT = Filter("f", (
    _rule(P, 1, family=4, src=((0, 1),)),
    _rule(D, 2, family=4, src=((2, 3),)),
    _rule(P, 3, family=4),
), D)
# pinned: a live rule removable because the default decides the same
TAIL = Filter("f", (_rule(D, 1, protocols=R.single(6)), _rule(D, 2)), D)
# pinned: a rule only dead because of a later-disabled twin
TWIN = Filter("f", (
    replace(_rule(P, 1, family=6), enabled=False), _rule(P, 2, family=6), _rule(D, 3, family=6),
), P)


@given(filters())
@example(SPLIT)
@example(TAIL)
@example(TWIN)
@settings(max_examples=40)
def test_analysis_matches_brute_force(flt: Filter) -> None:
    fa = analyze(flt, TINY)
    want = permits(flt)
    assert as_set(fa.permitted) == want
    assert permitted(flt, TINY) == fa.permitted
    tight = analyze(flt, TINY, compact_at=1)  # compacting the workspace after every rule
    assert tight.permitted == fa.permitted
    assert [(r.status, r.covered_by) for r in tight.rules] == [
        (r.status, r.covered_by) for r in fa.rules]
    decider = {p: rule_index(flt, p) for p in PACKETS}
    for ra in fa.rules:
        i, rule = ra.index, ra.rule
        assert flt.rules[i] is rule
        eff = frozenset(p for p, k in decider.items() if k == i)
        assert as_set(ra.effective) == eff
        if not rule.enabled:
            assert ra.status == "disabled"
            continue
        mine = frozenset(p for p in PACKETS if rule.contains(p))
        if not eff:
            deciders = {decider[p] for p in mine} - {None}
            assert set(ra.covered_by) == deciders
            assert all(j < i for j in deciders)
            other = any(flt.rules[j].action != rule.action for j in deciders)
            assert ra.status == ("shadowed" if other else "redundant")
            continue
        without = replace(flt, rules=flt.rules[:i] + flt.rules[i + 1:])
        removable = permits(without) == want
        assert ra.status == ("redundant" if removable else "ok"), ra
        if removable:
            later = {rule_index(without, p) for p in eff} - {None}
            assert {j - 1 for j in ra.covered_by} == later  # indices shift by one without i
            assert all(j > i for j in ra.covered_by)


@given(filters(max_rules=5), filters(max_rules=5))
@settings(max_examples=30)
def test_disagreement_matches_brute_force(f1: Filter, f2: Filter) -> None:
    got = disagreement(f1, f2, TINY)
    assert as_set(got) == permits(f1) ^ permits(f2)


@given(filters(), st.lists(st.sampled_from(["new", "established"]), min_size=1, max_size=1))
@settings(max_examples=40)
def test_classifier_matches_reference(flt: Filter, state: list[str]) -> None:
    clf = Classifier(flt, TINY)
    for p in PACKETS[::7]:
        assert clf.decide(p, state[0]) == (flt.decide(p, state[0])[0], _idx(flt, p, state[0]))
    many = clf.decide_many(PACKETS)
    assert many == [(flt.decide(p)[0], rule_index(flt, p)) for p in PACKETS]
    states = ["new" if k % 3 else state[0] for k in range(len(PACKETS))]
    mixed = clf.decide_many(PACKETS, states)
    assert mixed == [(flt.decide(p, s)[0], _idx(flt, p, s)) for p, s in zip(PACKETS, states,
                                                                              strict=True)]


def _idx(flt: Filter, p: Packet, state: str) -> int | None:
    _, rule = flt.decide(p, state)
    return None if rule is None else next(i for i, r in enumerate(flt.rules) if r is rule)


def test_classifier_real_universe_v6() -> None:
    flt = Filter("f", (
        _rule(D, 1, family=6, dst=((1 << 100, (1 << 101) - 1),), protocols=R.single(6)),
        _rule(P, 2, family=6),
        _rule(P, 3, family=4, protocols=R.single(17), dports=R.single(53)),
    ), D)
    clf = Classifier(flt)
    pk = [
        Packet(6, 5, 1 << 100, 6, 1, 80), Packet(6, 5, 1 << 101, 6, 1, 80),
        Packet.make("10.0.0.1", "10.0.0.2", "udp", 9, 53),
        Packet.make("10.0.0.1", "10.0.0.2", "udp", 9, 54),
    ]
    want = [(D, 0), (P, 1), (P, 2), (D, None)]
    assert clf.decide_many(pk) == want
    assert [clf.decide(p) for p in pk] == want
