"""Rules and filters: the vendor-independent form every parser converts to.

A ``Filter`` is an ordered first-match list of ``Rule``s with a default action. A rule
matches a packet when any of its ``matches`` does and none of its ``excludes`` does. A
``Match`` is a conjunction of per-field constraints (a box, plus conntrack state and
interface conditions). Vendor features that are not boxes are lowered to this shape by the
parser: service groups mixing protocols become several matches, negated objects become
``excludes`` or complemented ranges, iptables user chains are inlined (a ``RETURN`` becomes
an ``exclude`` on the rules after it).

Interface conditions are resolved *before* the packet-set engine runs: ``Filter.specialize``
keeps the rules that apply to one (ingress, egress) pair. So the engine sees pure packet
boxes, and zone-based vendors (PAN-OS, FortiGate, SRX) and interface-based ones (iptables,
ASA, IOS) share one mechanism: ``IfaceMatch`` matches an interface name (iptables ``+``
wildcards) or the vendor zone the interface belongs to.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, replace
from enum import StrEnum

from segcheck.model import ranges as R
from segcheck.model.packet import PORT_PROTOCOLS, Packet, icmp_protocol
from segcheck.model.source import SourceSpan


class Action(StrEnum):
    PERMIT = "permit"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class IfaceContext:
    """Which interface a packet enters or leaves by, and that interface's vendor zone.

    Either may be unknown (``None``); an unknown interface matches no positive interface
    condition (and every negated one).
    """

    iface: str | None = None
    zone: str | None = None


ANY_IFACE = IfaceContext()


@dataclass(frozen=True, slots=True)
class IfaceMatch:
    """An interface condition: the interface is one of ``names`` or in one of ``zones``.

    A name ending in ``+`` matches every interface starting with the rest (iptables). An
    empty ``names`` and empty ``zones`` with ``negate=False`` matches nothing. ``negate``
    inverts the whole condition.
    """

    names: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    negate: bool = False

    def matches(self, ctx: IfaceContext) -> bool:
        hit = False
        if ctx.iface is not None:
            for pattern in self.names:
                if pattern.endswith("+"):
                    if ctx.iface.startswith(pattern[:-1]):
                        hit = True
                        break
                elif ctx.iface == pattern:
                    hit = True
                    break
        if not hit and ctx.zone is not None and ctx.zone in self.zones:
            hit = True
        return hit != self.negate

    def __str__(self) -> str:
        parts = list(self.names) + [f"zone {z}" for z in self.zones]
        return ("!" if self.negate else "") + ",".join(parts)


@dataclass(frozen=True, slots=True)
class Match:
    """A conjunction of field constraints; ``None`` means "any" for that field.

    Invariants (checked on construction, so an invalid match cannot exist):

    - ``family`` is 4, 6 or ``None`` (both). Address constraints need a family.
    - Port constraints need ``protocols`` within ``PORT_PROTOCOLS``; ICMP type/code
      constraints need ``protocols`` to be exactly the family's ICMP protocol.
    - All ``Ranges`` are normalized and within their field's bounds.
    - ``states`` lists conntrack states (``packet.STATES``); analysis looks at ``new`` only.
    """

    family: int | None = None
    src: R.Ranges | None = None
    dst: R.Ranges | None = None
    protocols: R.Ranges | None = None
    sports: R.Ranges | None = None
    dports: R.Ranges | None = None
    icmp_types: R.Ranges | None = None
    icmp_codes: R.Ranges | None = None
    states: frozenset[str] | None = None
    in_iface: tuple[IfaceMatch, ...] = ()
    out_iface: tuple[IfaceMatch, ...] = ()

    def __post_init__(self) -> None:
        if self.family not in (None, 4, 6):
            raise ValueError(f"bad family {self.family}")
        if self.family is None and (self.src is not None or self.dst is not None):
            raise ValueError("address constraints need a family")
        top = R.ADDRESS_BITS.get(self.family or 4, 32)
        for name in ("src", "dst"):
            value = getattr(self, name)
            if value is not None:
                _check_ranges(name, value, (1 << top) - 1)
        if self.protocols is not None:
            _check_ranges("protocols", self.protocols, R.PROTO_MAX)
        for name in ("sports", "dports"):
            value = getattr(self, name)
            if value is not None:
                _check_ranges(name, value, R.PORT_MAX)
                if self.protocols is None or any(
                    p not in PORT_PROTOCOLS for lo, hi in self.protocols for p in range(lo, hi + 1)
                ):
                    raise ValueError("port constraints need protocols that have ports")
        for name in ("icmp_types", "icmp_codes"):
            value = getattr(self, name)
            if value is not None:
                _check_ranges(name, value, R.ICMP_MAX)
                if self.family is None or self.protocols != R.single(icmp_protocol(self.family)):
                    raise ValueError("ICMP type/code constraints need the family's ICMP protocol")

    @property
    def is_empty(self) -> bool:
        """True when a field constraint is the empty set (matches nothing)."""
        return any(
            v == () for v in (self.src, self.dst, self.protocols, self.sports, self.dports,
                              self.icmp_types, self.icmp_codes)
        ) or self.states == frozenset()

    def matches_new(self) -> bool:
        """Whether connection-initiating (``new``) packets can match (state condition)."""
        return self.states is None or "new" in self.states

    def contains(self, p: Packet, state: str = "new") -> bool:
        """Reference membership test for one packet (interface conditions not checked)."""
        if self.family is not None and p.version != self.family:
            return False
        if self.states is not None and state not in self.states:
            return False
        checks = (
            (self.src, p.src), (self.dst, p.dst), (self.protocols, p.proto),
            (self.sports, p.sport), (self.dports, p.dport),
            (self.icmp_types, p.icmp_type), (self.icmp_codes, p.icmp_code),
        )
        return all(r is None or R.contains(r, v) for r, v in checks)

    def iface_ok(self, ingress: IfaceContext, egress: IfaceContext) -> bool:
        return all(m.matches(ingress) for m in self.in_iface) and all(
            m.matches(egress) for m in self.out_iface
        )

    def intersect(self, other: Match) -> Match | None:
        """The conjunction of two matches, or ``None`` when it is certainly empty."""
        if self.family is not None and other.family is not None and self.family != other.family:
            return None
        family = self.family if self.family is not None else other.family

        def meet(a: R.Ranges | None, b: R.Ranges | None) -> R.Ranges | None:
            if a is None:
                return b
            if b is None:
                return a
            return R.intersect(a, b)

        states = (
            other.states if self.states is None
            else self.states if other.states is None
            else self.states & other.states
        )
        m = Match(
            family=family,
            src=meet(self.src, other.src),
            dst=meet(self.dst, other.dst),
            protocols=meet(self.protocols, other.protocols),
            sports=meet(self.sports, other.sports),
            dports=meet(self.dports, other.dports),
            icmp_types=meet(self.icmp_types, other.icmp_types),
            icmp_codes=meet(self.icmp_codes, other.icmp_codes),
            states=states,
            in_iface=self.in_iface + other.in_iface,
            out_iface=self.out_iface + other.out_iface,
        ) if _compatible(self, other, family) else None
        return None if m is None or m.is_empty else m

    def without_ifaces(self) -> Match:
        """This match with no interface conditions: a field-for-field copy through the slot
        setters. ``replace`` would re-run ``__post_init__``, which never looks at interfaces,
        so the copy is valid and equal to it; about 8x cheaper (every rule of a large export
        goes through here when a filter is specialized)."""
        out = object.__new__(Match)
        for put, value in zip(_FIELD_SETTERS, (*_FIELD_VALUES(self), (), ()), strict=True):
            put(out, value)
        return out


def _compatible(a: Match, b: Match, family: int | None) -> bool:
    """Port/ICMP invariants survive the conjunction (the protocol meet is then valid)."""
    protos = a.protocols if b.protocols is None else (
        b.protocols if a.protocols is None else R.intersect(a.protocols, b.protocols))
    icmp_fields = (a.icmp_types, a.icmp_codes, b.icmp_types, b.icmp_codes)
    needs_icmp = any(x is not None for x in icmp_fields)
    if needs_icmp:
        return family is not None and protos == R.single(icmp_protocol(family))
    return True


def _normalized(value: R.Ranges) -> bool:
    """``R.normalize(value) == value`` in one linear pass (no sort, no copy): a tuple of
    ``(lo, hi)`` tuples, each ``lo <= hi``, each starting after the previous end + 1."""
    if not isinstance(value, tuple):
        return False
    prev = None
    for iv in value:
        if not isinstance(iv, tuple) or len(iv) != 2:
            return False
        lo, hi = iv
        if lo > hi or (prev is not None and lo <= prev + 1):
            return False
        prev = hi
    return True


def _check_ranges(name: str, value: R.Ranges, maximum: int) -> None:
    if not _normalized(value):
        raise ValueError(f"{name} ranges not normalized: {value!r}")
    if value and (value[0][0] < 0 or value[-1][1] > maximum):
        raise ValueError(f"{name} out of bounds: {value!r}")


ANY = Match()

_FIELDS = ("family", "src", "dst", "protocols", "sports", "dports", "icmp_types", "icmp_codes",
           "states", "in_iface", "out_iface")
"""``Match``'s fields in order, the interface conditions last (a test checks the list)."""
_FIELD_SETTERS = tuple(getattr(Match, f).__set__ for f in _FIELDS)
"""The slot setters of ``Match``'s fields (they bypass the frozen ``__setattr__``)."""
_FIELD_VALUES = operator.attrgetter(*_FIELDS[:-2])
"""The values of every field but the interface conditions."""


