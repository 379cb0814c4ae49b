"""SRX security zones, address books, applications and policies -> one ``Filter``.

Semantics (SRX flow mode):

- A packet entering an interface of zone A and leaving by one of zone B is checked against
  the ``from-zone A to-zone B`` policies in order, then the global policies (``security
  policies global``, optionally restricted by ``match from-zone/to-zone``), then the
  ``default-policy`` (``deny-all`` unless configured ``permit-all``). Intra-zone traffic
  (A to A) is no exception: it needs a policy too. Interfaces in no zone pass no traffic
  (no policy condition matches them, so the default decides — deny-all by default).
- ``permit`` permits (stateful: replies follow the session); ``deny`` and ``reject`` deny.
- Addresses: a policy's source names resolve in the from-zone's address book (zone
  ``address-book`` or books ``attach``ed to the zone), then the ``global`` book; destination
  names in the to-zone's. ``any`` is both families, ``any-ipv4``/``any-ipv6`` one.
  ``source-address-excluded`` negates the whole source list (within each family).
  ``dns-name`` entries resolve to nothing here and are reported.
- Applications: ``any``, custom applications (top-level attributes or ``term``s), nested
  ``application-set``s (cycles reported) and the predefined ``junos-*`` table
  (``tables.JUNOS_APPLICATIONS``). ``icmp`` is ICMP (v4), ``icmp6`` ICMPv6.
- Policies towards ``junos-host`` (traffic to the device) are not modelled (warning; they
  can only take away what ``host-inbound-traffic`` admits, see ``host_inbound``).
- ``functional-zone management`` interfaces are collected as the zone
  ``host_inbound.FUNCTIONAL_ZONE`` (their host-inbound rules: ``host_inbound``).
- NAT: SRX applies destination NAT before the policy lookup and source NAT after it, so
  policies are written against real addresses; NAT is parsed into ``Device.nat`` with a
  warning that mapped addresses are not modelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from segcheck.model import ranges as R
from segcheck.model.device import NatRule
from segcheck.model.rules import Action, Filter, IfaceMatch, Rule
from segcheck.model.source import Level, SourceSpan
from segcheck.parsers import _cisco as C
from segcheck.parsers.junos import tables as T
from segcheck.parsers.junos import values as V
from segcheck.parsers.junos.host_inbound import FUNCTIONAL_ZONE, not_in, union
from segcheck.parsers.junos.lexer import Statement


@dataclass
class Policy:
    name: str
    first: Statement
    from_zone: str | None
    to_zone: str | None
    leaves: list[Statement] = field(default_factory=list)


@dataclass
class Srx:
    zones: dict[str, list[tuple[str, Statement]]] = field(default_factory=dict)
    books: dict[str, dict[str, list[Statement]]] = field(default_factory=dict)
    """book name ('global', 'zone:<Z>' or a named book) -> entry name -> statements."""
    attach: dict[str, list[str]] = field(default_factory=dict)
    """zone -> named books attached to it."""
    apps: dict[str, list[Statement]] = field(default_factory=dict)
    app_sets: dict[str, list[Statement]] = field(default_factory=dict)
    policies: list[Policy] = field(default_factory=list)
    default: tuple[Action, Statement] | None = None
    nat: list[NatRule] = field(default_factory=list)
    host_inbound: dict[tuple[str, str | None], list[Statement]] = field(default_factory=dict)
    """(zone, unit or None for the zone level) -> its ``host-inbound-traffic`` statements."""
    functional: list[tuple[str, Statement]] = field(default_factory=list)
    """Units of the ``functional-zone management`` (management only: they forward nothing)."""

    @property
    def present(self) -> bool:
        return bool(self.zones or self.policies or self.default)


def collect(stmts: Iterable[Statement], ctx: V.Ctx) -> Srx:
    s = Srx()
    index: dict[tuple[str | None, str | None, str], Policy] = {}
    nat_seen: set[tuple[str, ...]] = set()
    for st in stmts:
        w = st.words
        if w[:4] == ("security", "zones", "functional-zone", "management") and len(w) >= 6:
            _functional(s, st, ctx)
        elif w[:3] == ("security", "zones", "functional-zone"):
            ctx.diag(Level.UNSUPPORTED, "functional-zone other than management not modelled",
                     st, "zone")
        elif w[:3] == ("security", "zones", "security-zone") and len(w) >= 5:
            zone = w[3]
            s.zones.setdefault(zone, [])
            if w[4] == "interfaces" and len(w) >= 6:
                if all(u != _unit(w[5]) for u, _ in s.zones[zone]):
                    s.zones[zone].append((_unit(w[5]), st))
                if len(w) >= 8 and w[6] == "host-inbound-traffic" and not st.inactive:
                    s.host_inbound.setdefault((zone, _unit(w[5])), []).append(st)
            elif w[4] == "host-inbound-traffic" and len(w) >= 6:
                if not st.inactive:
                    s.host_inbound.setdefault((zone, None), []).append(st)
            elif w[4] == "address-book" and len(w) >= 8:
                s.books.setdefault(f"zone:{zone}", {}).setdefault(_entry_key(w[5:]), []).append(st)
        elif w[:2] == ("security", "address-book") and len(w) >= 5:
            book = w[2]
            if w[3] == "attach" and len(w) >= 6 and w[4] == "zone":
                s.attach.setdefault(w[5], []).append(book)
            elif w[3] in ("address", "address-set") and len(w) >= 6:
                s.books.setdefault(book, {}).setdefault(_entry_key(w[3:]), []).append(st)
        elif w[:2] == ("applications", "application") and len(w) >= 4:
            s.apps.setdefault(w[2], []).append(st)
        elif w[:2] == ("applications", "application-set") and len(w) >= 5:
            s.app_sets.setdefault(w[2], []).append(st)
        elif w[:2] == ("security", "policies") and len(w) >= 3:
            if w[2] == "default-policy" and len(w) >= 4:
                s.default = (Action.PERMIT if w[3] == "permit-all" else Action.DENY, st)
            elif w[2] == "from-zone" and len(w) >= 8 and w[4] == "to-zone" and w[6] == "policy":
                key: tuple[str | None, str | None, str] = (w[3], w[5], w[7])
                if key not in index:
                    index[key] = Policy(w[7], st, w[3], w[5])
                    s.policies.append(index[key])
                index[key].leaves.append(st)
            elif w[2] == "global" and len(w) >= 5 and w[3] == "policy":
                key = (None, None, w[4])
                if key not in index:
                    index[key] = Policy(w[4], st, None, None)
                    s.policies.append(index[key])
                index[key].leaves.append(st)
            elif w[2] not in ("policy-rematch", "policy-stats", "pre-id-default-policy"):
                ctx.diag(Level.UNSUPPORTED, "security policies statement not modelled", st,
                         "policy")
        elif w[:2] == ("security", "nat") and len(w) >= 5 and w[2] in (
                "source", "destination", "static") and w[3] == "rule-set":
            rule_key = tuple(w[:7])
            if rule_key in nat_seen or "rule" not in w:
                continue
            nat_seen.add(rule_key)
            s.nat.append(NatRule({"source": "snat", "destination": "dnat"}.get(w[2], "static"),
                                 ctx.span(st), " ".join(w)))
            ctx.diag(Level.WARNING, "NAT parsed; SRX policies match real addresses, mapped "
                     "addresses are not modelled", st, "nat")
    for key_pol in s.policies:
        if key_pol.to_zone == "junos-host":
            ctx.diag(Level.WARNING, "policies to junos-host (traffic to the device) are not "
                     "modelled", key_pol.first, "junos-host")
    return s


def anchor(s: Srx, ctx: V.Ctx) -> SourceSpan:
    """The first SRX statement of the file: where implicit device behaviour is attributed."""
    candidates = [st for ms in s.zones.values() for _u, st in ms]
    candidates += [p.first for p in s.policies] + ([s.default[1]] if s.default else [])
    candidates += [st for book in s.books.values() for sts in book.values() for st in sts]
    if not candidates:
        return SourceSpan(ctx.path, 1)
    return ctx.span(min(candidates, key=lambda st: st.line))


def _functional(s: Srx, st: Statement, ctx: V.Ctx) -> None:
    """``security zones functional-zone management ...``: its interfaces join the zone
    ``host_inbound.FUNCTIONAL_ZONE`` (management only, see ``host_inbound``)."""
    w = st.words
    zone = FUNCTIONAL_ZONE
    s.zones.setdefault(zone, [])
    if w[4] == "interfaces":
        unit = _unit(w[5])
        if all(u != unit for u, _ in s.zones[zone]):
            s.zones[zone].append((unit, st))
            s.functional.append((unit, st))
        if len(w) >= 8 and w[6] == "host-inbound-traffic" and not st.inactive:
            s.host_inbound.setdefault((zone, unit), []).append(st)
    elif w[4] == "host-inbound-traffic":
        if not st.inactive:
            s.host_inbound.setdefault((zone, None), []).append(st)
    elif w[4] not in ("description", "screen", "tcp-rst", "application-tracking"):
        ctx.diag(Level.UNSUPPORTED, "functional-zone management statement not modelled", st,
                 "zone")


def _unit(name: str) -> str:
    return name if "." in name else f"{name}.0"


def _entry_key(w: tuple[str, ...]) -> str:
    return f"{w[0]} {w[1]}"


class _Resolver:
    def __init__(self, s: Srx, ctx: V.Ctx) -> None:
        self.s = s
        self.ctx = ctx
        self.app_cache: dict[str, list[C.Svc]] = {}

    # ---------------------------------------------------------------- addresses
    def books_for(self, zone: str | None) -> list[str]:
        if zone is None:
            return ["global"]
        return [f"zone:{zone}", *self.s.attach.get(zone, []), "global"]

    def address(self, name: str, zone: str | None, st: Statement,
                stack: tuple[str, ...] = ()) -> C.Addr:
        if name == "any":
            return C.ANY
        if name == "any-ipv4":
            return C.ANY4
        if name == "any-ipv6":
            return C.ANY6
        if name in stack:
            self.ctx.diag(Level.ERROR, f"address-set cycle: {' -> '.join((*stack, name))}", st,
                          "cycle")
            return C.NONE
        for book in self.books_for(zone):
            entries = self.s.books.get(book, {})
            if f"address {name}" in entries:
                return self._address_entry(entries[f"address {name}"])
            if f"address-set {name}" in entries:
                out = C.NONE
                for leaf in entries[f"address-set {name}"]:
                    w = leaf.words[leaf.words.index("address-set") + 2:]
                    if len(w) >= 2 and w[0] in ("address", "address-set"):
                        out = out.union(self.address(w[1], zone, leaf, (*stack, name)))
                    elif w and w[0] != "description":
                        self.ctx.diag(Level.UNSUPPORTED, "address-set entry not understood",
                                      leaf, "address-set")
                return out
        self.ctx.diag(Level.ERROR, f"undefined address {name}", st, "undefined")
        return C.NONE

    def _address_entry(self, leaves: list[Statement]) -> C.Addr:
        out = C.NONE
        for leaf in leaves:
            w = leaf.words[leaf.words.index("address") + 2:]
            if not w or w[0] == "description":
                continue
            net = V.network(w[0])
            if net is not None:
                out = out.union(C.addr_of_network(net))
            elif w[0] == "range-address" and len(w) >= 4 and w[2] == "to":
                rng = C.addr_of_range(w[1], w[3])
                if rng is None:
                    self.ctx.diag(Level.UNSUPPORTED, "range-address not understood", leaf,
                                  "address")
                else:
                    out = out.union(rng)
            elif w[0] == "dns-name":
                self.ctx.diag(Level.UNSUPPORTED, "dns-name address: unknown offline, matches "
                              "nothing here", leaf, "fqdn")
            else:
                self.ctx.diag(Level.UNSUPPORTED, f"address form '{w[0]}' not modelled", leaf,
                              "address")
        return out

    # ---------------------------------------------------------------- applications
    def application(self, name: str, st: Statement, stack: tuple[str, ...] = ()) -> list[C.Svc]:
        if name == "any":
            return [C.ANY_SVC]
        if name in self.app_cache:
            return self.app_cache[name]
        if name in stack:
            self.ctx.diag(Level.ERROR, f"application-set cycle: {' -> '.join((*stack, name))}",
                          st, "cycle")
            return []
        out: list[C.Svc]
        if name in self.s.apps:
            out = self._custom(self.s.apps[name])
        elif name in self.s.app_sets:
            out = []
            for leaf in self.s.app_sets[name]:
                w = leaf.words[3:]
                if len(w) >= 2 and w[0] in ("application", "application-set"):
                    out.extend(self.application(w[1], leaf, (*stack, name)))
                elif w and w[0] != "description":
                    self.ctx.diag(Level.UNSUPPORTED, "application-set entry not understood",
                                  leaf, "application")
        elif name in T.JUNOS_APPLICATIONS:
            out = []
            for proto, port, itype in T.JUNOS_APPLICATIONS[name]:
                if proto in (1, 58):
                    out.append(C.icmp_svc(4 if proto == 1 else 6, itype, None))
                else:
                    svc = C.with_ports(C.proto_svc(proto), None,
                                       None if port is None else (port,))
                    assert svc is not None
                    out.append(svc)
        else:
            self.ctx.diag(Level.ERROR if not name.startswith("junos-") else Level.UNSUPPORTED,
                          f"application {name} unknown", st, "application")
            out = []
        self.app_cache[name] = out
        return out

    def _custom(self, leaves: list[Statement]) -> list[C.Svc]:
        terms: dict[str, dict[str, list[str]]] = {}
        first: dict[str, Statement] = {}
        for leaf in leaves:
            w = leaf.words[3:]
            term = ""
            if w[:1] == ("term",) and len(w) >= 2:
                term, w = w[1], w[2:]
            attrs = terms.setdefault(term, {})
            first.setdefault(term, leaf)
            i = 0
            while i + 1 < len(w):
                attrs.setdefault(w[i], []).append(w[i + 1])
                i += 2
        out: list[C.Svc] = []
        for term, attrs in terms.items():
            svc = self._term_svc(attrs, first[term])
            if svc is not None:
                out.append(svc)
        return out

    def _term_svc(self, attrs: dict[str, list[str]], st: Statement) -> C.Svc | None:
        known = {"protocol", "destination-port", "source-port", "icmp-type", "icmp-code",
                 "icmp6-type", "icmp6-code", "inactivity-timeout", "description", "alg",
                 "application-protocol"}
        for key in attrs:
            if key not in known:
                self.ctx.diag(Level.UNSUPPORTED, f"application attribute '{key}' not modelled",
                              st, "application")
        protos = attrs.get("protocol", [])
        if not protos:
            return C.ANY_SVC
        pr = V.proto_range(protos[0])
        if pr is None:
            self.ctx.diag(Level.UNSUPPORTED, f"protocol {protos[0]!r} not understood", st,
                          "application")
            return None
        proto = pr[0]
        if proto in (1, 58):
            fam = 4 if proto == 1 else 6
            t = attrs.get("icmp-type") or attrs.get("icmp6-type")
            c = attrs.get("icmp-code") or attrs.get("icmp6-code")
            tr = V.icmp_range(t[0], fam) if t else None
            cr = V.number_range(c[0], {}, R.ICMP_MAX) if c else None
            if (t and tr is None) or (c and cr is None):
                self.ctx.diag(Level.UNSUPPORTED, "ICMP type/code not understood", st,
                              "application")
                return None
            return C.Svc(protocols=R.single(proto), icmp_types=(tr,) if tr else None,
                         icmp_codes=(cr,) if cr else None, family=fam)
        ports: dict[str, R.Ranges | None] = {}
        for key in ("source-port", "destination-port"):
            vals = attrs.get(key)
            if not vals:
                ports[key] = None
                continue
            rr = [V.port_range(v) for v in vals]
            if any(r is None for r in rr):
                self.ctx.diag(Level.UNSUPPORTED, f"{key} not understood", st, "application")
                return None
            ports[key] = R.normalize(r for r in rr if r is not None)
        svc = C.with_ports(C.proto_svc(proto), ports["source-port"], ports["destination-port"])
        if svc is None:
            self.ctx.diag(Level.UNSUPPORTED, "ports on a protocol without ports", st,
                          "application")
        return svc


def convert(s: Srx, ctx: V.Ctx) -> Filter:
    res = _Resolver(s, ctx)
    rules: list[Rule] = []
    for pol in s.policies:
        if pol.to_zone == "junos-host":
            continue
        rule = _policy_rule(pol, res, ctx)
        if rule is not None:
            rules.append(rule)
    rules.sort(key=lambda r: r.detail.startswith("global"))  # stable sort: globals last
    default, span = (s.default if s.default else (Action.DENY, None))
    return Filter("security-policy", tuple(rules), default,
                  ctx.span(span) if span else None,
                  notes=("zone-pair policies, then global policies, then default-policy",))


def _policy_rule(pol: Policy, res: _Resolver, ctx: V.Ctx) -> Rule | None:
    src_names: list[str] = []
    dst_names: list[str] = []
    apps: list[str] = []
    from_zones: list[str] = []
    to_zones: list[str] = []
    src_neg = dst_neg = False
    action: Action | None = None
    act_word = ""
    active = [leaf for leaf in pol.leaves if not leaf.inactive]
    enabled = bool(active)
    leaves = active or pol.leaves
    for leaf in leaves:
        w = leaf.words
        i = w.index("policy") + 2
        tail = w[i:]
        if tail[:1] == ("match",) and len(tail) >= 3:
            key, val = tail[1], tail[2]
            if key == "source-address":
                src_names.append(val)
            elif key == "destination-address":
                dst_names.append(val)
            elif key == "application":
                apps.append(val)
            elif key == "from-zone":
                from_zones.append(val)
            elif key == "to-zone":
                to_zones.append(val)
            elif key == "source-address-excluded":
                src_neg = True
            elif key == "destination-address-excluded":
                dst_neg = True
            elif key == "dynamic-application" and val in ("any", "none"):
                pass
            else:
                ctx.diag(Level.UNSUPPORTED, f"policy match '{key}' not modelled", leaf,
                         "policy-match")
        elif tail[:1] == ("then",) and len(tail) >= 2:
            if tail[1] in ("permit", "deny", "reject"):
                action = Action.PERMIT if tail[1] == "permit" else Action.DENY
                act_word = tail[1]
            elif tail[1] not in ("log", "count"):
                ctx.diag(Level.WARNING, f"policy action '{tail[1]}' ignored", leaf, "action")
        elif tail[:1] not in (("description",), ("scheduler-name",)):
            ctx.diag(Level.UNSUPPORTED, "policy statement not modelled", leaf, "policy")
        elif tail[:1] == ("scheduler-name",):
            ctx.diag(Level.UNSUPPORTED, "scheduler: policy treated as always active", leaf,
                     "scheduler")
    if action is None:
        ctx.diag(Level.ERROR, f"policy {pol.name} has no permit/deny/reject action", pol.first,
                 "action")
        return None
    fz = pol.from_zone
    tz = pol.to_zone
    src = union([res.address(n, fz, pol.first) for n in src_names or ["any"]])
    dst = union([res.address(n, tz, pol.first) for n in dst_names or ["any"]])
    if src_neg:
        src = not_in(src)
    if dst_neg:
        dst = not_in(dst)
    svcs = [svc for a in apps or ["any"] for svc in res.application(a, pol.first)]
    ms = C.build_matches(src, dst, svcs)
    zin = (IfaceMatch(zones=(fz,)),) if fz else (
        (IfaceMatch(zones=tuple(from_zones)),) if from_zones and "any" not in from_zones else ())
    zout = (IfaceMatch(zones=(tz,)),) if tz else (
        (IfaceMatch(zones=tuple(to_zones)),) if to_zones and "any" not in to_zones else ())
    ms = tuple(replace(m, in_iface=zin, out_iface=zout) for m in ms)
    where = f"{fz}->{tz}" if fz else "global"
    return Rule(action, ms, ctx.span(pol.first), name=f"{where}:{pol.name}", enabled=enabled,
                detail=f"{'global ' if not fz else ''}{act_word}",
                extra_spans=tuple(ctx.span(leaf) for leaf in pol.leaves[1:]))
