"""Juniper JunOS (SRX security policies and stateless firewall filters) -> ``Device``.

Input: ``show configuration`` in curly-brace form or ``| display set`` form (``lexer``
flattens both to full-path statements, ``inactive:``/``deactivate`` marking disabled parts).

The device (semantics checklist, STYLE.md habit 5; details in ``filters`` and ``srx``):

- Stateful? SRX security policies are stateful (we analyse new sessions); firewall filters
  are stateless (``tcp-established`` matches no new packet).
- Implicit behaviour, explicit: each firewall filter ends in an implicit discard
  (``default_action``); SRX policies end in ``default-policy`` (deny-all unless
  ``permit-all``). A family without a filter on an interface is not filtered by it: each
  interface-direction filter ``"<ifd>.<unit> input|output"`` combines the ``inet`` and
  ``inet6`` filters (``input-list`` chains them, one implicit discard at the end) with a
  synthetic permit for a family without a filter. Filters on ``lo0`` are local stages
  (traffic to the routing engine); every other binding is a forward stage on its unit.
  An interface with no filter bound forwards everything (a router) — unless the device has
  SRX zones/policies, whose stage then decides. With SRX zones, traffic to the device also
  needs the zone's (or the interface's) ``host-inbound-traffic`` (local stage
  ``host-inbound-traffic``, ``host_inbound``) and, for the address of another zone
  interface, a security policy to that interface's zone (local stage ``security-policy to
  the device``); ``functional-zone management`` interfaces forward nothing (forward
  stages ``functional-zone management``). Only ``lo0.0`` filters guard the device
  itself; filters on other ``lo0`` units (routing instances) are reported.
- The SRX policy filter ``security-policy`` is a forward stage for every packet; its rules
  carry zone conditions, so packets on interfaces in no zone meet the default policy.
- Empty address list: a policy without ``source-address`` is ``any``; an address-set
  without members matches nothing. ICMP vs ICMPv6: ``icmp``/``icmp-type`` in ``inet``,
  ``icmp6``/``icmpv6`` and ``icmp-type`` in ``inet6``. Names vs numbers: ``tables``.
- ``Device.interfaces`` holds every unit (``ge-0/0/0.0``) and, for unit 0, its physical
  name too (``ge-0/0/0``, same zone and addresses).
- Filter keys in ``Device.filters``: ``inet:<name>``, ``inet6:<name>``, ``security-policy``
  and the interface-direction filters.
- Configuration groups applied at the root (``apply-groups``) are expanded; wildcard or
  nested group application is reported.
- Lines outside what is read: a statement whose first word is not a JunOS top-level stanza
  (``TOP_LEVEL``), brace syntax errors (no ``;``, stray ``}``, blocks left open) and
  ``security`` subtrees other than the read/irrelevant ones are UNSUPPORTED at their lines;
  layer-7 ``security`` subtrees are one warning each. A file with no JunOS statement at all
  raises ``ConfigParseError`` (a wrong ``--vendor junos`` is refused, not answered).
- Not modelled (diagnostics): ``insert`` ordering
  in set format, ``firewall family`` other than inet/inet6, policies to ``junos-host``,
  schedulers, dynamic applications, match conditions outside the box model.
"""

from __future__ import annotations

import ipaddress
import re

from segcheck.errors import ConfigParseError
from segcheck.model.device import Device, Interface, Stage
from segcheck.model.rules import Action, Filter, IfaceMatch, Match, Rule
from segcheck.model.source import Level, SourceSpan
from segcheck.parsers.junos import filters as F
from segcheck.parsers.junos import host_inbound as H
from segcheck.parsers.junos import srx as S
from segcheck.parsers.junos import values as V
from segcheck.parsers.junos.lexer import Statement, is_set_format, statements

VENDOR = V.VENDOR

_SET_STRONG = re.compile(
    r"^set (security (zones|policies|address-book|nat)|firewall (family|filter)|"
    r"applications application|interfaces \S+ unit \d+)", re.M)
_SET_WEAK = re.compile(r"^set (system host-name|version |routing-options|protocols |"
                       r"policy-options)", re.M)
_BRACE_TOP = re.compile(
    r"^(?:replace: |inactive: )?(security|firewall|interfaces|system|policy-options|"
    r"applications|routing-options|protocols|groups|snmp)\s*\{", re.M)


def detect(text: str) -> int:
    head = text[:200_000]
    if is_set_format(head):
        if _SET_STRONG.search(head):
            return 90
        return 70 if _SET_WEAK.search(head) else 0
    tops = {m.group(1) for m in _BRACE_TOP.finditer(head)}
    if not tops or re.search(r"^\s*config\s*\{", head, re.M):
        return 0
    if tops & {"security", "firewall", "interfaces", "applications"}:
        return 85
    return 60


