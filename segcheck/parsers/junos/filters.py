"""JunOS stateless firewall filters (``firewall family inet|inet6 filter``) -> ``Filter``s.

Semantics (JunOS routing-policy/firewall-filter guide, restated):

- Terms are evaluated in order; the first term whose ``from`` conditions all hold applies
  its ``then``. A term without ``from`` matches every packet of the family.
- Terminating actions: ``accept`` (and ``routing-instance``, which forwards) permit;
  ``discard`` and ``reject`` deny; ``next term`` continues (the term decides nothing). A term
  with only modifiers (``count``, ``log``, ``policer`` ...) or no ``then`` accepts.
- After the last term: implicit ``discard`` (``default_action`` DENY).
- Address lists: the longest matching prefix decides, ``except`` prefixes exclude
  (``values.longest_prefix``); ``address``/``port`` match either source or destination.
- ``protocol`` (inet) / ``next-header``/``payload-protocol`` (inet6); ``icmp-type`` is ICMP
  in inet and ICMPv6 in inet6. Port conditions restrict to port-carrying protocols (tcp/udp
  when no protocol is given, with a warning).
- ``tcp-established`` matches no connection-initiating packet; ``tcp-initial`` matches TCP.
  Other conditions (fragments, lengths, DSCP, TCP flags, interfaces) are diagnostics.
- Family ``inet`` filters only see IPv4, ``inet6`` only IPv6 (every match carries its
  family); ``firewall filter X`` without a family is ``inet``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from segcheck.model import ranges as R
from segcheck.model.packet import PORT_PROTOCOLS, icmp_protocol
from segcheck.model.rules import Action, Filter, Match, Rule
from segcheck.model.source import Level
from segcheck.parsers.junos import values as V
from segcheck.parsers.junos.lexer import Statement

FAMILIES = {"inet": 4, "inet6": 6}

_TERMINATING = {"accept": Action.PERMIT, "discard": Action.DENY, "reject": Action.DENY,
                "routing-instance": Action.PERMIT}
_MODIFIERS = {"count", "log", "syslog", "sample", "policer", "three-color-policer",
              "forwarding-class", "loss-priority", "dscp", "traffic-class", "port-mirror",
              "packet-mode", "service-accounting", "hierarchical-policer", "service-filter-hit"}


@dataclass
class Term:
    name: str
    first: Statement
    conds: list[Statement] = field(default_factory=list)
    actions: list[Statement] = field(default_factory=list)
    inactive: bool = False


@dataclass
class FilterDef:
    family: str
    name: str
    first: Statement
    terms: dict[str, Term] = field(default_factory=dict)


def collect(stmts: Iterable[Statement], ctx: V.Ctx
            ) -> tuple[dict[tuple[str, str], FilterDef], dict[str, list[V.Net]]]:
    """Filters by (family, name) and ``policy-options prefix-list``s from the statements."""
    filters: dict[tuple[str, str], FilterDef] = {}
    prefix_lists: dict[str, list[V.Net]] = {}
    for st in stmts:
        w = st.words
        if w[:2] == ("policy-options", "prefix-list") and len(w) >= 4:
            net = V.network(w[3])
            if net is None:
                ctx.diag(Level.UNSUPPORTED, "prefix-list entry not understood", st, "prefix-list")
            else:
                prefix_lists.setdefault(w[2], []).append(net)
            continue
        if not w or w[0] != "firewall":
            continue
        if len(w) >= 5 and w[1] == "family" and w[3] == "filter":
            family, rest = w[2], w[4:]
        elif len(w) >= 3 and w[1] == "filter":
            family, rest = "inet", w[2:]
        else:
            continue
        if family not in FAMILIES:
            ctx.diag(Level.WARNING, f"firewall family {family} filters are not modelled", st,
                     "family")
            continue
        fd = filters.setdefault((family, rest[0]), FilterDef(family, rest[0], st))
        if len(rest) >= 3 and rest[1] == "term":
            term = fd.terms.setdefault(rest[2], Term(rest[2], st))
            term.inactive = term.inactive or st.inactive
            tail = rest[3:]
            if tail[:1] == ("from",):
                term.conds.append(st)
            elif tail[:1] == ("then",):
                term.actions.append(st)
            elif tail:
                ctx.diag(Level.UNSUPPORTED, f"term statement '{tail[0]}' not modelled", st,
                         "term")
    return filters, prefix_lists


def convert(fd: FilterDef, prefix_lists: dict[str, list[V.Net]], ctx: V.Ctx) -> Filter:
    fam = FAMILIES[fd.family]
    rules = []
    for term in fd.terms.values():
        rule = _term_rule(fd, term, fam, prefix_lists, ctx)
        if rule is not None:
            rules.append(rule)
    name = f"{fd.family}:{fd.name}"
    return Filter(name, tuple(rules), Action.DENY, ctx.span(fd.first),
                  notes=("implicit discard after the last term",))


def _term_action(term: Term, ctx: V.Ctx) -> tuple[Action, str] | None:
    """The term's verdict, or None for ``next term``."""
    for st in term.actions:
        w = st.words[st.words.index("then") + 1:]
        if not w:
            continue
        if w[0] in _TERMINATING:
            return _TERMINATING[w[0]], w[0]
        if w[0] == "next" and w[1:2] == ("term",):
            return None
        if w[0] not in _MODIFIERS:
            ctx.diag(Level.UNSUPPORTED, f"action '{w[0]}' not modelled (read as accept)", st,
                     "action")
    return Action.PERMIT, "accept (no terminating action)"


