"""pfSense and OPNsense ``config.xml`` -> ``Device`` (shared by ``pfsense`` and ``opnsense``).

Both products generate a pf ruleset from the same config.xml shapes (OPNsense forked
pfSense); the differences are the root element, OPNsense's MVC aliases
(``OPNsense/Firewall/Alias``) and MVC filter rules (``OPNsense/Firewall/Filter/rules``).

Model: one filter per logical interface and direction. ``in:<if>`` holds what pf checks for
packets *entering* that interface (user rules are direction ``in``); ``out:<if>`` exists when
floating/MVC rules with direction ``out``/``any`` apply to the interface. A packet crossing
the firewall passes ``in:<ingress>`` then ``out:<egress>``; a packet to the firewall itself
passes ``in:<ingress>`` (local stage). Interfaces are known by logical name (``lan``,
``opt1``; also their vendor zone) and by device name (``em1``): both work in queries.

pf evaluation and its first-match conversion (the invariant this module relies on): pf
scans every rule in order; a matching ``quick`` rule decides at once, otherwise the *last*
matching rule decides, otherwise pf passes. So the verdict is the first matching quick rule
if any, else the last matching non-quick rule. The equivalent first-match list is: all quick
rules in pf order, then all non-quick rules in *reverse* pf order. pf order is:
automatic rules (anti-lockout, private/bogon blocks, IPv6 neighbour discovery), then MVC
rules by sequence (OPNsense), floating rules, interface-group rules, interface rules.
Interface-tab and group rules are quick (unless an explicit ``<quick>`` element says
otherwise, as OPNsense can write); floating/MVC rules are quick only when marked. The
automatic ``block in all`` (IPv4 and IPv6) is non-quick and first in pf order, so it lands
last in the first-match list; ``out`` filters end in pf's automatic ``pass out all``.

Semantics checklist (STYLE.md habit 5):

- **Stateful?** Yes (``keep state`` by default): synthetic ``stateful-return`` first.
- **Implicit rules?** Default deny inbound, default pass outbound, the anti-lockout rule on
  LAN (or WAN when there is no LAN) to the interface address for the webGUI port (443 for
  https, 80 for http), port 80 when https redirects, and the SSH port when SSH is enabled —
  unless ``system/webgui/noantilockout``; ``blockpriv`` (RFC 1918 and ULA sources) and
  ``blockbogons`` on an interface (bogons are a run-time table: reported, not modelled);
  IPv6 blocked entirely without ``system/ipv6allow`` (pfSense); ICMPv6 error and neighbour
  discovery types 1, 2, 135, 136 passed when IPv6 is allowed. All are synthetic rules.
- **Empty address?** A missing source/destination or ``<any/>`` is any address. ``ipprotocol``
  selects families: ``inet`` (default), ``inet6``, ``inet46``.
- **Macros.** ``lan``/``optN`` (network element) = that interface's subnet, ``lanip``/``optNip``
  = its address, ``(self)`` = every firewall address. A DHCP/PPPoE/track6 interface has no
  configured address: such a macro matches nothing in that family and raises an
  *unsupported* diagnostic (the result is incomplete).
- **Aliases.** host/network (nested, ranges ``a-b``), port (``80``, ``80:90``, nested) and
  OPNsense ``networkgroup`` are exact. url/urltable/geoip/external/dynamic/MAC/ASN aliases
  and host aliases with DNS names are run-time data: they match nothing, *unsupported*
  diagnostic. Cycles and undefined names are errors.
- **Negation.** ``<not/>``/``*_not`` complements the address set (within the rule's families).
- **ICMP vs ICMPv6.** ``protocol icmp`` means ICMP for IPv4 and ICMPv6 for IPv6 (as pfSense
  renders inet6 rules); ``icmptype`` lists pf names (``echoreq``, ``unreach``, ...) per family.
- **Names vs numbers.** Ports are numbers, ranges ``80-443``/``80:443`` or port aliases;
  protocols are pf names (``tcp/udp`` is both).
- **Not headers.** ``tagged``, ``sched``, ``os`` and custom TCP flags: a pass ignores them
  (over-approximates what is permitted), a block then matches nothing (under-approximates
  what is denied), with a warning. ``match`` rules decide nothing and are skipped.
- **NAT.** Port forwards and 1:1 NAT are listed in ``Device.nat`` with an *unsupported*
  diagnostic (pf filters after ``rdr``, on the translated address; ``rdr pass`` skips the
  filter). Outbound NAT is listed only.
- **Disabled rules** (``<disabled/>``, MVC ``enabled 0``) are kept with ``enabled=False``;
  problems found only in them are warnings (they never decide).
- **No rules at all.** Inbound: default deny (plus anti-lockout); outbound: pass.
"""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass

from segcheck.errors import ConfigParseError
from segcheck.model import ranges as R
from segcheck.model.device import Device, Interface, NatRule, Stage
from segcheck.model.packet import protocol_number
from segcheck.model.rules import Action, Filter, IfaceMatch, Match, Rule
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers import fwobjects as F
from segcheck.parsers.common import SERVICES
from segcheck.parsers.pf_rules import (
    ICMP4_TYPES,
    ICMP6_TYPES,
    Endpoint,
    PfRule,
    flag,
    legacy_rule,
    mvc_rule,
)
from segcheck.parsers.xmltree import XNode, parse_xml

EXTRA_PROTOCOLS = {"carp": 112, "pfsync": 240, "ipv6-icmp": 58, "icmp6": 58}
RUNTIME_ALIAS_TYPES = frozenset({
    "url", "urltable", "url_ports", "urltable_ports", "geoip", "external", "dynipv6host",
    "mac", "asn", "authgroup", "internal",
})
PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
KNOWN_MVC = frozenset({"Alias", "Filter", "Category", "Lvtemplate"})
"""OPNsense/Firewall sections read here or carrying no traffic rules."""


@dataclass
class IfInfo:
    name: str
    device: str
    node: XNode
    addrs: list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]
    unknown: set[int]
    """Families whose address is dynamic (dhcp, pppoe, track6, ...): macros can't resolve."""


