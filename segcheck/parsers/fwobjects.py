"""Building blocks shared by the object-based firewall parsers (PAN-OS, FortiGate, pf).

These vendors describe rules as (zones, address objects, service objects, action); this
module turns resolved objects into ``Match`` boxes so each parser only has to resolve its
own syntax:

- ``AddrSet``: an exact set of addresses per family (IPv4 and IPv6 ``Ranges``). ``None``
  stands for "any" wherever a set is optional, so "any" stays one cheap box.
- ``Service``: one protocol box (protocols, ports, ICMP type/code, optional family).
- ``matches_for``: the disjunction of boxes for ``src x dst x services`` per family.
  A family is skipped when the source or destination set is empty in it (an IPv4-only
  object never matches IPv6 packets); ICMP services carry their own family.
- ``GroupResolver``: expands named groups of names depth-first, reporting cycles and
  undefined names as diagnostics (never silently dropping a member).

Invariants: ``AddrSet`` ranges are normalized; ``Service`` values are valid ``Match``
fragments (ports only with port protocols, ICMP fields only with the family's ICMP).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from segcheck.model import ranges as R
from segcheck.model.packet import ICMP, ICMPV6, PORT_PROTOCOLS
from segcheck.model.rules import IfaceContext, IfaceMatch, Match, Rule
from segcheck.model.source import Diagnostic, Level, SourceSpan

V4_ALL = R.single(0, (1 << 32) - 1)
V6_ALL = R.single(0, (1 << 128) - 1)


@dataclass(frozen=True, slots=True)
class AddrSet:
    """Addresses of both families (normalized ranges; ``()`` = none of that family)."""

    v4: R.Ranges = ()
    v6: R.Ranges = ()

    def __or__(self, other: AddrSet) -> AddrSet:
        return AddrSet(R.normalize(self.v4 + other.v4), R.normalize(self.v6 + other.v6))

    def complement(self) -> AddrSet:
        return AddrSet(R.complement(self.v4, (1 << 32) - 1), R.complement(self.v6, (1 << 128) - 1))

    def family(self, version: int) -> R.Ranges:
        return self.v4 if version == 4 else self.v6

    @property
    def is_empty(self) -> bool:
        return not self.v4 and not self.v6

    @property
    def is_any(self) -> bool:
        return self.v4 == V4_ALL and self.v6 == V6_ALL


ANY_ADDR = AddrSet(V4_ALL, V6_ALL)
ANY_V4 = AddrSet(V4_ALL, ())
ANY_V6 = AddrSet((), V6_ALL)
NO_ADDR = AddrSet()


def addr_union(items: Iterable[AddrSet]) -> AddrSet:
    v4: list[tuple[int, int]] = []
    v6: list[tuple[int, int]] = []
    for a in items:
        v4.extend(a.v4)
        v6.extend(a.v6)
    return AddrSet(R.normalize(v4), R.normalize(v6))


@functools.lru_cache(maxsize=1 << 16)
def parse_network(text: str) -> AddrSet | None:
    """``10.0.0.0/8``, ``10.1.2.3``, ``2001:db8::/32``, ``10.0.0.0/255.0.0.0`` (host bits
    ignored, as the vendors do) -> the set, or None when it is not an address."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
    lo, hi = R.network_range(net)
    return AddrSet(((lo, hi),), ()) if net.version == 4 else AddrSet((), ((lo, hi),))


@functools.lru_cache(maxsize=1 << 16)
def parse_range(first: str, last: str) -> AddrSet | None:
    """An inclusive address range ``first``-``last`` (None when malformed or reversed)."""
    try:
        a, b = ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip())
    except ValueError:
        return None
    if a.version != b.version or int(a) > int(b):
        return None
    r = ((int(a), int(b)),)
    return AddrSet(r, ()) if a.version == 4 else AddrSet((), r)