def _term_rule(fd: FilterDef, term: Term, fam: int, prefix_lists: dict[str, list[V.Net]],
               ctx: V.Ctx) -> Rule | None:
    act = _term_action(term, ctx)
    if act is None:
        return None
    addr: dict[str, list[tuple[V.Net, bool]]] = {"source": [], "destination": [], "either": []}
    seen: set[str] = set()
    protos: list[tuple[int, int]] = []
    protos_ex: list[tuple[int, int]] = []
    ports: dict[str, list[tuple[int, int]]] = {}
    icmp: dict[str, list[tuple[int, int]]] = {}
    states = None
    bad = False
    for st in term.conds:
        w = st.words[st.words.index("from") + 1:]
        if not w:
            continue
        key, val = w[0], w[1] if len(w) > 1 else ""
        exc = "except" in w[2:]
        if key in ("source-address", "destination-address", "address"):
            side = {"source-address": "source", "destination-address": "destination"}.get(
                key, "either")
            seen.add(side)
            net = V.network(val)
            if net is None:
                ctx.diag(Level.UNSUPPORTED, f"address {val!r} not understood", st, "address")
                bad = True
                continue
            addr[side].append((net, exc))
        elif key in ("source-prefix-list", "destination-prefix-list", "prefix-list"):
            side = {"source-prefix-list": "source", "destination-prefix-list": "destination"
                    }.get(key, "either")
            seen.add(side)
            if val not in prefix_lists:
                ctx.diag(Level.ERROR, f"undefined prefix-list {val}", st, "undefined")
            addr[side].extend((n, exc) for n in prefix_lists.get(val, []))
        elif key in ("protocol", "next-header", "payload-protocol", "protocol-except",
                     "next-header-except", "payload-protocol-except"):
            r = V.proto_range(val)
            if r is None:
                ctx.diag(Level.UNSUPPORTED, f"protocol {val!r} not understood", st, "protocol")
                bad = True
                continue
            (protos_ex if key.endswith("-except") else protos).append(r)
        elif key in ("source-port", "destination-port", "port", "source-port-except",
                     "destination-port-except", "port-except"):
            r = V.port_range(val)
            if r is None:
                ctx.diag(Level.UNSUPPORTED, f"port {val!r} not understood", st, "port")
                bad = True
                continue
            ports.setdefault(key, []).append(r)
        elif key in ("icmp-type", "icmp-code", "icmp-type-except", "icmp-code-except"):
            r = (V.icmp_range(val, fam) if "type" in key
                 else V.number_range(val, {}, R.ICMP_MAX))
            if r is None:
                ctx.diag(Level.UNSUPPORTED, f"ICMP value {val!r} not understood", st, "icmp")
                bad = True
                continue
            icmp.setdefault(key, []).append(r)
        elif key == "tcp-established":
            states = frozenset({"established"})
            protos.append((6, 6))
        elif key == "tcp-initial":
            protos.append((6, 6))
        else:
            ctx.diag(Level.UNSUPPORTED, f"match condition '{key}' not modelled (ignored)", st,
                     "condition")
    if bad:
        ctx.diag(Level.UNSUPPORTED, f"term {term.name} dropped: a condition was not understood",
                 term.first, "term")
        return None
    top = R.PROTO_MAX
    proto_set: R.Ranges | None = R.normalize(protos) if protos else None
    if protos_ex:
        proto_set = R.intersect(proto_set if proto_set is not None else ((0, top),),
                                R.complement(R.normalize(protos_ex), top))
    sp = _ranges(ports, "source-port")
    dp = _ranges(ports, "destination-port")
    ep = _ranges(ports, "port")
    itypes = _ranges(icmp, "icmp-type")
    icodes = _ranges(icmp, "icmp-code")
    if sp is not None or dp is not None or ep is not None:
        if proto_set is None:
            ctx.diag(Level.WARNING, "port match without protocol: read as tcp/udp", term.first,
                     "port")
            proto_set = ((6, 6), (17, 17))
        proto_set = R.intersect(proto_set, R.normalize((p, p) for p in PORT_PROTOCOLS))
    if itypes is not None or icodes is not None:
        ip = icmp_protocol(fam)
        proto_set = R.single(ip) if proto_set is None else R.intersect(proto_set, R.single(ip))
        if proto_set == ():
            itypes = icodes = None
    src = V.longest_prefix(addr["source"], fam) if "source" in seen else None
    dst = V.longest_prefix(addr["destination"], fam) if "destination" in seen else None
    either = V.longest_prefix(addr["either"], fam) if "either" in seen else None
    addr_opts = [(src, dst)] if either is None else [
        (_meet(src, either), dst), (src, _meet(dst, either))]
    port_opts = [(sp, dp)] if ep is None else [(_meet(sp, ep), dp), (sp, _meet(dp, ep))]
    matches = []
    for s, d in addr_opts:
        for ps, pd in port_opts:
            m = Match(family=fam, src=s, dst=d, protocols=proto_set, sports=ps, dports=pd,
                      icmp_types=itypes, icmp_codes=icodes, states=states)
            if not m.is_empty:
                matches.append(m)
    return Rule(act[0], tuple(matches), ctx.span(term.first), name=f"{fd.name}:{term.name}",
                enabled=not term.inactive, detail=act[1])


def _ranges(d: dict[str, list[tuple[int, int]]], key: str) -> R.Ranges | None:
    plus, minus = d.get(key), d.get(f"{key}-except")
    if plus is None and minus is None:
        return None
    maximum = R.PORT_MAX if "port" in key else R.ICMP_MAX
    acc = R.normalize(plus) if plus else ((0, maximum),)
    if minus:
        acc = R.intersect(acc, R.complement(R.normalize(minus), maximum))
    return acc


def _meet(a: R.Ranges | None, b: R.Ranges | None) -> R.Ranges | None:
    if a is None:
        return b
    if b is None:
        return a
    return R.intersect(a, b)
