"""Rule hygiene against brute force over every packet *and* every interface context, and
``segcheck rules`` end to end on an iptables export."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from segcheck.cli import main
from segcheck.engine.hygiene import FilterReport, RuleReport, audit_filter, rule_flags
from segcheck.model import ranges as R
from segcheck.model.device import Device, Interface
from segcheck.model.packet import Packet
from segcheck.model.rules import Action, Filter, IfaceContext, IfaceMatch, Match, Rule
from segcheck.model.source import SourceSpan

from .strategies import TINY, all_packets, matches

ALL_PACKETS = all_packets(TINY)
PACKETS = ALL_PACKETS[::7]  # a spread-out seventh keeps the oracle quick (all on a mismatch)
DEVICE = Device("fw", "test", "fw.cfg", {}, interfaces={
    "eth0": Interface("eth0", "inside"), "eth1": Interface("eth1", "outside"),
})
CONDS = [
    IfaceMatch(("eth0",)), IfaceMatch(("eth1",)), IfaceMatch(("eth+",)),
    IfaceMatch(("eth0",), negate=True), IfaceMatch(zones=("outside",)), IfaceMatch(("ppp0",)),
]
CONTEXTS = [
    IfaceContext(), IfaceContext("eth0", "inside"), IfaceContext("eth1", "outside"),
    IfaceContext("eth7", None), IfaceContext("ppp0", None), IfaceContext("lo", None),
    IfaceContext(None, "outside"), IfaceContext(None, "inside"),
]
"""The oracle's own contexts: more than the engine's representatives, chosen independently."""


@st.composite
def iface_rules(draw: st.DrawFn, line: int) -> Rule:
    ms = []
    for m in draw(st.lists(matches(TINY), min_size=1, max_size=2)):
        ins = tuple(draw(st.lists(st.sampled_from(CONDS), max_size=1)))
        outs = tuple(draw(st.lists(st.sampled_from(CONDS), max_size=1)))
        ms.append(replace(m, in_iface=ins, out_iface=outs))
    return Rule(draw(st.sampled_from([Action.PERMIT, Action.DENY])), tuple(ms),
                SourceSpan("fw.cfg", line), enabled=draw(st.integers(0, 9)) > 0)


@st.composite
def iface_filters(draw: st.DrawFn) -> Filter:
    n = draw(st.integers(0, 5))
    return Filter("f", tuple(draw(iface_rules(i + 1)) for i in range(n)),
                  draw(st.sampled_from([Action.PERMIT, Action.DENY])))


def _decisions(flt: Filter, packets: list[Packet] | None = None
               ) -> dict[tuple[int, int, Packet], int | None]:
    out = {}
    for a, ing in enumerate(CONTEXTS):
        for b, eg in enumerate(CONTEXTS):
            for p in PACKETS if packets is None else packets:
                _, rule = flt.decide(p, "new", ing, eg)
                out[(a, b, p)] = None if rule is None else next(
                    i for i, r in enumerate(flt.rules) if r is rule)
    return out


def _verdicts(flt: Filter, dec: dict[tuple[int, int, Packet], int | None]) -> dict[object, bool]:
    return {k: (flt.default_action if i is None else flt.rules[i].action) is Action.PERMIT
            for k, i in dec.items()}


E0 = (IfaceMatch(("eth0",)),)
# pinned: rules for different interfaces never shadow each other
APART = Filter("f", (
    Rule(Action.PERMIT, (Match(family=4, in_iface=E0),), SourceSpan("fw.cfg", 1)),
    Rule(Action.DENY, (Match(family=4, in_iface=(IfaceMatch(("eth1",)),)),),
         SourceSpan("fw.cfg", 2)),
    Rule(Action.DENY, (Match(family=4),), SourceSpan("fw.cfg", 3)),
), Action.PERMIT)


# pinned: rule 1's packets are absent from the oracle's sample, and removing rule 0 exposes
# them to its deny (the sampled oracle wanted "redundant"; every packet says "ok")
SAMPLE_MISS = Filter("f", (
    Rule(Action.PERMIT, (Match(in_iface=(IfaceMatch(("eth1",)),)),), SourceSpan("fw.cfg", 1)),
    Rule(Action.DENY, (Match(family=4, src=((3, 3),), dst=((1, 1),), protocols=R.single(1),
                             icmp_types=((0, 1),), icmp_codes=((0, 0),)),),
         SourceSpan("fw.cfg", 2)),
), Action.PERMIT)


@given(iface_filters())
@example(APART)
@example(SAMPLE_MISS)
@settings(max_examples=20)
def test_statuses_match_brute_force_over_contexts(flt: Filter) -> None:
    rep = audit_filter(DEVICE, flt, universe=TINY)
    sampled = _mismatches(flt, rep, None)
    if sampled:  # the sample can miss the packet that matters: decide on every packet
        assert _mismatches(flt, rep, ALL_PACKETS) == [], sampled


def _mismatches(flt: Filter, rep: FilterReport, packets: list[Packet] | None) -> list[str]:
    """The rules whose status disagrees with brute force over the oracle's contexts and
    these packets (default: the spread-out sample)."""
    dec = _decisions(flt, packets)
    base = _verdicts(flt, dec)
    bad: list[str] = []

    def expect(ok: bool, r: RuleReport) -> None:
        if not ok:
            bad.append(repr(r))

    for r in rep.rules:
        i, rule = r.index, r.rule
        if not rule.enabled:
            expect(r.status == "disabled", r)
            continue
        if not any(m.matches_new() for m in rule.matches) and rule.matches:
            expect(r.status == "ok", r)  # return traffic: outside the new-connection space
            continue
        decided = [k for k, j in dec.items() if j == i]
        without = replace(flt, rules=flt.rules[:i] + flt.rules[i + 1:])
        changes = _verdicts(without, _decisions(without, packets)) != base
        if changes:
            expect(r.status == "ok", r)
        elif decided:
            expect(r.status == "redundant", r)
        else:
            mine = [k for k in dec if rule.contains(k[2]) and any(
                m.iface_ok(CONTEXTS[k[0]], CONTEXTS[k[1]]) and m.contains(k[2])
                for m in rule.matches)]
            deciders = {dec[k] for k in mine} - {None}
            other = any(flt.rules[j].action != rule.action for j in deciders)
            expect(r.status == ("shadowed" if other else "redundant"), r)
            expect(set(r.covered_by) <= set(range(i)), r)
    return bad


def test_rule_flags() -> None:
    span = SourceSpan("fw.cfg", 1)
    anyrule = Rule(Action.PERMIT, (Match(),), span)
    assert rule_flags(anyrule) == ("any", "any-source", "any-destination", "any-service")
    tcp = Match(family=4, src=R.single(1), dst=R.single(2), protocols=R.single(6),
                dports=R.single(1000, 1016))
    assert rule_flags(Rule(Action.PERMIT, (tcp,), span)) == ("broad-ports",)
    assert rule_flags(Rule(Action.PERMIT, (tcp,), span), max_port_span=17) == ()
    established = Rule(Action.PERMIT, (Match(states=frozenset({"established", "related"})),),
                       span)
    assert rule_flags(established) == ("return-traffic",)
    allports = replace(tcp, dports=None)
    assert rule_flags(Rule(Action.DENY, (allports,), span, enabled=False)) == (
        "disabled", "broad-ports")


IPTABLES = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i eth1 -s 10.0.0.0/8 -p tcp --dport 502 -j ACCEPT
-A FORWARD -i eth2 -s 10.1.0.0/16 -p tcp --dport 502 -j DROP
-A FORWARD -i eth1 -s 10.1.0.0/16 -p tcp --dport 502 -j DROP
-A FORWARD -i eth1 -s 10.2.0.0/16 -p tcp --dport 502 -j ACCEPT
-A FORWARD -p tcp --dport 1000:2000 -j ACCEPT
-A FORWARD -j ACCEPT
COMMIT
"""