def parse_wildcard(address: str, mask: str) -> AddrSet | None:
    """An IPv4 address with a *non-contiguous* netmask (FortiGate ``wildcard``): the set of
    addresses that agree with ``address`` on the mask's one-bits. Exact, but may be many
    ranges; None when malformed or too fragmented (more than 4096 ranges)."""
    try:
        a, m = int(ipaddress.IPv4Address(address)), int(ipaddress.IPv4Address(mask))
    except ValueError:
        return None
    free = [b for b in range(32) if not (m >> b) & 1]
    # Contiguous low free bits make one range per combination of the other free bits.
    low = 0
    while low < len(free) and free[low] == low:
        low += 1
    high = free[low:]
    if len(high) > 12:
        return None
    base = a & m
    out: list[tuple[int, int]] = []
    for combo in range(1 << len(high)):
        v = base
        for i, bit in enumerate(high):
            if (combo >> i) & 1:
                v |= 1 << bit
        out.append((v, v + (1 << low) - 1))
    return AddrSet(R.normalize(out), ())


@dataclass(frozen=True, slots=True)
class Service:
    """One protocol box; ``None`` fields mean any. ``family`` pins ICMP services."""

    protocols: R.Ranges | None = None
    sports: R.Ranges | None = None
    dports: R.Ranges | None = None
    icmp_types: R.Ranges | None = None
    icmp_codes: R.Ranges | None = None
    family: int | None = None


ANY_SERVICE = Service()


def port_service(proto: int, dports: R.Ranges | None, sports: R.Ranges | None = None) -> Service:
    """tcp/udp/sctp with optional port ranges (a full 0-65535 range is left as "any")."""
    if proto not in PORT_PROTOCOLS:
        return Service(R.single(proto))
    full = R.single(0, R.PORT_MAX)
    return Service(
        R.single(proto),
        None if sports == full else sports,
        None if dports == full else dports,
    )


def icmp_service(
    family: int, icmp_type: int | None = None, icmp_code: int | None = None
) -> Service:
    proto = ICMP if family == 4 else ICMPV6
    return Service(
        R.single(proto),
        icmp_types=None if icmp_type is None else R.single(icmp_type),
        icmp_codes=None if icmp_code is None else R.single(icmp_code),
        family=family,
    )


def parse_ports(text: str, sep: str = "-") -> R.Ranges | None:
    """``80``, ``80-90``, ``80,443,1000-2000`` (None when malformed or out of range)."""
    out: list[tuple[int, int]] = []
    for part in text.replace(" ", ",").split(","):
        if not part:
            continue
        lo_s, _, hi_s = part.partition(sep)
        if not lo_s.isdigit() or (hi_s and not hi_s.isdigit()):
            return None
        lo, hi = int(lo_s), int(hi_s) if hi_s else int(lo_s)
        if lo > hi or hi > R.PORT_MAX:
            return None
        out.append((lo, hi))
    return R.normalize(out) if out else None


def matches_for(
    src: AddrSet | None,
    dst: AddrSet | None,
    services: Sequence[Service],
    in_iface: tuple[IfaceMatch, ...] = (),
    out_iface: tuple[IfaceMatch, ...] = (),
) -> tuple[Match, ...]:
    """Boxes for ``src x dst x services`` (``None`` address = any, both families)."""
    src = None if src is not None and src.is_any else src
    dst = None if dst is not None and dst.is_any else dst
    out: list[Match] = []
    for svc in services:
        families: tuple[int | None, ...]
        if svc.family is not None:
            families = (svc.family,)
        elif src is None and dst is None:
            families = (None,)
        else:
            families = (4, 6)
        for fam in families:
            s = d = None
            if fam is not None:
                if src is not None:
                    s = src.family(fam)
                    if not s:
                        continue
                    s = None if s == (V4_ALL if fam == 4 else V6_ALL) else s
                if dst is not None:
                    d = dst.family(fam)
                    if not d:
                        continue
                    d = None if d == (V4_ALL if fam == 4 else V6_ALL) else d
            out.append(Match(
                family=fam, src=s, dst=d, protocols=svc.protocols, sports=svc.sports,
                dports=svc.dports, icmp_types=svc.icmp_types, icmp_codes=svc.icmp_codes,
                in_iface=in_iface, out_iface=out_iface,
            ))
    return tuple(out)


