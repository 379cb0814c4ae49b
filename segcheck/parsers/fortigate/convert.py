"""FortiOS tree -> vendor-independent ``Device`` (semantics: the package docstring)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace

from segcheck.model import ranges as R
from segcheck.model.device import Device, Interface, NatRule, Stage
from segcheck.model.rules import Action, Filter, IfaceContext, IfaceMatch, Match, Rule
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers import fwobjects as F
from segcheck.parsers.fortigate.tree import FNode

ALL_TCP = F.port_service(6, None)
ALL_UDP = F.port_service(17, None)
PREDEFINED_SERVICES: dict[str, list[F.Service]] = {
    "ALL": [F.ANY_SERVICE],
    "ALL_TCP": [ALL_TCP],
    "ALL_UDP": [ALL_UDP],
    "ALL_ICMP": [F.icmp_service(4)],
    "ALL_ICMP6": [F.icmp_service(6)],
    "HTTP": [F.port_service(6, R.single(80))],
    "HTTPS": [F.port_service(6, R.single(443))],
    "SSH": [F.port_service(6, R.single(22))],
    "TELNET": [F.port_service(6, R.single(23))],
    "DNS": [F.port_service(6, R.single(53)), F.port_service(17, R.single(53))],
    "PING": [F.icmp_service(4, 8)],
    "PING6": [F.icmp_service(6, 128)],
    "SNMP": [F.port_service(6, R.single(161, 162)), F.port_service(17, R.single(161, 162))],
    "NTP": [F.port_service(6, R.single(123)), F.port_service(17, R.single(123))],
    "RDP": [F.port_service(6, R.single(3389))],
}
"""FortiOS predefined services used when the export does not define them itself (a full
configuration lists them under ``firewall service custom``, which then wins)."""

ACCESS_SERVICES: dict[str, tuple[str, list[F.Service]]] = {
    "https": ("admin-sport", [F.port_service(6, R.single(443))]),
    "http": ("admin-port", [F.port_service(6, R.single(80))]),
    "ssh": ("admin-ssh-port", [F.port_service(6, R.single(22))]),
    "telnet": ("admin-telnet-port", [F.port_service(6, R.single(23))]),
    "snmp": ("", [F.port_service(17, R.single(161))]),
    "fgfm": ("", [F.port_service(6, R.single(541))]),
}
"""``allowaccess`` keywords -> (the ``system global`` port override, default service)."""
UNMODELLED_POLICY_BLOCKS = {
    "firewall security-policy": "NGFW policy-based mode security policies",
    "firewall proxy-policy": "explicit/transparent proxy policies",
    "firewall multicast-policy": "multicast policies",
}
"""Policy tables that decide traffic this model does not evaluate: their presence makes
the result incomplete."""
QUALIFIERS = ("users", "groups", "fsso-groups", "internet-service", "internet-service-src",
              "application", "app-category", "url-category")


@dataclass
class Converter:
    path: str
    lines: list[str]
    diagnostics: list[Diagnostic]
    nat: list[NatRule] = field(default_factory=list)
    _reported: set[str] = field(default_factory=set)
    deferred: list[Diagnostic] = field(default_factory=list)
    """Diagnostics from disabled policies (see ``fwobjects.disabled_only``)."""
    _addr_cache: dict[tuple[int, int, str], F.AddrSet] = field(default_factory=dict)
    """Resolved names per (VDOM, family): policies name the same objects over and over."""
    scratch: bool = False
    """True for the throw-away converter a disabled policy is converted with."""
    _excluding: set[str] = field(default_factory=set)
    """Exclusion groups being expanded (a cycle through ``exclude-member`` is reported)."""

    def span(self, line: int) -> SourceSpan:
        text = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        return SourceSpan(self.path, line, text)

    def diag(self, level: Level, message: str, line: int | None, code: str,
             once: str = "") -> None:
        if once:
            if once in self._reported:
                return
            self._reported.add(once)
        self.diagnostics.append(Diagnostic(
            level, message, self.span(line) if line else None, f"fortigate.{code}"))

    # -- addresses -------------------------------------------------------------------------

    def resolver(self, vd: FNode, family: int) -> F.GroupResolver:
        suffix = "6" if family == 6 else ""
        addrs = _entries(vd, f"firewall address{suffix}")
        groups = _entries(vd, f"firewall addrgrp{suffix}")
        vips = _entries(vd, "firewall vip" if family == 4 else "firewall vip6")
        vipgrps = _entries(vd, "firewall vipgrp" if family == 4 else "firewall vipgrp6")

        def members(name: str) -> list[str] | None:
            if name in addrs:
                return None
            g = groups.get(name) or vipgrps.get(name)
            if g is None:
                return None
            out = g.values("member")
            if g.get("exclude") == "enable" and g.values("exclude-member"):
                # Exclusion is not a union; the leaf marks it for ``addresses``.
                return [f"\0exclude\0{name}"]
            return out

        def leaf(name: str) -> object | None:
            if name.startswith("\0exclude\0"):
                return self._exclusion_group(groups[name.split("\0")[2]], family, vd)
            node = addrs.get(name)
            if node is not None:
                return self._address(node, family)
            if name in vips:
                return self._vip(vips[name], family)
            if name == "all":
                return F.ANY_V4 if family == 4 else F.ANY_V6
            if name == "none":
                return F.parse_network("0.0.0.0/32" if family == 4 else "::/128")
            return None

        return F.GroupResolver(f"address{suffix}", "fortigate", members, leaf)

    def _exclusion_group(self, g: FNode, family: int, vd: FNode) -> F.AddrSet:
        key = f"{family}:{g.name}"
        if key in self._excluding:
            self.diag(Level.ERROR, f"address group cycle through {g.name!r}", g.line,
                      "group-cycle", once=f"cycle:{key}")
            return F.NO_ADDR
        self._excluding.add(key)
        try:
            return self._exclusion_set(g, family, vd)
        finally:
            self._excluding.discard(key)

    def _exclusion_set(self, g: FNode, family: int, vd: FNode) -> F.AddrSet:
        inc = self.addresses(vd, family, list(g.values("member")), g.line)
        exc = self.addresses(vd, family, g.values("exclude-member"), g.line)
        return F.AddrSet(
            R.intersect(inc.v4, R.complement(exc.v4, (1 << 32) - 1)),
            R.intersect(inc.v6, R.complement(exc.v6, (1 << 128) - 1)),
        )

    def addresses(self, vd: FNode, family: int, names: list[str], line: int) -> F.AddrSet:
        res = self.resolver(vd, family)
        out: list[F.AddrSet] = []
        for n in names:
            ckey = (id(vd), family, n)
            cached = self._addr_cache.get(ckey)
            if cached is None:
                values, _ok = res.expand(n, self.span(line))
                cached = self._addr_cache[ckey] = F.addr_union(
                    v for v in values if isinstance(v, F.AddrSet))
            out.append(cached)
        for d in res.diagnostics:
            key = f"{d.code}:{d.message}"
            if key not in self._reported:
                self._reported.add(key)
                self.diagnostics.append(d)
        return F.addr_union(out)

    def _address(self, node: FNode, family: int) -> F.AddrSet:
        kind = node.get("type", "ipprefix" if family == 6 else "ipmask")
        if kind in ("ipmask", "interface-subnet"):
            sub = node.values("subnet") or ["0.0.0.0", "0.0.0.0"]
            text = sub[0] if len(sub) == 1 else f"{sub[0]}/{sub[1]}"
            got = F.parse_network(text)
        elif kind == "ipprefix":
            got = F.parse_network(node.get("ip6", "::/0"))
        elif kind == "iprange":
            got = F.parse_range(node.get("start-ip"), node.get("end-ip", node.get("start-ip")))
        elif kind == "wildcard":
            w = node.values("wildcard") or ["0.0.0.0", "0.0.0.0"]
            got = F.parse_wildcard(w[0], w[1] if len(w) > 1 else "255.255.255.255")
        else:
            self.diag(Level.UNSUPPORTED, f"address {node.name!r} of type {kind} is resolved at "
                      "run time (DNS, geography, dynamic); it matches no address here",
                      node.line, "runtime-address", once=f"rt:{family}:{node.name}")
            return F.NO_ADDR
        if got is None:
            self.diag(Level.ERROR, f"address {node.name!r}: bad value", node.line,
                      "bad-address", once=f"bad:{family}:{node.name}")
            return F.NO_ADDR
        return got

    def _vip(self, node: FNode, family: int) -> F.AddrSet:
        """A VIP used as a destination: matches its external (pre-NAT) address; the
        translation itself is reported, not modelled."""
        ext = node.get("extip")
        if f"vip:{node.name}" not in self._reported:
            self._reported.add(f"vip:{node.name}")
            self.nat.append(NatRule("dnat", self.span(node.line),
                                    f"VIP {node.name}: {ext} -> {node.get('mappedip')}"))
            self.diag(Level.UNSUPPORTED, f"VIP {node.name!r} translates {ext} to "
                      f"{' '.join(node.values('mappedip'))}: policies match its external "
                      "address; reachability of the mapped host is not modelled",
                      node.line, "vip")
        first, _, last = ext.partition("-")
        got = F.parse_range(first, last or first) if ext else None
        if got is None:
            return F.NO_ADDR
        return got if (family == 4) == bool(got.v4) else F.NO_ADDR

    # -- services --------------------------------------------------------------------------

    def services(self, vd: FNode, names: list[str], line: int) -> list[F.Service]:
        custom = _entries(vd, "firewall service custom")
        groups = _entries(vd, "firewall service group")

        def members(name: str) -> list[str] | None:
            if name in custom or name not in groups:
                return None
            return groups[name].values("member")

        def leaf(name: str) -> object | None:
            if name in custom:
                return self._service(custom[name])
            return PREDEFINED_SERVICES.get(name)

        res = F.GroupResolver("service", "fortigate", members, leaf)
        out: list[F.Service] = []
        for n in names:
            values, _ok = res.expand(n, self.span(line))
            for v in values:
                if isinstance(v, list):
                    out.extend(v)
        for d in res.diagnostics:
            key = f"{d.code}:{d.message}"
            if key not in self._reported:
                self._reported.add(key)
                self.diagnostics.append(d)
        return out

    def _service(self, node: FNode) -> list[F.Service]:
        proto = node.get("protocol", "TCP/UDP/SCTP").upper()
        if node.values("iprange") not in ([], ["0.0.0.0"]) or node.get("fqdn"):
            self.diag(Level.UNSUPPORTED, f"service {node.name!r} restricts destination "
                      "addresses (iprange/fqdn); not modelled", node.line,
                      "service-address", once=f"svcaddr:{node.name}")
        if proto in ("ICMP", "ICMP6"):
            fam = 4 if proto == "ICMP" else 6
            t, c = node.get("icmptype"), node.get("icmpcode")
            if (t and not _byte(t)) or (c and not _byte(c)):
                self.diag(Level.ERROR, f"service {node.name!r}: bad ICMP type/code",
                          node.line, "bad-service", once=f"svc:{node.name}")
                return []
            return [F.icmp_service(fam, int(t) if t else None,
                                   int(c) if c and t else None)]
        if proto == "IP":
            n = node.get("protocol-number", "0")
            if not n.isdigit() or int(n) > 255:
                self.diag(Level.ERROR, f"service {node.name!r}: bad protocol-number",
                          node.line, "bad-service", once=f"svc:{node.name}")
                return []
            return [F.ANY_SERVICE] if int(n) == 0 else [F.Service(R.single(int(n)))]
        if proto not in ("TCP/UDP/SCTP", "TCP/UDP/UDP-LITE/SCTP"):
            self.diag(Level.UNSUPPORTED, f"service {node.name!r}: protocol {proto} not "
                      "modelled", node.line, "bad-service", once=f"svc:{node.name}")
            return []
        out: list[F.Service] = []
        for key, number in (("tcp-portrange", 6), ("udp-portrange", 17),
                            ("sctp-portrange", 132), ("udplite-portrange", 136)):
            for spec in node.values(key):
                got = _portrange(spec)
                if got is None:
                    self.diag(Level.ERROR, f"service {node.name!r}: bad {key} {spec!r}",
                              node.line, "bad-service", once=f"svc:{node.name}:{spec}")
                    continue
                dports, sports = got
                out.append(F.port_service(number, dports, sports))
        return out

    # -- policies --------------------------------------------------------------------------

    def iface_cond(self, names: list[str]) -> tuple[IfaceMatch, ...]:
        if not names or "any" in names:
            return ()
        return (IfaceMatch(names=tuple(names), zones=tuple(names)),)

    def policy(self, vd: FNode, node: FNode, six_only: bool) -> Rule:
        if node.get("status", "enable") == "disable" and not self.scratch:
            sub = replace(self, diagnostics=[], nat=[], deferred=[], _reported=set(),
                          _excluding=set(), _addr_cache={}, scratch=True)
            rule = sub.policy(vd, node, six_only)
            self.deferred.extend(sub.diagnostics)
            return rule
        span = self.span(node.line)
        action_text = node.get("action", "deny")
        action = Action.PERMIT if action_text in ("accept", "ipsec") else Action.DENY
        enabled = node.get("status", "enable") != "disable"
        src4 = self.addresses(vd, 4, node.values("srcaddr"), node.line) \
            if not six_only and node.values("srcaddr") else F.NO_ADDR
        dst4 = self.addresses(vd, 4, node.values("dstaddr"), node.line) \
            if not six_only and node.values("dstaddr") else F.NO_ADDR
        key6s, key6d = ("srcaddr", "dstaddr") if six_only else ("srcaddr6", "dstaddr6")
        src6 = self.addresses(vd, 6, node.values(key6s), node.line) \
            if node.values(key6s) else F.NO_ADDR
        dst6 = self.addresses(vd, 6, node.values(key6d), node.line) \
            if node.values(key6d) else F.NO_ADDR
        # srcaddr-negate applies to srcaddr (IPv4; IPv6 in the old policy6 table),
        # srcaddr6-negate to srcaddr6 (consolidated policies).
        neg6 = "" if six_only else "6"
        if node.get("srcaddr-negate") == "enable" and not six_only and node.values("srcaddr"):
            src4 = F.AddrSet(R.complement(src4.v4, (1 << 32) - 1), ())
        if node.get("dstaddr-negate") == "enable" and not six_only and node.values("dstaddr"):
            dst4 = F.AddrSet(R.complement(dst4.v4, (1 << 32) - 1), ())
        if node.get(f"srcaddr{neg6}-negate") == "enable" and node.values(key6s):
            src6 = F.AddrSet((), R.complement(src6.v6, (1 << 128) - 1))
        if node.get(f"dstaddr{neg6}-negate") == "enable" and node.values(key6d):
            dst6 = F.AddrSet((), R.complement(dst6.v6, (1 << 128) - 1))
        services = self.services(vd, node.values("service"), node.line)
        excludes: list[Match] = []
        if node.get("service-negate") == "enable":
            excludes.extend(F.matches_for(None, None, services))
            services = [F.ANY_SERVICE]
        for q in QUALIFIERS:
            if node.values(q) and node.get(q) not in ("disable", ""):
                self.diag(Level.WARNING, f"policy {node.name}: {q} is not a packet header; "
                          + ("ignored (permit over-approximated)" if action is Action.PERMIT
                             else "policy treated as matching nothing"),
                          node.settings[q].line, "non-header-condition")
                if action is Action.DENY:
                    services = []
        if action is Action.PERMIT:
            # ISDB objects replace the address lists: a permit may reach any address.
            if node.get("internet-service") == "enable":
                dst4, dst6 = F.ANY_V4, F.ANY_V6
            if node.get("internet-service-src") == "enable":
                src4, src6 = F.ANY_V4, F.ANY_V6
        in_c = self.iface_cond(node.values("srcintf"))
        out_c = self.iface_cond(node.values("dstintf"))
        matches = F.matches_for(F.AddrSet(src4.v4, src6.v6), F.AddrSet(dst4.v4, dst6.v6),
                                services, in_c, out_c) if services else ()
        # matches_for pairs families itself: v4 boxes from (src4, dst4), v6 from (src6, dst6)
        name = node.get("name")
        return Rule(action, matches, span, f"policy {node.name}" + (f" ({name})" if name else ""),
                    excludes=tuple(excludes), enabled=enabled,
                    detail="" if action_text in ("accept", "deny") else action_text)


def _byte(text: str) -> bool:
    return text.isdigit() and int(text) <= 255


def _entries(vd: FNode, path: str) -> dict[str, FNode]:
    block = vd.block(path)
    return block.entries if block is not None else {}


def _portrange(spec: str) -> tuple[R.Ranges | None, R.Ranges | None] | None:
    """``dst[-dst][:src[-src]]`` -> (dports, sports); None when malformed."""
    dst, _, src = spec.partition(":")
    d = F.parse_ports(dst)
    if d is None:
        return None
    s = F.parse_ports(src) if src else R.single(0, R.PORT_MAX)
    if s is None:
        return None
    return d, s


def interfaces_of(conv: Converter, glob: FNode) -> dict[str, tuple[FNode, list[
        ipaddress.IPv4Interface | ipaddress.IPv6Interface]]]:
    out: dict[str, tuple[FNode, list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]]] = {}
    for name, node in _entries(glob, "system interface").items():
        addrs: list[ipaddress.IPv4Interface | ipaddress.IPv6Interface] = []
        ip = node.values("ip")
        if ip:
            text = ip[0] if len(ip) == 1 else f"{ip[0]}/{ip[1]}"
            try:
                iface = ipaddress.ip_interface(text)
                if int(iface.ip) != 0:
                    addrs.append(iface)
            except ValueError:
                conv.diag(Level.WARNING, f"interface {name}: bad ip {' '.join(ip)!r}",
                          node.settings["ip"].line, "bad-interface-address")
        v6 = node.block("ipv6")
        if v6 is not None and v6.get("ip6-address"):
            try:
                iface6 = ipaddress.ip_interface(v6.get("ip6-address"))
                if int(iface6.ip) != 0:
                    addrs.append(iface6)
            except ValueError:
                pass
        out[name] = (node, addrs)
    return out


def local_filter(conv: Converter, vd: FNode, glob: FNode, ifaces: dict[str, tuple[FNode, list[
        ipaddress.IPv4Interface | ipaddress.IPv6Interface]]], fname: str, anchor: int
        ) -> tuple[Filter, dict[str, F.AddrSet]]:
    """local-in-policy rules (by incoming interface), then ``allowaccess`` of the interface
    owning the destination address, then deny. Also returns the interfaces with
    ``allowaccess`` and their own addresses (for ``to_device_filter``)."""
    rules: list[Rule] = []
    owners: dict[str, F.AddrSet] = {}
    for key in ("firewall local-in-policy", "firewall local-in-policy6"):
        for node in _entries(vd, key).values():
            six = key.endswith("6")
            r = conv.policy(vd, node, six_only=six)
            intf = node.values("intf")
            cond = conv.iface_cond(intf)
            rules.append(Rule(r.action, tuple(
                Match(family=m.family, src=m.src, dst=m.dst, protocols=m.protocols,
                      sports=m.sports, dports=m.dports, icmp_types=m.icmp_types,
                      icmp_codes=m.icmp_codes, in_iface=cond) for m in r.matches),
                r.span, f"local-in {r.name}", excludes=r.excludes, enabled=r.enabled))
    settings = glob.block("system global")
    for ifname, (node, addrs) in ifaces.items():
        for key, fam in (("allowaccess", 4), ("ip6-allowaccess", 6)):
            holder = node if key == "allowaccess" else node.block("ipv6")
            if holder is None or not holder.values(key):
                continue
            services: list[F.Service] = []
            for word in holder.values(key):
                if word == "ping":
                    services.append(F.icmp_service(fam, 8 if fam == 4 else 128))
                elif word in ACCESS_SERVICES:
                    override, svcs = ACCESS_SERVICES[word]
                    port = settings.get(override) if settings is not None and override else ""
                    if port.isdigit():
                        svcs = [F.port_service(6, R.single(int(port)))]
                    services.extend(svcs)
                else:
                    conv.diag(Level.UNSUPPORTED, f"interface {ifname}: allowaccess {word} "
                              "is not modelled", holder.settings[key].line, "allowaccess",
                              once=f"aa:{ifname}:{word}")
            own = [a for a in addrs if a.version == fam]
            dst = F.addr_union(F.parse_network(str(a.ip)) or F.NO_ADDR for a in own) if own \
                else (F.ANY_V4 if fam == 4 else F.ANY_V6)
            if own:
                owners[ifname] = owners.get(ifname, F.NO_ADDR) | dst
            rules.append(Rule(
                Action.PERMIT, F.matches_for(None, dst, services),
                conv.span(holder.settings[key].line),
                f"allowaccess {' '.join(holder.values(key))} on {ifname}", synthetic=True))
    return Filter(fname, tuple(rules), Action.DENY, conv.span(anchor), notes=(
        "FortiGate local-in: local-in policies, then the addressed interface's allowaccess",
    )), owners


def to_device_filter(policy: Filter, owners: dict[str, F.AddrSet],
                     zone_of: dict[str, str], fname: str, anchor: SourceSpan) -> Filter:
    """Admin access to an interface's address from *another* interface also needs a
    firewall policy from the incoming interface to the addressed one (Fortinet KB 369268);
    from the interface itself it does not. Destinations that are not addresses of an
    ``allowaccess`` interface are not checked here (permit)."""
    rules: list[Rule] = []
    for ifname, dst in owners.items():
        same = F.matches_for(None, dst, [F.ANY_SERVICE], (IfaceMatch(names=(ifname,)),))
        rules.append(Rule(Action.PERMIT, same, anchor, f"to {ifname} from itself",
                          synthetic=True, detail="no firewall policy needed"))
        rules.extend(F.rules_towards(policy.rules, IfaceContext(ifname, zone_of.get(ifname)),
                                     dst, f"to {ifname}"))
    rules.append(Rule(Action.PERMIT, (Match(),), anchor, "not an admin address",
                      synthetic=True))
    return Filter(fname, tuple(rules), Action.DENY, anchor, notes=(
        "firewall policies for traffic to the FortiGate's own admin addresses",))


def build_device(conv: Converter, root: FNode, name: str | None) -> Device:
    vdom_block = root.block("vdom")
    glob = root.block("global") or root
    multi = vdom_block is not None and any(e.blocks for e in vdom_block.entries.values())
    vdoms: list[tuple[str, FNode]] = (
        [(k, e) for k, e in vdom_block.entries.items() if e.blocks] if multi and vdom_block
        else [("root", root)])
    hostname = (glob.block("system global") or FNode("", 0)).get("hostname")
    ifaces = interfaces_of(conv, glob)
    filters: dict[str, Filter] = {}
    forward: list[Stage] = []
    local: list[Stage] = []
    interfaces: dict[str, Interface] = {}
    for vname, vd in vdoms:
        prefix = f"{vname}/" if len(vdoms) > 1 else ""
        mine = {n: v for n, v in ifaces.items()
                if len(vdoms) == 1 or v[0].get("vdom", "root") == vname}
        zones = _entries(vd, "system zone")
        zone_of = {i: z for z, zn in zones.items() for i in zn.values("interface")}
        for n, (node, addrs) in mine.items():
            interfaces[n] = Interface(n, zone_of.get(n), tuple(addrs), conv.span(node.line))
        rules: list[Rule] = [Rule(Action.PERMIT, (F.stateful_return_match(),),
                                  conv.span(vd.line), "stateful-return", synthetic=True,
                                  detail="packets of permitted sessions")]
        for z, zn in zones.items():
            if zn.get("intrazone", "deny") == "allow":
                rules.append(Rule(Action.PERMIT, (Match(
                    in_iface=(IfaceMatch(zones=(z,)),), out_iface=(IfaceMatch(zones=(z,)),)),),
                    conv.span(zn.settings["intrazone"].line), f"zone {z} intrazone allow",
                    synthetic=True))
        for key, what in UNMODELLED_POLICY_BLOCKS.items():
            block = vd.block(key)
            if block is not None and block.entries:
                conv.diag(Level.UNSUPPORTED, f"{key}: {what} are not modelled", block.line,
                          "unmodelled-policies")
        pblock = vd.block("firewall policy")
        rules.extend(conv.policy(vd, p, six_only=False)
                     for p in (pblock.entries.values() if pblock else []))
        p6 = vd.block("firewall policy6")
        rules.extend(conv.policy(vd, p, six_only=True)
                     for p in (p6.entries.values() if p6 else []))
        anchor = pblock.line if pblock is not None else vd.line
        rules.append(Rule(Action.DENY, (Match(),), conv.span(anchor), "implicit deny (policy 0)",
                          synthetic=True, detail="FortiGate implicit deny"))
        fname = f"{prefix}policy"
        filters[fname] = Filter(fname, tuple(rules), Action.DENY, conv.span(anchor),
                                notes=("FortiGate: first match in listed order; implicit deny",))
        ingress = IfaceMatch(names=tuple(mine), zones=tuple(zones)) if len(vdoms) > 1 else None
        forward.append(Stage(fname, ingress=ingress))
        lname = f"{prefix}local-in"
        filters[lname], owners = local_filter(conv, vd, glob, mine, lname, vd.line)
        local.append(Stage(lname, ingress=ingress))
        if owners:
            tname = f"{prefix}policy-to-device"
            filters[tname] = to_device_filter(filters[fname], owners, zone_of, tname,
                                              conv.span(vd.line))
            local.append(Stage(tname, ingress=ingress))
        for vip_kind in ("firewall vip", "firewall vip6"):
            for vip in _entries(vd, vip_kind).values():
                conv._vip(vip, 4 if vip_kind.endswith("vip") else 6)
        for key in ("firewall central-snat-map", "firewall ippool"):
            for e in _entries(vd, key).values():
                conv.nat.append(NatRule("snat", conv.span(e.line), f"{key} {e.name}"))
    for n, (node, addrs) in ifaces.items():
        interfaces.setdefault(n, Interface(n, None, tuple(addrs), conv.span(node.line)))
    diagnostics = [*conv.diagnostics, *F.disabled_only(conv.deferred, conv.diagnostics)]
    return Device(name or hostname or "fortigate", "fortigate", conv.path, filters,
                  tuple(forward), tuple(local), interfaces, tuple(conv.nat),
                  tuple(diagnostics))

