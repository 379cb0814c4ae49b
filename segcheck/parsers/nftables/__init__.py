"""nftables: ``nft list ruleset`` text and ``nft -j list ruleset`` JSON -> ``Device``.

Model (see ``ir`` for the meaning of each match):

- every chain becomes a filter named ``"<family> <table>/<chain>"`` (``inet filter/forward``);
  regular chains are inlined into the chains that ``jump``/``goto`` them exactly as iptables
  user chains are (``return`` -> excludes on the later rules; ``goto`` also leaves the
  caller). A verdict map is expanded into one rule per element (elements are disjoint).
- base chains (``type filter|nat hook ... priority ...; policy ...``) become stages: a packet
  must pass *every* base chain on its path — ``accept`` ends only that chain, ``drop`` is
  final — ordered by hook (prerouting, forward/input, postrouting) then priority. The
  policy is the filter's default (``default_span`` = the ``policy`` line). nat chains join
  only when they can drop (they see the first packet of each connection).
- base chains on prerouting/output with priority below -200 run before conntrack, where the
  kernel sees every packet as INVALID: their ``ct state`` matches are resolved accordingly.
- a table of family ``ip`` (``ip6``) sees only IPv4 (IPv6) packets: its base-chain filters
  start with a synthetic rule that lets the other family through. ``inet`` sees both.
- ``arp``, ``bridge`` and ``netdev`` tables do not see routed IP traffic as modelled here;
  when they can drop packets an UNSUPPORTED diagnostic says so.
- NAT statements are recorded in ``Device.nat``; ``dnat``/``redirect`` change what the later
  chains see and are UNSUPPORTED (result incomplete); ``snat``/``masquerade`` are INFO.
- A rule with a selector or statement segcheck cannot model (``limit``, ``meta mark``,
  ``fib``, ``!=`` on a concatenation...) is dropped with an UNSUPPORTED diagnostic when it
  could decide (has a verdict); ``notrack`` (changes later ``ct state``) and ``queue``
  (user space decides) are UNSUPPORTED too.
- Malformed input never escapes as another exception: JSON of a shape nft never prints is a
  ``ConfigParseError`` at the offending top-level object (``jsonfmt``); in text, a base
  chain declaration missing a value, an unknown hook or a policy other than accept/drop is
  an ERROR diagnostic at its line (``text``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from segcheck.errors import ConfigParseError
from segcheck.model.device import Device, NatRule, Stage
from segcheck.model.rules import Action, Filter, Match, Rule
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers import common
from segcheck.parsers.nftables.ir import (
    NChain,
    NRule,
    NTable,
    Unsupported,
    Verdict,
    cond_matches,
    elem_matches,
    merged_neq_pairs,
    merges_neq,
)
from segcheck.parsers.nftables.jsonfmt import read_json
from segcheck.parsers.nftables.text import TextReader

__all__ = ["detect", "parse"]

FAMILIES = {"ip": 4, "ip6": 6, "inet": None}
FORWARD_HOOKS = {"prerouting": 0, "forward": 1, "postrouting": 2}
LOCAL_HOOKS = {"prerouting": 0, "input": 1}
MAX_DEPTH = 64


def detect(text: str) -> int:
    head = text[:200_000].lstrip()
    if head.startswith("{") and '"nftables"' in head[:2000]:
        return 95
    if re.search(r"^\s*table\s+((ip|ip6|inet|arp|bridge|netdev)\s+)?[\w.-]+\s*\{", head, re.M):
        return 90
    if re.search(r"^\s*(add|insert)\s+rule\s+", head, re.M):
        return 70
    if re.search(r"^\s*flush\s+ruleset", head, re.M):
        return 60
    return 0


def parse(
    text: str, path: str, *, name: str | None = None, nft_version: str | None = None
) -> Device:
    """Parse nft text or JSON (detected by the leading ``{``).

    ``nft_version``: the nft that loaded the ruleset, where it changes the meaning (see
    ``ir.merged_neq_pairs``); JSON carries it in ``metainfo``."""
    diags: list[Diagnostic] = []
    if text.lstrip().startswith("{"):
        meta: dict[str, str] = {}
        tables = read_json(text, path, diags.append, meta)
        nft_version = nft_version or meta.get("version")
    else:
        if detect(text) == 0 and text.strip() and not re.search(r"^\s*table\b", text, re.M):
            raise ConfigParseError("not nftables ruleset text or JSON", SourceSpan(path, 1))
        tables = TextReader(text, path, diags.append).read()
    builder = _Builder(path, diags)
    builder.nft_version = nft_version
    return builder.device(tables, name)


@dataclass
class _Compiled:
    matches: tuple[Match, ...]
    verdict: Verdict
    rule: NRule


class _Builder:
    def __init__(self, path: str, diags: list[Diagnostic]) -> None:
        self.path = path
        self.diags = diags
        self.nft_version: str | None = None
        self.nat: list[NatRule] = []

    def report(self, level: Level, msg: str, span: SourceSpan | None, code: str) -> None:
        self.diags.append(Diagnostic(level, msg, span, code))

    def device(self, tables: list[NTable], name: str | None) -> Device:
        filters: dict[str, Filter] = {}
        fwd: list[tuple[tuple[int, int], str]] = []
        loc: list[tuple[tuple[int, int], str]] = []
        for table in tables:
            if table.family not in FAMILIES:
                self._other_family(table)
                continue
            compiled = {c.name: self._compile(table, c) for c in table.chains.values()}
            for chain in table.chains.values():
                fname = f"{table.family} {table.name}/{chain.name}"
                rules = self._flatten(table, compiled, chain.name, None, (), (), [chain.name])
                if chain.base and chain.priority < -200 and chain.hook in ("prerouting", "output"):
                    rules = list(common.rules_before_conntrack(rules))  # before conntrack
                if chain.base:
                    other = {"ip": 6, "ip6": 4}.get(table.family)
                    if other is not None:
                        rules.insert(0, Rule(
                            Action.PERMIT, (Match(family=other),), table.span,
                            name=f"IPv{other} does not traverse {table.family} tables",
                            synthetic=True))
                    policy = Action.DENY if chain.policy == "drop" else Action.PERMIT
                    filters[fname] = Filter(fname, tuple(rules), policy, chain.policy_span)
                    self._stage(table, chain, fname, filters[fname], fwd, loc)
                else:
                    filters[fname] = Filter(
                        fname, tuple(rules), Action.PERMIT,
                        notes=("regular chain: a packet no rule decides returns to the "
                               "calling chain (shown as permit with rule null)",))
        return Device(
            name=name or self.path.rsplit("/", 1)[-1], vendor="nftables", path=self.path,
            filters=filters,
            forward=tuple(Stage(f) for _, f in sorted(fwd, key=lambda x: x[0])),
            local=tuple(Stage(f) for _, f in sorted(loc, key=lambda x: x[0])),
            nat=tuple(self.nat), diagnostics=tuple(dict.fromkeys(self.diags)),
        )

    def _stage(self, table: NTable, chain: NChain, fname: str, f: Filter,
               fwd: list[tuple[tuple[int, int], str]],
               loc: list[tuple[tuple[int, int], str]]) -> None:
        if chain.type not in ("filter", "nat"):
            return
        if chain.type == "nat" and not (f.default_action is Action.DENY or any(
                r.action is Action.DENY for r in f.rules)):
            return
        if chain.hook in FORWARD_HOOKS:
            fwd.append(((FORWARD_HOOKS[chain.hook], chain.priority), fname))
        if chain.hook in LOCAL_HOOKS:
            loc.append(((LOCAL_HOOKS[chain.hook], chain.priority), fname))

    def _other_family(self, table: NTable) -> None:
        drops = any(c.policy == "drop" or any(
            (r.verdict is not None and r.verdict.kind in ("drop", "reject")) or r.vmap
            for r in c.rules) for c in table.chains.values())
        level = Level.UNSUPPORTED if drops else Level.INFO
        self.report(level, f"table family {table.family!r} is not modelled"
                    + ("; its drops are not reflected in verdicts" if drops else ""),
                    table.span, "nftables.family")

    def _compile(self, table: NTable, chain: NChain) -> list[_Compiled]:
        fam = FAMILIES[table.family]
        base = Match(family=fam) if fam else Match()
        out: list[_Compiled] = []
        for rule in chain.rules:
            deciding = rule.vmap is not None or (
                rule.verdict is not None and rule.verdict.kind != "continue")
            if rule.nat:
                self._nat(rule, chain)
            if rule.problem:
                if deciding:
                    self.report(Level.UNSUPPORTED, f"{rule.problem}; rule dropped, verdicts it "
                                "could decide are incomplete", rule.span, "nftables.unsupported")
                else:
                    self.report(Level.INFO, "rule without a verdict cannot change one, so its "
                                f"unmodelled part does not matter ({rule.problem})", rule.span,
                                "nftables.unsupported")
                continue
            if rule.notrack:
                self.report(Level.UNSUPPORTED, "notrack changes the conntrack state later "
                            "rules see; not modelled", rule.span, "nftables.notrack")
            if not deciding:
                continue
            try:
                parts = self._parts(rule, table)
                ms = common.conjoin([(base,), *parts])
                out.extend(self._verdicts(table, rule, ms))
            except Unsupported as exc:
                self.report(Level.UNSUPPORTED, f"{exc}; rule dropped, verdicts it could decide "
                            "are incomplete", rule.span, "nftables.unsupported")
            except ValueError as exc:
                self.report(Level.ERROR, f"{exc}; rule dropped", rule.span, "nftables.syntax")
        return out

    def _parts(self, rule: NRule, table: NTable) -> list[tuple[Match, ...]]:
        """The rule's conditions as disjunctions, with nft's merge of ``!=`` pairs applied
        when the loading nft had it (see ``ir.merged_neq_pairs``)."""
        pairs = merged_neq_pairs(rule.conds)
        if not pairs:
            return [cond_matches(c, table.sets) for c in rule.conds]
        buggy = merges_neq(self.nft_version)
        if buggy is None:
            raise Unsupported(
                "nft before 1.1.0 compiles two '!=' matches on adjacent header fields into "
                "one comparison (true when either differs); which nft loaded this ruleset is "
                "not known (pass the version, or use 'nft -j' output)")
        if not buggy:
            return [cond_matches(c, table.sets) for c in rule.conds]
        paired = {id(c) for pair in pairs for c in pair}
        parts = [cond_matches(c, table.sets) for c in rule.conds if id(c) not in paired]
        for a, b in pairs:
            parts.append(cond_matches(a, table.sets) + cond_matches(b, table.sets))
        return parts

    def _verdicts(self, table: NTable, rule: NRule, ms: tuple[Match, ...]) -> list[_Compiled]:
        if rule.vmap is None:
            assert rule.verdict is not None
            return [_Compiled(ms, rule.verdict, rule)]
        keys, items = rule.vmap
        if isinstance(items, str):
            s = table.sets.get(items)
            if s is None or s.verdicts is None:
                raise ValueError(f"verdict map @{items} is not defined")
            if s.problem:
                raise Unsupported(f"map @{items}: {s.problem}")
            items = list(zip(s.elems, s.verdicts, strict=True))
        out = []
        for elem, verdict in items:
            em = elem_matches(keys, elem, table.sets)
            both = common.conjoin([ms, em])
            if both:
                out.append(_Compiled(both, verdict, rule))
        return out

    def _nat(self, rule: NRule, chain: NChain) -> None:
        self.nat.append(NatRule(rule.nat, rule.span, rule.span.text or "", modelled=False))
        if rule.nat in ("dnat", "redirect"):
            self.report(Level.UNSUPPORTED, f"{rule.nat} changes the destination later chains "
                        "see; not modelled, verdicts for the original destination are "
                        "incomplete", rule.span, "nftables.dnat")
        else:
            self.report(Level.INFO, f"{rule.nat} acts after filtering; verdicts unaffected",
                        rule.span, "nftables.snat")

    def _flatten(
        self,
        table: NTable,
        compiled: dict[str, list[_Compiled]],
        chain: str,
        guard: tuple[Match, ...] | None,
        excludes: tuple[Match, ...],
        via: tuple[SourceSpan, ...],
        stack: list[str],
    ) -> list[Rule]:
        """First-match form of ``chain`` under ``guard`` (the invariant is iptables')."""
        out: list[Rule] = []
        local_ex = list(excludes)
        for c in compiled[chain]:
            if guard is None:
                ms = c.matches
            else:
                ms = tuple(dict.fromkeys(m for g in guard for s in c.matches
                                         if (m := g.intersect(s)) is not None))
            v = c.verdict
            if v.kind in ("accept", "drop", "reject"):
                out.append(Rule(
                    Action.PERMIT if v.kind == "accept" else Action.DENY, ms, c.rule.span,
                    name=c.rule.comment, excludes=tuple(local_ex),
                    detail=v.detail or v.kind, extra_spans=via))
            elif v.kind == "return":
                local_ex.extend(c.matches)
            elif v.kind in ("jump", "goto"):
                target = table.chains.get(v.target)
                if target is None or target.base:
                    self.report(Level.ERROR, f"{v.kind} to {'base' if target else 'undefined'} "
                                f"chain {v.target!r}; rule dropped", c.rule.span,
                                "nftables.bad-jump")
                    continue
                if v.target in stack or len(stack) > MAX_DEPTH:
                    self.report(Level.ERROR, f"chain loop through {v.target!r}", c.rule.span,
                                "nftables.loop")
                    continue
                out.extend(self._flatten(table, compiled, v.target, ms, tuple(local_ex),
                                         (*via, c.rule.span), [*stack, v.target]))
                if v.kind == "goto":
                    local_ex.extend(c.matches)
            elif v.kind == "queue":
                self.report(Level.UNSUPPORTED, "queue hands the verdict to user space; rule "
                            "dropped", c.rule.span, "nftables.queue")
            else:
                self.report(Level.UNSUPPORTED, f"verdict {v.kind} {v.detail} not supported; rule "
                            "dropped", c.rule.span, "nftables.verdict")
        return out