_SET_VERBS_UNSUPPORTED = {"insert", "rename", "copy", "edit", "top", "up", "annotate", "wildcard"}

TOP_LEVEL = frozenset({
    "version", "system", "chassis", "services", "security", "interfaces", "snmp",
    "forwarding-options", "routing-options", "protocols", "policy-options", "class-of-service",
    "firewall", "routing-instances", "applications", "groups", "apply-groups",
    "apply-groups-except", "logical-systems", "tenants", "access", "access-profile",
    "event-options", "multi-chassis", "poe", "vlans", "bridge-domains",
    "ethernet-switching-options", "switch-options", "virtual-chassis", "dynamic-profiles",
    "accounting-options", "fabric", "schedulers", "smtp", "wlan", "session-limit-group",
    "vmhost", "multicast-snooping-options", "protection-groups", "diameter", "jsrc",
    "jsrc-partition", "unified-edge", "apply-macro", "utility-mib", "rcsid", "switch",
    "virtual-chassis-fabric", "redundant-power-system", "ethernet-switching",
})
"""The statement hierarchy's first words in JunOS (``show configuration`` top level). A
statement under any other word is not JunOS and is reported line by line; a file with none
of them is refused. Below these words, only what ``filters``/``srx``/``_bindings`` read
counts; the rest (routing, system, class-of-service...) does not decide new flows, except
where reported (filters in ``routing-instances``/``forwarding-options``, ``services``
stateful firewall, logical systems)."""


SECURITY_READ = frozenset({"zones", "policies", "address-book", "nat"})
SECURITY_IRRELEVANT = frozenset({
    "log", "ike", "ipsec", "pki", "ssh-known-hosts", "screen", "flow", "alg",
    "application-tracking", "traceoptions", "certificates", "authentication-key-chains",
    "datapath-debug", "dynamic-vpn", "group-vpn", "ssl", "apply-groups", "macsec",
    "idp-sensor", "distribution-profile", "resource-manager", "analysis",
    "advance-policy-based-routing",
})
"""``security`` subtrees that decide no new session (VPN, logging, screens against malformed
or flooding packets, ALGs, session tuning): ignored."""
SECURITY_L7 = frozenset({"utm", "idp", "application-firewall", "user-identification",
                         "dynamic-address", "aamw", "sky-atp", "gprs", "casb"})
"""``security`` subtrees that can drop traffic inside a permitted session (layer 7): one
warning per subtree; every other unread subtree is UNSUPPORTED at each of its lines (e.g.
``security forwarding-options ... mode packet-based`` bypasses the policies)."""


