"""iptables chains -> first-match ``Filter``s, and the ``Device`` they make.

Inlining (exact, first-match form; the invariant each step keeps is "a packet reaches rule
*r* of the flattened list iff the kernel would evaluate the original rule *r* for it, given
that no earlier flattened rule decided it"):

- ``-j CHAIN`` under match *M*: the rules of CHAIN are inserted in place, each intersected
  with *M*; when CHAIN runs out the packet continues after the jump — which first-match order
  gives for free.
- ``RETURN`` with match *X* inside a chain: every later rule of that chain (and everything
  inlined into them) gets *X* added to its ``excludes`` — a packet matching *X* left the chain.
  Earlier-decided packets are already gone, so excluding them again is harmless and exact.
  In a built-in chain a ``RETURN`` means "apply the policy": excluding later rules lets the
  filter's ``default_action`` (the policy) decide, exactly.
- ``-g CHAIN`` under *M*: inlined like a jump, but when CHAIN runs out the packet also leaves
  the calling chain, so *M* is then added to the excludes of the caller's later rules.
- non-terminating targets (``LOG``, ``NFLOG``, ``MARK``...) are skipped: they never decide.
- the raw table runs before conntrack, where the kernel sees every packet as INVALID: its
  state matches are resolved accordingly (``common.before_conntrack``).

Kernel order of the tables on the hooks (stages, each of which a packet must pass): raw →
mangle → (nat) → filter → security. Chains of raw/mangle/security become stages only when they
can drop something; nat never filters (DNAT is reported, see ``__init__``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from segcheck.model.rules import Action, Filter, Match, Rule, fast_rule
from segcheck.model.source import Level, SourceSpan
from segcheck.parsers import common
from segcheck.parsers.iptables.rulespec import (
    NAT_TARGETS,
    NON_TERMINATING,
    STATE_CHANGING,
    TERMINAL,
    USERSPACE,
    RuleSpec,
)

BUILTIN: dict[str, tuple[str, ...]] = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}
FORWARD_PATH = (("raw", "PREROUTING"), ("mangle", "PREROUTING"), ("mangle", "FORWARD"),
                ("filter", "FORWARD"), ("security", "FORWARD"), ("mangle", "POSTROUTING"))
LOCAL_PATH = (("raw", "PREROUTING"), ("mangle", "PREROUTING"), ("mangle", "INPUT"),
              ("filter", "INPUT"), ("security", "INPUT"))
MAX_DEPTH = 64
_ACTIONS = {target: Action(verdict) for target, verdict in TERMINAL.items()}

Report = Callable[[Level, str, SourceSpan | None, str], None]


@dataclass
class Chain:
    name: str
    builtin: bool
    policy: Action | None = None
    policy_span: SourceSpan | None = None
    rules: list[tuple[RuleSpec, SourceSpan]] = field(default_factory=list)
    span: SourceSpan | None = None


@dataclass
class Table:
    name: str
    chains: dict[str, Chain] = field(default_factory=dict)
    span: SourceSpan | None = None

    def __post_init__(self) -> None:
        for c in BUILTIN.get(self.name, ()):
            self.chains.setdefault(c, Chain(c, builtin=True, policy=Action.PERMIT))


def filter_name(table: str, chain: str) -> str:
    return chain if table == "filter" else f"{table}/{chain}"


def flatten_table(table: Table, report: Report) -> dict[str, Filter]:
    """Every chain of ``table`` as a first-match filter (user chains standalone, too)."""
    out: dict[str, Filter] = {}
    for chain in table.chains.values():
        rules = _flatten(table, chain, None, (), (), [chain.name], report)
        if table.name == "raw":  # runs before conntrack: every packet is INVALID there
            rules = list(common.rules_before_conntrack(rules))
        if chain.builtin:
            out[filter_name(table.name, chain.name)] = Filter(
                filter_name(table.name, chain.name), tuple(rules),
                default_action=chain.policy or Action.PERMIT, default_span=chain.policy_span,
                notes=() if chain.policy_span else ("no policy line: the kernel default ACCEPT",),
            )
        else:
            out[filter_name(table.name, chain.name)] = Filter(
                filter_name(table.name, chain.name), tuple(rules), default_action=Action.PERMIT,
                notes=("user chain: a packet no rule decides returns to the calling chain "
                       "(shown as permit with rule null)",),
            )
    return out


def _flatten(
    table: Table,
    chain: Chain,
    guard: tuple[Match, ...] | None,
    excludes: tuple[Match, ...],
    via: tuple[SourceSpan, ...],
    stack: list[str],
    report: Report,
) -> list[Rule]:
    out: list[Rule] = []
    local_ex = list(excludes)
    for spec, span in chain.rules:
        if spec.ignore or not spec.decides or spec.problem:
            continue
        target = spec.target
        if guard is None:
            ms = spec.matches
        else:
            ms = tuple(dict.fromkeys(
                m for g in guard for s in spec.matches if (m := g.intersect(s)) is not None
            ))
        if target in TERMINAL:
            detail = target
            if target == "REJECT" and spec.target_opts.get("--reject-with"):
                detail += " --reject-with " + spec.target_opts["--reject-with"]
            out.append(fast_rule(
                _ACTIONS[target], ms, span, name=spec.name, excludes=tuple(local_ex),
                detail=detail, extra_spans=via,
            ))
        elif target == "RETURN":
            local_ex.extend(spec.matches)
        elif target in table.chains and not table.chains[target].builtin:
            if target in stack or len(stack) > MAX_DEPTH:
                report(Level.ERROR, f"chain loop through {target!r}", span, "iptables.loop")
                continue
            out.extend(_flatten(table, table.chains[target], ms, tuple(local_ex), (*via, span),
                                [*stack, target], report))
            if spec.goto:
                local_ex.extend(spec.matches)
    return out


def check_targets(tables: dict[str, Table], report: Report) -> None:
    """Diagnostics for targets: unknown ones, user-space verdicts, conntrack changes."""
    for table in tables.values():
        for chain in table.chains.values():
            for spec, span in chain.rules:
                if spec.ignore:
                    continue
                t = spec.target
                if not t:
                    continue
                user = t in table.chains and not table.chains[t].builtin
                if spec.problem:
                    if spec.decides:
                        report(Level.UNSUPPORTED,
                               f"{spec.problem}; rule dropped, verdicts it could decide are "
                               "incomplete", span, spec.problem_code)
                    else:
                        report(Level.INFO, f"{t} rule cannot change a verdict, so its "
                               f"unmodelled part does not matter ({spec.problem})", span,
                               spec.problem_code)
                    continue
                if t in TERMINAL or t == "RETURN" or t in NON_TERMINATING or user:
                    if t == "REJECT" and table.name == "nat":
                        report(Level.ERROR, "REJECT is not valid in the nat table", span,
                               "iptables.bad-target")
                    continue
                if t in table.chains:
                    report(Level.ERROR, f"cannot jump to built-in chain {t}", span,
                           "iptables.bad-target")
                elif t in STATE_CHANGING:
                    report(Level.UNSUPPORTED, f"target {t} changes conntrack state; later state "
                           "matches are not modelled", span, "iptables.conntrack-target")
                elif t in USERSPACE:
                    report(Level.UNSUPPORTED, f"target {t} hands the verdict to user space; rule "
                           "dropped", span, "iptables.userspace-target")
                elif t in NAT_TARGETS:
                    if table.name != "nat":
                        report(Level.ERROR, f"target {t} is only valid in the nat table", span,
                               "iptables.bad-target")
                elif t.isupper():
                    report(Level.UNSUPPORTED, f"target {t} is not supported; rule dropped", span,
                           "iptables.unknown-target")
                else:
                    report(Level.ERROR, f"jump to undefined chain {t!r}; rule dropped", span,
                           "iptables.undefined-chain")


def can_deny(f: Filter) -> bool:
    return f.default_action is Action.DENY or any(r.action is Action.DENY for r in f.rules)