def trusted_match(
    family: int | None, src: R.Ranges | None, dst: R.Ranges | None,
    protocols: R.Ranges | None, sports: R.Ranges | None, dports: R.Ranges | None,
    in_iface: tuple[IfaceMatch, ...], out_iface: tuple[IfaceMatch, ...],
) -> Match:
    """``Match(family=..., src=..., ..., in_iface=..., out_iface=...)`` (ICMP and state fields
    ``None``) without re-running ``__post_init__``'s checks: for a parser whose values meet
    every ``Match`` invariant by construction (normalized in-bounds ranges of the family,
    ports only with port protocols), on its hot path. The result is the same value (equal,
    same hash and repr); tests compare it with the checked constructor. About 5x cheaper."""
    m = object.__new__(Match)
    s_fam, s_src, s_dst, s_pro, s_sp, s_dp, s_it, s_ic, s_st, s_in, s_out = _FIELD_SETTERS
    s_fam(m, family)
    s_src(m, src)
    s_dst(m, dst)
    s_pro(m, protocols)
    s_sp(m, sports)
    s_dp(m, dports)
    s_it(m, None)
    s_ic(m, None)
    s_st(m, None)
    s_in(m, in_iface)
    s_out(m, out_iface)
    return m


@dataclass(frozen=True, slots=True)
class Rule:
    """One line of a filter: what it matches and what it does with the first match."""

    action: Action
    matches: tuple[Match, ...]
    """Disjunction: the rule matches a packet matched by any of these. ``()`` matches nothing."""
    span: SourceSpan
    """The vendor line the rule came from (for synthetic rules: the line that implies it)."""
    name: str = ""
    excludes: tuple[Match, ...] = ()
    """Subtracted from the union of ``matches`` (negated objects, inlined ``RETURN``s)."""
    enabled: bool = True
    """A disabled rule is kept for reporting but never decides anything."""
    synthetic: bool = False
    """True for vendor implicit behaviour made explicit (PAN-OS intrazone allow, ...)."""
    detail: str = ""
    """Vendor action wording when it says more than permit/deny (``REJECT``, ``inspect``)."""
    extra_spans: tuple[SourceSpan, ...] = ()
    """Further lines the rule depends on (the jump that inlined it, objects it names)."""

    def contains(self, p: Packet, state: str = "new") -> bool:
        return any(m.contains(p, state) for m in self.matches) and not any(
            m.contains(p, state) for m in self.excludes
        )

    @property
    def label(self) -> str:
        return self.name or f"{self.span.path}:{self.span.line}"

    def with_matches(self, matches: tuple[Match, ...], excludes: tuple[Match, ...]) -> Rule:
        """``replace(self, matches=..., excludes=...)``: the same value, built by
        ``fast_rule`` (no keyword handling or frozen ``__setattr__``; filters are specialized
        rule by rule)."""
        return fast_rule(self.action, matches, self.span, self.name, excludes, self.enabled,
                         self.synthetic, self.detail, self.extra_spans)