def parse(text: str, path: str, *, name: str | None = None) -> Device:
    """Parse a JunOS configuration (either display format) into a ``Device``."""
    if "\x00" in text[:4096]:
        raise ConfigParseError("binary file, not a JunOS configuration", SourceSpan(path, 1))
    ctx = V.Ctx(path)
    problems: list[tuple[Statement, str]] = []
    raw = statements(text, problems)
    if not any(st.words[:1] and st.words[0] in TOP_LEVEL for st in raw):
        raise ConfigParseError("does not look like a JunOS configuration: no statement under "
                               "a JunOS top-level stanza (system, interfaces, security, "
                               "firewall, ...)", SourceSpan(path, 1))
    for st, why in problems:
        ctx.diag(Level.UNSUPPORTED, f"JunOS syntax error: {why}", st, "syntax")
    stmts = _apply_groups(raw, ctx)
    hostname = None
    warned: set[str] = set()
    for st in stmts:
        if st.words[:1] and st.words[0] in _SET_VERBS_UNSUPPORTED:
            ctx.diag(Level.UNSUPPORTED, f"'{st.words[0]}' lines are not applied", st, "verb")
        elif st.words[:1] and st.words[0] not in TOP_LEVEL:
            ctx.diag(Level.UNSUPPORTED, f"unknown JunOS statement {' '.join(st.words[:3])!r}"
                     " (not under a JunOS top-level stanza)", st, "unknown-stanza")
        elif st.words[:1] == ("routing-instances",) and "filter" in st.words:
            ctx.diag(Level.UNSUPPORTED, "filters inside routing-instances are not modelled", st,
                     "instance-filter")
        elif st.words[:1] == ("security",) and len(st.words) >= 2 and (
                st.words[1] not in SECURITY_READ and st.words[1] not in SECURITY_IRRELEVANT):
            if st.words[1] not in SECURITY_L7:
                ctx.diag(Level.UNSUPPORTED, f"security {st.words[1]} is not modelled", st,
                         "security")
            elif st.words[1] not in warned:
                warned.add(st.words[1])
                ctx.diag(Level.WARNING, f"security {st.words[1]} (layer-7 inspection) is not "
                         "modelled; it can only drop traffic the policies permit", st,
                         "security")
        elif st.words[:2] == ("services", "stateful-firewall"):
            ctx.diag(Level.UNSUPPORTED, "services stateful-firewall is not modelled", st,
                     "services")
        elif st.words[:1] in (("logical-systems",), ("tenants",)) and any(
                k in st.words for k in ("security", "firewall")):
            ctx.diag(Level.UNSUPPORTED, f"{st.words[0]} are not modelled", st, "lsys")
        elif st.words[:3] == ("forwarding-options", "family", "inet") and "filter" in st.words:
            ctx.diag(Level.UNSUPPORTED, "forwarding-options filters are not modelled", st,
                     "forwarding-filter")
        elif st.words[:2] == ("system", "host-name") and len(st.words) >= 3:
            hostname = st.words[2]
    fdefs, prefix_lists = F.collect(stmts, ctx)
    filters: dict[str, Filter] = {}
    for fd in fdefs.values():
        f = F.convert(fd, prefix_lists, ctx)
        filters[f.name] = f
    interfaces, forward, local = _bindings(stmts, filters, ctx)
    s = S.collect(stmts, ctx)
    for zone, members in s.zones.items():
        for unit, st in members:
            old = interfaces.get(unit)
            interfaces[unit] = Interface(unit, zone, old.addresses if old else (), ctx.span(st))
    for unit, itf in list(interfaces.items()):
        ifd, _, u = unit.partition(".")
        if u == "0" and ifd not in interfaces:
            # unit 0 answers to its physical name too (``ge-0/0/0``), as the filter
            # bindings already do: a topology naming the port must see the unit's zone
            interfaces[ifd] = Interface(ifd, itf.zone, itf.addresses, itf.span)
    if s.present:
        sf = S.convert(s, ctx)
        filters[sf.name] = sf
        forward.append(Stage(sf.name))
        anchor = S.anchor(s, ctx)
        pf = H.to_device_policy(sf, s.zones, interfaces, anchor)
        hf = H.build(s.zones, s.host_inbound, interfaces, anchor, ctx, H.web_ports(stmts, ctx))
        filters[pf.name] = pf
        filters[hf.name] = hf
        local.extend((Stage(pf.name), Stage(hf.name)))
        if s.functional:
            forward.extend(_functional_zone(s, filters, ctx))
    return Device(
        name=name or hostname or path, vendor=VENDOR, path=path, filters=filters,
        forward=tuple(forward), local=tuple(local), interfaces=interfaces, nat=tuple(s.nat),
        diagnostics=tuple(ctx.diags),
    )


def _functional_zone(s: S.Srx, filters: dict[str, Filter], ctx: V.Ctx) -> list[Stage]:
    """Transit through a ``functional-zone management`` interface is dropped, both ways (see
    ``host_inbound``)."""
    names = tuple(n for u, _ in s.functional
                  for n in ((u, u.partition(".")[0]) if u.endswith(".0") else (u,)))
    sp = ctx.span(s.functional[0][1])
    why = "functional-zone management interfaces carry management traffic only, no transit"
    name = "functional-zone management"
    filters[name] = Filter(name, (Rule(Action.DENY, (Match(),), sp, name=why, synthetic=True,
                                       detail=why),), Action.DENY, sp)
    cond = IfaceMatch(names=names)
    return [Stage(name, ingress=cond), Stage(name, egress=cond)]