class PfConverter:
    def __init__(self, vendor: str, text: str, path: str) -> None:
        self.vendor = vendor
        self.path = path
        self.lines = text.splitlines()
        self.root = parse_xml(text, path)
        if self.root.tag != vendor:
            raise ConfigParseError(f"root element <{self.root.tag}>, expected <{vendor}>",
                                   SourceSpan(path, self.root.line))
        self.diagnostics: list[Diagnostic] = []
        self.deferred: list[Diagnostic] = []
        """Diagnostics from disabled rules (see ``fwobjects.disabled_only``)."""
        self.scratch = False
        self._once: set[str] = set()
        self.interfaces = self._interfaces()
        self.groups = self._groups()
        self.aliases = self._aliases()

    # -- plumbing --------------------------------------------------------------------------

    def span(self, x: XNode) -> SourceSpan:
        line = x.line
        text = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        return SourceSpan(self.path, line, text)

    def diag(self, level: Level, message: str, x: XNode | None, code: str,
             once: str = "") -> None:
        if once:
            if once in self._once:
                return
            self._once.add(once)
        self.diagnostics.append(Diagnostic(level, message, self.span(x) if x else None,
                                           f"{self.vendor}.{code}"))

    def _interfaces(self) -> dict[str, IfInfo]:
        out: dict[str, IfInfo] = {}
        block = self.root.find("interfaces")
        for x in block.children if block is not None else []:
            addrs: list[ipaddress.IPv4Interface | ipaddress.IPv6Interface] = []
            unknown: set[int] = set()
            for fam, ak, sk in ((4, "ipaddr", "subnet"), (6, "ipaddrv6", "subnetv6")):
                a = x.text_of(ak)
                if not a:
                    continue
                plen = x.text_of(sk) or ("32" if fam == 4 else "128")
                try:
                    addrs.append(ipaddress.ip_interface(f"{a}/{plen}"))
                except ValueError:
                    unknown.add(fam)
            out[x.tag] = IfInfo(x.tag, x.text_of("if") or x.tag, x, addrs, unknown)
        return out

    def _groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        block = self.root.find("ifgroups")
        for g in block.findall("ifgroupentry") if block is not None else []:
            out[g.text_of("ifname")] = g.text_of("members").split()
        return out

    def _aliases(self) -> dict[str, tuple[str, list[str], XNode]]:
        out: dict[str, tuple[str, list[str], XNode]] = {}
        legacy = self.root.find("aliases")
        for a in legacy.findall("alias") if legacy is not None else []:
            out[a.text_of("name")] = (a.text_of("type"), a.text_of("address").split(), a)
        mvc = self.root.find("OPNsense", "Firewall", "Alias", "aliases")
        for a in mvc.findall("alias") if mvc is not None else []:
            if a.text_of("enabled", default="1") == "0":
                continue
            out[a.text_of("name")] = (a.text_of("type"), a.text_of("content").split(), a)
        return out

    # -- addresses -------------------------------------------------------------------------

    def _iface_set(self, name: str, want_ip: bool, x: XNode) -> F.AddrSet:
        info = self.interfaces.get(name)
        if info is None:
            self.diag(Level.ERROR, f"unknown interface {name!r}", x, "undefined-object",
                      once=f"if:{name}")
            return F.NO_ADDR
        for fam in sorted(info.unknown):
            self.diag(Level.UNSUPPORTED, f"interface {name} has a dynamic IPv{fam} address; "
                      f"'{name}{'ip' if want_ip else ''}' matches no IPv{fam} address here",
                      x, "dynamic-address", once=f"dyn:{name}:{fam}:{want_ip}")
        nets = [a.ip if want_ip else a.network for a in info.addrs]
        return F.addr_union(F.parse_network(str(n)) or F.NO_ADDR for n in nets)

    def network(self, value: str, x: XNode) -> F.AddrSet:
        """A ``network`` element: interface macro, ``(self)``, or an alias/address."""
        if value in ("(self)", "this firewall"):
            return F.addr_union(F.parse_network(str(a.ip)) or F.NO_ADDR
                                for i in self.interfaces.values() for a in i.addrs)
        if value.endswith("ip") and value[:-2] in self.interfaces:
            return self._iface_set(value[:-2], True, x)
        if value in self.interfaces:
            return self._iface_set(value, False, x)
        if value.startswith("__") and value.endswith("_network"):
            return self._iface_set(value[2:-8], False, x)
        return self.address(value, x)

    def address(self, value: str, x: XNode, stack: tuple[str, ...] = ()) -> F.AddrSet:
        literal = _literal(value)
        if literal is not None:
            return literal
        if value in stack:
            self.diag(Level.ERROR, "alias cycle: " + " -> ".join((*stack, value)), x,
                      "group-cycle", once=f"cycle:{value}")
            return F.NO_ADDR
        alias = self.aliases.get(value)
        if alias is None:
            if value in self.interfaces or value.endswith("ip"):
                return self.network(value, x)
            self.diag(Level.ERROR, f"undefined alias {value!r}", x, "undefined-object",
                      once=f"alias:{value}")
            return F.NO_ADDR
        kind, entries, ax = alias
        if kind in RUNTIME_ALIAS_TYPES:
            self.diag(Level.UNSUPPORTED, f"alias {value!r} of type {kind} is loaded at run "
                      "time; it matches no address here", ax, "runtime-alias",
                      once=f"rt:{value}")
            return F.NO_ADDR
        if kind == "port":
            self.diag(Level.ERROR, f"port alias {value!r} used as an address", x,
                      "bad-alias", once=f"portaddr:{value}")
            return F.NO_ADDR
        out: list[F.AddrSet] = []
        for e in entries:
            lit = _literal(e)
            if lit is not None:
                out.append(lit)
            elif e in self.aliases:
                out.append(self.address(e, ax, (*stack, value)))
            else:
                self.diag(Level.UNSUPPORTED, f"alias {value!r}: {e!r} is a DNS name resolved "
                          "at run time; it matches no address here", ax, "fqdn",
                          once=f"fqdn:{value}:{e}")
        return F.addr_union(out)

    def endpoint(self, ep: Endpoint, x: XNode) -> F.AddrSet:
        if ep.any:
            got = F.ANY_ADDR
        elif ep.network:
            got = F.addr_union(self.network(v.strip(), x) for v in ep.network.split(",") if v)
        else:
            got = F.addr_union(self.address(v.strip(), x) for v in ep.address.split(",") if v)
        return got.complement() if ep.negate else got

    def ports(self, spec: str, x: XNode, stack: tuple[str, ...] = ()) -> R.Ranges | None:
        if not spec or spec == "any":
            return None
        got = F.parse_ports(spec.replace(":", "-"))
        if got is not None:
            return got
        if spec not in self.aliases and spec.lower() in SERVICES:
            return R.single(SERVICES[spec.lower()])  # OPNsense accepts service names
        alias = self.aliases.get(spec)
        if alias is None or alias[0] != "port" or spec in stack:
            self.diag(Level.ERROR, f"bad port or undefined port alias {spec!r}", x,
                      "bad-port", once=f"port:{spec}")
            return ()
        out: list[tuple[int, int]] = []
        for e in alias[1]:
            sub = self.ports(e, alias[2], (*stack, spec))
            out.extend(sub if sub is not None else R.single(0, R.PORT_MAX))
        return R.normalize(out)

    # -- rules -----------------------------------------------------------------------------

    def services(self, r: PfRule, families: tuple[int, ...]) -> list[F.Service]:
        proto = r.protocol.lower()
        if not proto or proto == "any":
            return [F.ANY_SERVICE]
        if proto in ("icmp", "ipv6-icmp", "icmp6"):
            out: list[F.Service] = []
            for fam in families:
                if proto != "icmp" and fam == 4:
                    continue
                table = ICMP4_TYPES if fam == 4 else ICMP6_TYPES
                if not r.icmptypes:
                    out.append(F.icmp_service(fam))
                for t in r.icmptypes:
                    if (t.isdigit() and int(t) <= 255) or t in table:
                        out.append(F.icmp_service(fam, int(t) if t.isdigit() else table[t]))
                    else:
                        self.diag(Level.ERROR, f"unknown ICMP type {t!r} for IPv{fam}",
                                  r.node, "bad-icmp-type", once=f"icmp:{fam}:{t}")
            return out
        numbers = [6, 17] if proto == "tcp/udp" else [
            EXTRA_PROTOCOLS.get(proto) or protocol_number(proto) or -1]
        if numbers == [-1]:
            self.diag(Level.ERROR, f"unknown protocol {r.protocol!r}", r.node, "bad-protocol",
                      once=f"proto:{proto}")
            return []
        sports = self.ports(r.src.port, r.node)
        dports = self.ports(r.dst.port, r.node)
        return [F.port_service(n, dports, sports) if n in (6, 17) else F.Service(R.single(n))
                for n in numbers]

    def rule(self, r: PfRule) -> Rule | None:
        if r.disabled and not self.scratch:
            sub = copy.copy(self)
            sub.diagnostics, sub._once, sub.deferred, sub.scratch = [], set(), [], True
            rule = sub.rule(r)
            self.deferred.extend(sub.diagnostics)
            return rule
        span = self.span(r.node)
        name = r.descr or f"{r.kind} rule line {r.node.line}"
        if r.action == "match":
            self.diag(Level.INFO, f"match rule {name!r} decides nothing; skipped", r.node,
                      "match-rule")
            return None
        action = Action.PERMIT if r.action == "pass" else Action.DENY
        families = {"inet": (4,), "inet6": (6,), "inet46": (4, 6)}.get(r.ipprotocol, (4,))
        only = F.AddrSet(F.V4_ALL if 4 in families else (), F.V6_ALL if 6 in families else ())
        src = self.endpoint(r.src, r.node)
        dst = self.endpoint(r.dst, r.node)
        src = F.AddrSet(R.intersect(src.v4, only.v4), R.intersect(src.v6, only.v6))
        dst = F.AddrSet(R.intersect(dst.v4, only.v4), R.intersect(dst.v6, only.v6))
        services = self.services(r, families)
        for q in r.qualifiers:
            self.diag(Level.WARNING, f"rule {name!r}: {q} is not a packet header; " + (
                "ignored (pass over-approximated)" if action is Action.PERMIT
                else "rule treated as matching nothing (block under-approximated)"),
                r.node, "non-header-condition")
            if action is Action.DENY:
                services = []
        return Rule(action, F.matches_for(src, dst, services), span, name,
                    enabled=not r.disabled,
                    detail=r.action if r.action not in ("pass", "block") else "")

    def user_rules(self) -> list[PfRule]:
        out: list[PfRule] = []
        mvc = self.root.find("OPNsense", "Firewall", "Filter", "rules")
        if mvc is not None:
            rules = [mvc_rule(x) for x in mvc.findall("rule")]
            rules.sort(key=lambda r: int(r.node.text_of("sequence") or 0)
                       if r.node.text_of("sequence").isdigit() else 0)
            out.extend(rules)
        legacy = self.root.find("filter")
        rules = [legacy_rule(x) for x in legacy.findall("rule")] if legacy is not None else []
        for r in rules:
            if not r.floating and any(i in self.groups for i in r.interfaces):
                r.kind = "group"
        order = {"floating": 0, "group": 1, "iface": 2}
        out.extend(sorted(rules, key=lambda r: order[r.kind]))  # stable: file order kept
        return out

    def applies(self, r: PfRule, ifname: str, direction: str) -> bool:
        if r.direction not in (direction, "any"):
            return False
        names = set(r.interfaces)
        for n in r.interfaces:
            names.update(self.groups.get(n, ()))
        hit = (not r.interfaces and r.floating) or ifname in names
        return hit != r.iface_not

    # -- automatic rules -------------------------------------------------------------------

    def automatic(self, ifname: str) -> list[Rule]:
        """Automatic quick rules for packets entering ``ifname`` (pf order)."""
        info = self.interfaces[ifname]
        out: list[Rule] = []
        system = self.root.find("system")
        sys_node = system if system is not None else self.root
        v6_allowed = self.vendor == "opnsense" or (system is not None and system.has("ipv6allow"))
        if not v6_allowed:
            out.append(Rule(Action.DENY, (Match(family=6),), self.span(sys_node),
                            "IPv6 disabled (system/ipv6allow unset)", synthetic=True))
        webgui = sys_node.find("webgui")
        anti_if = "lan" if "lan" in self.interfaces else "wan"
        if ifname == anti_if and not (webgui is not None and webgui.has("noantilockout")):
            proto = webgui.text_of("protocol") if webgui is not None else "https"
            port = webgui.text_of("port") if webgui is not None else ""
            ports = [int(port) if port.isdigit() else (443 if proto == "https" else 80)]
            if proto == "https" and not (webgui is not None and webgui.has(
                    "disablehttpredirect")):
                ports.append(80)
            ssh = sys_node.find("ssh")
            if ssh is not None and flag(ssh.find("enable")):
                sp = ssh.text_of("port")
                ports.append(int(sp) if sp.isdigit() else 22)
            own = F.addr_union(F.parse_network(str(a.ip)) or F.NO_ADDR for a in info.addrs)
            dst = own if not own.is_empty else None
            out.append(Rule(Action.PERMIT, F.matches_for(None, dst, [F.port_service(
                6, R.normalize((p, p) for p in ports))]), self.span(info.node),
                "anti-lockout rule", synthetic=True,
                detail="webGUI/SSH access on " + ifname))
        if info.node.has("blockpriv"):
            priv = F.addr_union(F.parse_network(n) or F.NO_ADDR for n in PRIVATE)
            out.append(Rule(Action.DENY, F.matches_for(priv, None, [F.ANY_SERVICE]),
                            self.span(info.node.find("blockpriv") or info.node),
                            "block private networks", synthetic=True))
        if info.node.has("blockbogons"):
            self.diag(Level.WARNING, f"{ifname}: bogon networks are a run-time table; their "
                      "block is not modelled (blocks under-approximated)",
                      info.node.find("blockbogons"), "bogons")
        if v6_allowed:
            out.append(Rule(Action.PERMIT, tuple(
                Match(family=6, protocols=R.single(58), icmp_types=R.single(t))
                for t in (1, 2, 135, 136)), self.span(sys_node), "IPv6 ICMP errors and ND",
                synthetic=True))
        return out

    # -- device ----------------------------------------------------------------------------

    def unmodelled_sections(self) -> None:
        """Rule-bearing sections this conversion does not read (newer OPNsense MVC NAT and
        the like, pfSense NPt): present with rules -> unsupported, never silently ignored."""
        fw = self.root.find("OPNsense", "Firewall")
        for section in fw.children if fw is not None else []:
            if section.tag in KNOWN_MVC or not any(n.tag == "rule" for n in section.iter()):
                continue
            self.diag(Level.UNSUPPORTED, f"OPNsense Firewall/{section.tag} rules are not "
                      "modelled", section, "unmodelled-section")
        nat = self.root.find("nat")
        for tag in ("npt", "advancedoutbound"):
            for x in nat.findall(tag) if nat is not None else []:
                if x.children:
                    self.diag(Level.UNSUPPORTED, f"NAT section <{tag}> is not modelled", x,
                              "unmodelled-section")

    def nat(self) -> list[NatRule]:
        out: list[NatRule] = []
        self.unmodelled_sections()
        nat = self.root.find("nat")
        if nat is None:
            return out
        for r in nat.findall("rule"):
            if flag(r.find("disabled")) or r.has("nordr"):
                continue  # disabled, or an explicit "no redirect" exception
            target = f"{r.text_of('target')}:{r.text_of('local-port')}"
            out.append(NatRule("dnat", self.span(r), f"port forward on "
                               f"{r.text_of('interface')} to {target}"))
            self.diag(Level.UNSUPPORTED, f"port forward to {target} changes reachability "
                      "(pf filters the translated address); not modelled", r, "port-forward")
        for r in nat.findall("onetoone"):
            out.append(NatRule("static", self.span(r), f"1:1 NAT {r.text_of('external')}"))
            self.diag(Level.UNSUPPORTED, "1:1 NAT changes reachability; not modelled", r,
                      "one-to-one")
        outbound = nat.find("outbound")
        out.extend(NatRule("snat", self.span(r), f"outbound NAT on {r.text_of('interface')}")
                   for r in (outbound.findall("rule") if outbound is not None else []))
        return out

    def device(self, name: str | None) -> Device:
        user = self.user_rules()
        converted = [(r, self.rule(r)) for r in user]
        filters: dict[str, Filter] = {}
        forward: list[Stage] = []
        local: list[Stage] = []
        interfaces: dict[str, Interface] = {}
        ret = Rule(Action.PERMIT, (F.stateful_return_match(),), self.span(self.root),
                   "stateful-return", synthetic=True, detail="packets of permitted states")
        for ifname, info in self.interfaces.items():
            iface = Interface(ifname, ifname, tuple(info.addrs), self.span(info.node))
            interfaces[ifname] = iface
            interfaces.setdefault(info.device, Interface(info.device, ifname,
                                                         tuple(info.addrs), iface.span))
            cond = IfaceMatch(names=tuple(dict.fromkeys((ifname, info.device))),
                              zones=(ifname,))
            for direction in ("in", "out"):
                mine = [(r, m) for r, m in converted if m is not None
                        and self.applies(r, ifname, direction)]
                if direction == "out" and not mine:
                    continue
                quick = [m for r, m in mine if r.quick]
                lazy = [m for r, m in reversed(mine) if not r.quick]
                if direction == "in":
                    last = Rule(Action.DENY, (Match(),), self.span(info.node),
                                "default deny (block in all)", synthetic=True)
                    rules = [ret, *self.automatic(ifname), *quick, *lazy, last]
                else:
                    last = Rule(Action.PERMIT, (Match(),), self.span(info.node),
                                "default pass out", synthetic=True)
                    rules = [ret, *quick, *lazy, last]
                fname = f"{direction}:{ifname}"
                filters[fname] = Filter(fname, tuple(rules), Action.DENY if direction == "in"
                                        else Action.PERMIT, self.span(info.node), notes=(
                    "pf last-match converted: quick rules in order, then non-quick reversed",))
                if direction == "in":
                    forward.append(Stage(fname, ingress=cond))
                    local.append(Stage(fname, ingress=cond))
                else:
                    forward.append(Stage(fname, egress=cond))
        for r, m in converted:
            if m is not None and not any(self.applies(r, i, d) for i in self.interfaces
                                         for d in ("in", "out")):
                self.diag(Level.WARNING, f"rule {m.name!r} applies to no known interface "
                          f"({','.join(r.interfaces)})", r.node, "unbound-rule")
        nat = self.nat()
        hostname = self.root.text_of("system", "hostname") if self.root.find("system") \
            else ""
        diagnostics = [*self.diagnostics, *F.disabled_only(self.deferred, self.diagnostics)]
        return Device(name or hostname or self.vendor, self.vendor, self.path, filters,
                      tuple(forward), tuple(local), interfaces, tuple(nat),
                      tuple(diagnostics))


def _literal(value: str) -> F.AddrSet | None:
    if "-" in value:
        first, _, last = value.partition("-")
        return F.parse_range(first, last)
    return F.parse_network(value)


def root_tag(text: str) -> str:
    """The root element name, cheaply (for ``detect``)."""
    i = 0
    while True:
        i = text.find("<", i)
        if i < 0 or i + 1 >= len(text):
            return ""
        if text[i + 1] in "?!":
            i += 1
            continue
        j = i + 1
        while j < len(text) and (text[j].isalnum() or text[j] in "_-:."):
            j += 1
        return text[i + 1:j]


def parse(vendor: str, text: str, path: str, name: str | None) -> Device:
    return PfConverter(vendor, text, path).device(name)