RULE_FIELDS = ("action", "matches", "span", "name", "excludes", "enabled", "synthetic",
               "detail", "extra_spans")
"""``Rule``'s fields in order (``fast_rule`` sets each; a test checks the list is complete)."""
_RULE_SETTERS = tuple(getattr(Rule, f).__set__ for f in RULE_FIELDS)


def fast_rule(
    action: Action, matches: tuple[Match, ...], span: SourceSpan, name: str = "",
    excludes: tuple[Match, ...] = (), enabled: bool = True, synthetic: bool = False,
    detail: str = "", extra_spans: tuple[SourceSpan, ...] = (),
) -> Rule:
    """``Rule(action, matches, span, ...)`` built with the fields' slot setters instead of
    the frozen dataclass ``__init__`` (one ``object.__setattr__`` call per field): the same
    value (equal, same hash and repr), about twice as fast, for parsers that build one rule
    per configuration line. ``Rule`` checks nothing on construction, so nothing is skipped."""
    rule = object.__new__(Rule)
    s_act, s_mat, s_span, s_name, s_exc, s_en, s_syn, s_det, s_extra = _RULE_SETTERS
    s_act(rule, action)
    s_mat(rule, matches)
    s_span(rule, span)
    s_name(rule, name)
    s_exc(rule, excludes)
    s_en(rule, enabled)
    s_syn(rule, synthetic)
    s_det(rule, detail)
    s_extra(rule, extra_spans)
    return rule