def _apply_groups(stmts: list[Statement], ctx: V.Ctx) -> list[Statement]:
    """Expand ``apply-groups`` at the configuration root: the group's statements join the
    configuration after the local ones (inheritance), keeping their own lines. Groups with
    wildcard paths (``<ge-*>``), variables (``${node}``) or ``apply-groups`` below the root are
    reported, not expanded."""
    groups: dict[str, list[Statement]] = {}
    applied: list[tuple[str, Statement]] = []
    out: list[Statement] = []
    for st in stmts:
        w = st.words
        if w[:1] == ("groups",) and len(w) >= 3:
            groups.setdefault(w[1], []).append(st)
        elif w[:1] == ("apply-groups",) and len(w) == 2:
            if not st.inactive:
                applied.append((w[1], st))
        else:
            if "apply-groups" in w[1:] and not st.inactive:
                ctx.diag(Level.UNSUPPORTED, "apply-groups below the configuration root is not "
                         "expanded", st, "groups")
            out.append(st)
    for name, st in applied:
        members = groups.get(name)
        if members is None:
            ctx.diag(Level.UNSUPPORTED if "$" in name else Level.ERROR,
                     f"apply-groups {name}: group not found (or a variable)", st, "groups")
            continue
        wild = [m for m in members if any(x.startswith("<") or "*" in x for x in m.words[2:])]
        if wild:
            ctx.diag(Level.UNSUPPORTED, f"group {name} uses wildcard paths; not expanded",
                     wild[0], "groups")
        out.extend(Statement(m.words[2:], m.line, m.text, m.inactive) for m in members
                   if m not in wild)
    return out


def _bindings(stmts: list[Statement], filters: dict[str, Filter], ctx: V.Ctx
              ) -> tuple[dict[str, Interface], list[Stage], list[Stage]]:
    """Interface units, their addresses and their filter stages."""
    binds: dict[tuple[str, str], dict[int, tuple[list[str], Statement]]] = {}
    addrs: dict[str, list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]] = {}
    first: dict[str, Statement] = {}
    for st in stmts:
        w = st.words
        if w[:1] != ("interfaces",) or len(w) < 7 or w[2] != "unit" or w[4] != "family":
            if w[:2] == ("interfaces", "interface-range") and "filter" in w:
                ctx.diag(Level.UNSUPPORTED, "filters on interface-range not modelled", st,
                         "interface-range")
            continue
        if st.inactive:
            continue
        unit = f"{w[1]}.{w[3]}"
        first.setdefault(unit, st)
        fam = F.FAMILIES.get(w[5])
        if fam is None:
            continue
        if w[6] == "address" and len(w) >= 8:
            try:
                addrs.setdefault(unit, []).append(ipaddress.ip_interface(w[7]))
            except ValueError:
                ctx.diag(Level.WARNING, "interface address not understood", st, "interface")
        elif w[6] == "filter" and len(w) >= 9:
            kind, fname = w[7], w[8]
            direction = "input" if kind.startswith("input") else "output"
            if kind not in ("input", "output", "input-list", "output-list"):
                ctx.diag(Level.UNSUPPORTED, f"filter {kind} not modelled", st, "filter")
                continue
            slot = binds.setdefault((unit, direction), {})
            names, _ = slot.get(fam, ([], st))
            if kind.endswith("-list"):
                # a list replaces a single filter given before it (and vice versa)
                names = names if slot.get(fam, ([], st))[1].words[7].endswith("-list") else []
                names = [*names, fname]
            else:
                names = [fname]
            slot[fam] = (names, st)
    interfaces = {u: Interface(u, None, tuple(addrs.get(u, ())), ctx.span(st))
                  for u, st in first.items()}
    forward: list[Stage] = []
    local: list[Stage] = []
    for (unit, direction), fams in binds.items():
        rules: list[Rule] = []
        for fam in (4, 6):
            family = "inet" if fam == 4 else "inet6"
            if fam not in fams:
                rules.append(Rule(Action.PERMIT, (Match(family=fam),), ctx.span(first[unit]),
                                  name=f"no {family} filter", synthetic=True,
                                  detail=f"no family {family} filter {direction}"))
                continue
            names, st = fams[fam]
            for fname in names:
                f = filters.get(f"{family}:{fname}")
                if f is None:
                    ctx.diag(Level.ERROR, f"undefined filter {fname}", st, "undefined")
                    continue
                rules.extend(f.rules)
            rules.append(Rule(Action.DENY, (Match(family=fam),), ctx.span(st),
                              name="implicit discard", synthetic=True,
                              detail=f"implicit discard at the end of the {family} filter"))
        key = f"{unit} {direction}"
        filters[key] = Filter(key, tuple(rules), Action.DENY)
        ifd, _, u = unit.partition(".")
        cond = IfaceMatch(names=(unit, ifd) if u == "0" else (unit,))
        if ifd == "lo0":
            if direction == "input" and u == "0":
                local.append(Stage(key))
            elif direction == "input":
                ctx.diag(Level.UNSUPPORTED, f"input filter on {unit} (a routing instance's "
                         "loopback) is not modelled", fams[min(fams)][1], "loopback")
        elif direction == "input":
            forward.append(Stage(key, ingress=cond))
            local.append(Stage(key, ingress=cond))
        else:
            forward.append(Stage(key, egress=cond))
    return interfaces, forward, local