def test_rules_command_json(tmp_path: Path, capsys: object) -> None:
    cfg = tmp_path / "fw.rules"
    cfg.write_text(IPTABLES)
    out = tmp_path / "out.json"
    assert main(["rules", "--config", str(cfg), "--vendor", "iptables", "--format", "json",
                 "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    fwd = next(f for f in data["filters"] if f["filter"] == "FORWARD")
    got = {r["line"]: (r["status"], [c["line"] for c in r["covered_by"]]) for r in fwd["rules"]}
    assert got == {
        5: ("ok", []),  # removing it would let rule 7 deny 10.1/16 on eth1
        6: ("ok", []),  # eth2 is another interface class: not shadowed by rule 5
        7: ("shadowed", [5]),
        8: ("redundant", [5]),
        9: ("redundant", [10]),  # the accept-all below decides the same
        10: ("ok", []),
    }
    rule = fwd["rules"][0]
    assert set(rule) == {"file", "line", "name", "action", "status", "covered_by", "flags"}
    assert rule["file"] == str(cfg)
    assert "broad-ports" in fwd["rules"][4]["flags"]
    assert fwd["rules"][5]["flags"][0] == "any"


def test_rules_command_text_and_errors(tmp_path: Path, capsys: object) -> None:
    cfg = tmp_path / "fw.rules"
    cfg.write_text(IPTABLES)
    assert main(["rules", "--config", str(cfg), "--max-port-span", "5000"]) == 0
    text = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "filter FORWARD: 6 rules (3 ok, 1 shadowed, 2 redundant)" in text
    assert f"{cfg}:7: shadowed deny" in text
    assert "broad-ports" not in text
    assert main(["rules", "--config", str(tmp_path / "missing")]) == 2
    assert main(["rules", "--config", str(cfg), "--format", "xml"]) == 2