@dataclass(frozen=True, slots=True)
class Filter:
    """An ordered first-match rule list; ``default_action`` applies when no rule matches."""

    name: str
    rules: tuple[Rule, ...]
    default_action: Action = Action.DENY
    default_span: SourceSpan | None = None
    """Where the default comes from (an iptables chain policy line), if anywhere."""
    notes: tuple[str, ...] = field(default=())

    def specialize(self, ingress: IfaceContext, egress: IfaceContext) -> Filter:
        """This filter as seen by packets entering on ``ingress`` and leaving on ``egress``:
        interface conditions decided, so every remaining match is a pure packet box."""
        out: list[Rule] = []
        for rule in self.rules:
            ms = tuple(m.without_ifaces() for m in rule.matches if m.iface_ok(ingress, egress))
            if not ms:
                continue
            xs = tuple(m.without_ifaces() for m in rule.excludes if m.iface_ok(ingress, egress))
            out.append(rule.with_matches(ms, xs))
        return replace(self, rules=tuple(out))

    def decide(
        self,
        p: Packet,
        state: str = "new",
        ingress: IfaceContext = ANY_IFACE,
        egress: IfaceContext = ANY_IFACE,
    ) -> tuple[Action, Rule | None]:
        """Reference first-match decision (slow, obviously right; the engine is the fast path)."""

        def hit(m: Match) -> bool:
            return m.iface_ok(ingress, egress) and m.contains(p, state)

        for rule in self.rules:
            if not rule.enabled:
                continue
            if any(map(hit, rule.matches)) and not any(map(hit, rule.excludes)):
                return rule.action, rule
        return self.default_action, None