def egress_view(ms: tuple[Match, ...], egress: IfaceContext, narrow: tuple[Match, ...]
                ) -> tuple[Match, ...]:
    """``ms`` with their egress conditions decided for ``egress`` (kept when they hold,
    dropped otherwise) and intersected with ``narrow`` (e.g. the addresses of the
    interface a packet to the device is addressed to). Ingress conditions stay."""
    got: list[Match] = []
    for m in ms:
        if not all(om.matches(egress) for om in m.out_iface):
            continue
        for n in narrow:
            both = replace(m, out_iface=()).intersect(n)
            if both is not None:
                got.append(both)
    return tuple(got)


def rules_towards(rules: tuple[Rule, ...], egress: IfaceContext, dst: AddrSet | None,
                  label: str) -> list[Rule]:
    """A forward rulebase as seen by packets addressed to one of the device's own
    interfaces (``egress``, owning addresses ``dst``; None = unknown, any): how FortiGate
    and PAN-OS decide whether traffic entering another interface may reach it."""
    narrow = matches_for(None, dst, [ANY_SERVICE]) if dst is not None else (Match(),)
    out: list[Rule] = []
    for r in rules:
        ms = egress_view(r.matches, egress, narrow)
        if ms:
            out.append(replace(r, matches=ms, excludes=egress_view(r.excludes, egress, narrow),
                               name=f"{r.name} ({label})"))
    return out


def disabled_only(found: Sequence[Diagnostic], known: Sequence[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics raised while converting *disabled* rules (with their own, separate
    de-duplication state), minus those already in ``known``, downgraded to warnings: a
    disabled rule never decides, so what it names cannot make a verdict wrong."""
    seen = {(d.code, d.message, d.span.line if d.span else 0) for d in known}
    out: list[Diagnostic] = []
    for d in found:
        key = (d.code, d.message, d.span.line if d.span else 0)
        if key in seen:
            continue
        seen.add(key)
        level = Level.WARNING if d.level.makes_incomplete else d.level
        out.append(Diagnostic(level, f"{d.message} (only in a disabled rule)", d.span, d.code))
    return out


ESTABLISHED = frozenset({"established", "related"})


def stateful_return_match() -> Match:
    """Packets of already-permitted sessions (stateful firewalls pass them first)."""
    return Match(states=ESTABLISHED)


class GroupResolver:
    """Depth-first expansion of named groups with cycle and undefined-name reporting.

    ``members(name)`` returns the member names of a group or ``None`` when ``name`` is not a
    group; ``leaf(name)`` returns the value of a non-group object or ``None`` when undefined.
    Results are cached per name; diagnostics accumulate in ``diagnostics``.
    """

    def __init__(
        self,
        kind: str,
        vendor: str,
        members: Callable[[str], Sequence[str] | None],
        leaf: Callable[[str], object | None],
        sink: list[Diagnostic] | None = None,
    ) -> None:
        self.kind = kind
        self.vendor = vendor
        self._members = members
        self._leaf = leaf
        self.diagnostics: list[Diagnostic] = sink if sink is not None else []
        """Where diagnostics go (``sink`` when given, so a parser can share its list)."""
        self._reported: set[tuple[str, str]] = set()

    def expand(self, name: str, span: SourceSpan | None) -> tuple[list[object], bool]:
        """The leaf values ``name`` stands for, and whether it resolved completely."""
        out: list[object] = []
        ok = self._walk(name, span, (), out)
        return out, ok

    def _report(self, code: str, message: str, span: SourceSpan | None) -> None:
        key = (code, message)
        if key not in self._reported:
            self._reported.add(key)
            self.diagnostics.append(
                Diagnostic(Level.ERROR, message, span, f"{self.vendor}.{code}"))

    def _walk(self, name: str, span: SourceSpan | None, stack: tuple[str, ...],
              out: list[object]) -> bool:
        if name in stack:
            cycle = " -> ".join((*stack[stack.index(name):], name))
            self._report("group-cycle", f"{self.kind} group cycle: {cycle}", span)
            return False
        members = self._members(name)
        if members is None:
            value = self._leaf(name)
            if value is None:
                self._report("undefined-object", f"undefined {self.kind} {name!r}", span)
                return False
            out.append(value)
            return True
        ok = True
        for m in members:
            ok = self._walk(m, span, (*stack, name), out) and ok
        return ok
