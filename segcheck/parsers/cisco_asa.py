"""Cisco ASA ``show running-config`` -> ``Device``.

Read: ``interface`` (``nameif``, ``security-level``, addresses), ``names``/``name``,
``object network|service``, ``object-group network|service|protocol|icmp-type`` (nested via
``group-object``; cycles and undefined names are diagnostics), ``access-list`` (extended,
standard, remark, ``inactive``; webtype/ethertype ignored with a diagnostic),
``access-group NAME in|out interface IF`` and ``access-group NAME global``,
``same-security-traffic permit inter-interface|intra-interface``, object and twice NAT.

Semantics checklist (STYLE.md habit 5):

- Stateful: yes; we analyse connection-initiating packets (return traffic is implied).
- Security levels, made explicit per ingress interface ``N`` in filter ``inbound N`` (a
  forward stage for packets entering on ``N``):

  1. Traffic to another interface of the same level is dropped unless
     ``same-security-traffic permit inter-interface``; traffic leaving by the interface it
     came in on is dropped unless ``... intra-interface``. An ACL cannot override this
     (synthetic deny rules first).
  2. If ``N`` has an inbound ACL and/or a global ACL exists: the interface ACL's entries,
     then the global ACL's entries, then the implicit deny. The ACLs replace the
     security-level default.
  3. Otherwise: permit to every interface of a lower level (and of the same level / itself
     when the same-security options allow it), deny the rest (synthetic rule + deny).

  ``access-group X out interface N`` adds a stage ``outbound N`` for packets leaving by
  ``N`` (its entries, then the implicit deny).
- Empty address list: an object-group without members matches nothing. ``any`` is IPv4 and
  IPv6 (8.3+), ``any4``/``any6`` one family.
- ICMP vs ICMPv6: ``icmp`` is protocol 1, ``icmp6`` protocol 58; ICMP type names per
  ``_cisco.ICMP4_NAMES``/``ICMP6_NAMES``.
- Names vs numbers: protocol/port names per ``_cisco`` tables; ``name`` aliases resolved.
- Inactive entries: kept with ``enabled=False``. ``time-range``: treated as always active
  and reported (incomplete). FQDN objects: match nothing and are reported (incomplete).
- NAT: since 8.3 ACLs are written against real (untranslated) addresses, so object and
  twice NAT do not change the verdict for real addresses; they are parsed into
  ``Device.nat`` with a warning. Pre-8.3 ``static``/``global`` NAT (ACLs on mapped
  addresses) is not modelled and marks the result incomplete.
- ``Device.interfaces``: every physical interface, and each ``nameif`` as an alias of its
  interface (same addresses), so a topology may name either.
- Interfaces without ``nameif`` pass no traffic: a forward stage ``unnamed ingress`` denies
  packets entering by any interface that is not a named one (also an unknown one).
- No ACL bound and no global ACL: the security-level default above.
- Traffic to the ASA itself (local stage ``management``): ACLs do not apply; the ASA
  accepts ``ssh``/``telnet`` (tcp/22, tcp/23) only from the ``ssh|telnet ADDR MASK IF`` (or
  ``ADDR/LEN IF``) entries, to the addresses of interface ``IF`` itself (any address when
  the export gives it none) and ``http`` (tcp/443 or ``http server enable PORT``) only from
  ``http ADDR MASK IF`` entries once ``http server enable`` is configured; ``snmp-server
  host IF ADDR`` (not ``trap``) may poll udp/161. ICMP to the interfaces is permitted (the
  ``icmp`` rules are not modelled: an over-approximation). Everything else to the device
  is denied.
- Every other line: a top-level command in ``IRRELEVANT`` (logging, ntp, routes, VPN,
  management...) is ASA syntax that decides no new flow and is ignored; ``NOT_MODELLED``
  ones get a warning; anything else (``sysopt``, ``firewall transparent``, IOS
  commands) is UNSUPPORTED at its line (incomplete). Likewise interface sub-commands
  outside ``IFACE_IRRELEVANT``. A file in which no command is ASA syntax (``end``/``exit``
  do not count) raises ``ConfigParseError``: a wrong ``--vendor`` is refused, not answered.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace

from segcheck.errors import ConfigParseError
from segcheck.model import ranges as R
from segcheck.model.device import Device, Interface, NatRule, Stage
from segcheck.model.rules import Action, Filter, IfaceMatch, Match, Rule
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers import _cisco as C

VENDOR = "cisco-asa"


def detect(text: str) -> int:
    """Score ASA-looking text (``ASA Version``, ``nameif``, ``access-list X extended``,
    ``access-group``); IOS-only commands (``ip access-list``, a block ``ipv6 access-list``,
    interface ``ip access-group``) weigh against."""
    head = text[:200_000]
    score = 0
    if re.search(r"^: Saved|^(ASA|PIX|FWSM) Version \d", head, re.M):
        score += 95
    if re.search(r"^access-list \S+ (line \d+ )?extended (permit|deny) ", head, re.M):
        score += 70
    if re.search(r"^clear configure access-list ", head, re.M):
        score += 30
    if re.search(r"^ nameif \S+", head, re.M):
        score += 60
    if re.search(r"^access-group \S+ (in|out) interface |^access-group \S+ global", head, re.M):
        score += 40
    if re.search(r"^ security-level \d+", head, re.M):
        score += 20
    # IOS-only syntax (no ASA release has these commands) weighs against
    if re.search(r"^ip access-list \S+", head, re.M):
        score -= 50
    if re.search(r"^ipv6 access-list \S+[ \t]*$", head, re.M):
        score -= 30
    if re.search(r"^ ip access-group \S+ (in|out)|^ ipv6 traffic-filter ", head, re.M):
        score -= 40
    if re.search(r"^(boot-start-marker|version 1[0-9]\.)", head, re.M):
        score -= 40
    return max(0, min(score, 98))


IRRELEVANT = frozenset({
    "ASA Version", "PIX Version", "FWSM Version", "hostname", "domain-name", "enable", "passwd",
    "names", "banner", "logging", "ntp", "clock", "dns", "dns-guard", "ftp mode", "pager",
    "mtu", "arp", "asdm", "boot", "call-home", "command-alias", "console", "crypto", "dhcpd",
    "dhcprelay", "dynamic-access-policy-record", "group-policy", "tunnel-group", "webvpn",
    "http", "ssh", "telnet", "icmp", "aaa", "aaa-server", "username", "user-identity",
    "prompt", "route", "ipv6 route", "router", "snmp-server", "threat-detection", "timeout",
    "xlate", "terminal", "failover", "monitor-interface", "license", "service-policy",
    "policy-map", "class-map", "vpn-addr-assign", "ip local", "ipv6 local", "ssl", "end",
    "service", "management-access", "privilege", "jumbo-frame", "mac-address", "smtp-server",
    "regex", "snmp-map", "tcp-map", "flow-export", "schedule", "no-payload",
    "dhcp-client", "ipv6 unicast-routing", "ipv6 icmp", "fragment", "ciscoasa",
    "auto-update", "crashinfo", "quit", "exit", "wccp", "eigrp", "prefix-list",
    "route-map", "dns-domain", "client-update", "ca", "certificate",
    "anyconnect", "firewall router", "nat-assign", "remark",
})
"""Top-level ASA commands known not to decide which new connections cross the firewall
(management, logging, routing, VPN, to-the-box access, MPF inspection): read as ASA syntax
and otherwise ignored. ``firewall transparent``, ``sysopt``, ``nat-control``,
``access-list ... webtype`` and every command not listed are reported."""

NOT_MODELLED = frozenset({"ip verify", "ipv6 verify", "filter", "ip audit"})
"""Commands that can drop traffic but not by which flows are allowed (reverse-path checks of
spoofed sources, active-content filtering, attack signatures): a warning each (verdicts
may then permit what these drop, never the reverse)."""

IFACE_IRRELEVANT = frozenset({
    "description", "shutdown", "speed", "duplex", "mac-address", "vlan", "switchport", "mtu",
    "management-only", "channel-group", "nve-only", "pppoe", "ipv6 enable", "ipv6 nd",
    "ip address", "ipv6 address", "ipv6 link-local", "ipv6 autoconfig", "delay", "flowcontrol",
    "member-interface", "lacp", "ddns", "dhcp", "dhcprelay", "authentication", "ospf",
    "eigrp", "igmp", "pim", "multicast", "negotiation", "media-type", "nameif",
    "security-level", "zone-member",
})
"""Interface sub-commands with no say over which flows pass (an address that is not read
above gets a warning; ``shutdown`` is read as up: more reachability, never less)."""


@dataclass
class _Node:
    no: int
    text: str
    children: list[_Node] = field(default_factory=list)


def _blocks(text: str) -> list[_Node]:
    top: list[_Node] = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        s = line.strip()
        if not s or s.startswith("!") or s.startswith(":"):
            continue
        node = _Node(no, s)
        if line[0] in " \t" and top:
            top[-1].children.append(node)
        else:
            top.append(node)
    return top


@dataclass
class _Iface:
    phys: str
    span: SourceSpan
    nameif: str | None = None
    level: int | None = None
    addresses: list[ipaddress.IPv4Interface | ipaddress.IPv6Interface] = field(
        default_factory=list)


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.diags: list[Diagnostic] = []
        self.hostname: str | None = None
        self.ifaces: list[_Iface] = []
        self.names: dict[str, str] = {}
        self.objects: dict[str, _Node] = {}
        self.object_kind: dict[str, str] = {}
        self.groups: dict[str, _Node] = {}
        self.group_kind: dict[str, str] = {}
        self.acls: dict[str, list[tuple[SourceSpan, list[str]]]] = {}
        self.acl_kind: dict[str, str] = {}
        self.bind_in: dict[str, tuple[str, SourceSpan]] = {}
        self.bind_out: dict[str, tuple[str, SourceSpan]] = {}
        self.bind_global: tuple[str, SourceSpan] | None = None
        self.inter = False
        self.intra = False
        self.nat: list[NatRule] = []
        self.mgmt: list[tuple[str, C.Addr, str, SourceSpan]] = []
        self.http_port: int | None = None
        self._addr_cache: dict[str, C.Addr] = {}
        self._svc_cache: dict[str, list[C.Svc]] = {}

    def span(self, n: _Node) -> SourceSpan:
        return SourceSpan(self.path, n.no, n.text)

    def diag(self, level: Level, msg: str, sp: SourceSpan | None, code: str) -> None:
        self.diags.append(Diagnostic(level, msg, sp, f"{VENDOR}.{code}"))

    # ------------------------------------------------------------------ collect
    def collect(self) -> None:
        """Read every top-level command; each is handled, known not to filter, or reported.

        Raises ``ConfigParseError`` when not one command is ASA syntax (a foreign file)."""
        recognised = 0
        for n in _blocks(self.text):
            w = n.text.split()
            sp = self.span(n)
            if self._command(n, w, sp) and w[0] not in ("end", "exit"):
                recognised += 1  # 'end'/'exit' close blocks in other vendors' files too
        if not recognised:
            raise ConfigParseError("does not look like a Cisco ASA configuration: no line is an "
                                   "ASA command", SourceSpan(self.path, 1))

    def _command(self, n: _Node, w: list[str], sp: SourceSpan) -> bool:
        """Read one top-level command; False when it is not ASA syntax (then reported)."""
        head = w[0]
        if head == "hostname" and len(w) > 1:
            self.hostname = w[1]
        elif head == "interface" and len(w) > 1:
            self._interface(n, w[1], sp)
        elif head == "name" and len(w) >= 3:
            self.names[w[2]] = w[1]
        elif head == "object" and len(w) >= 3:
            self.objects[w[2]] = n
            self.object_kind[w[2]] = w[1]
            for c in n.children:
                if c.text.startswith("nat "):
                    self._nat(c.text.split(), self.span(c), twice=False)
        elif head == "object-group" and len(w) >= 3:
            if w[1] == "group":  # not ASA syntax (a batfish grammar test)
                self.diag(Level.UNSUPPORTED, "object-group not understood", sp, "group")
                return True
            self.groups[w[2]] = n
            self.group_kind[w[2]] = w[1] if w[1] != "service" or len(w) == 3 else \
                f"port:{w[3]}"
        elif head == "access-list" and len(w) >= 3:
            self._acl_line(w, sp)
        elif head == "access-group" and len(w) >= 3:
            self._access_group(w, sp)
        elif head in ("ssh", "telnet", "http", "snmp-server") and self._mgmt(w, sp):
            pass
        elif w[:2] == ["same-security-traffic", "permit"] and len(w) >= 3:
            if w[2] == "inter-interface":
                self.inter = True
            elif w[2] == "intra-interface":
                self.intra = True
        elif head == "nat" and len(w) >= 2:
            self._nat(w, sp, twice=True)
        elif head in ("static", "global") and len(w) >= 2 and w[1].startswith("("):
            self.nat.append(NatRule("static" if head == "static" else "snat", sp, n.text))
            self.diag(Level.UNSUPPORTED, "pre-8.3 NAT: ACLs see mapped addresses; not "
                      "modelled", sp, "nat")
        elif w[:2] == ["ipv6", "access-list"]:
            self.diag(Level.UNSUPPORTED, "pre-9.0 ipv6 access-list not modelled", sp,
                      "ipv6-acl")
        elif w[:3] == ["clear", "configure", "access-list"] and len(w) >= 4:
            self.acls.pop(w[3], None)
        elif head.startswith("Cryptochecksum:") or C.command_in(w, IRRELEVANT):
            pass
        elif C.command_in(w, NOT_MODELLED):
            self.diag(Level.WARNING, f"'{n.text}' is not modelled (it does not decide which new "
                      "connections pass through)", sp, "not-modelled")
        else:
            more = f" (and its {len(n.children)} sub-command(s))" if n.children else ""
            self.diag(Level.UNSUPPORTED, f"unknown or unsupported ASA command "
                      f"{' '.join(w[:3])!r}{more}",
                      sp, "unknown-command")
            return False
        return True

    def _interface(self, n: _Node, phys: str, sp: SourceSpan) -> None:
        it = _Iface(phys, sp)
        for c in n.children:
            w = c.text.split()
            if w[0] == "nameif" and len(w) == 2:
                it.nameif = w[1]
            elif w[0] == "security-level" and len(w) == 2 and w[1].isdigit():
                it.level = int(w[1])
            elif w[:2] == ["ip", "address"] and len(w) >= 4:
                try:
                    it.addresses.append(ipaddress.IPv4Interface(f"{w[2]}/{w[3]}"))
                except ValueError:
                    self.diag(Level.WARNING, "interface address not understood", self.span(c),
                              "interface")
            elif w[:2] == ["ipv6", "address"] and len(w) >= 3 and "/" in w[2]:
                try:
                    it.addresses.append(ipaddress.IPv6Interface(w[2]))
                except ValueError:
                    self.diag(Level.WARNING, "interface address not understood", self.span(c),
                              "interface")
            elif not C.command_in(w, IFACE_IRRELEVANT):
                self.diag(Level.UNSUPPORTED, f"interface sub-command {c.text!r} not understood"
                          " (IOS filtering commands such as 'ip access-group' are not ASA "
                          "syntax)" if w[0] in ("ip", "ipv6") else
                          f"interface sub-command {c.text!r} not understood", self.span(c),
                          "interface")
        if it.nameif and it.level is None:
            # ASA default: `inside` gets 100, every other nameif 0
            it.level = 100 if it.nameif == "inside" else 0
        self.ifaces.append(it)

    def _acl_line(self, w: list[str], sp: SourceSpan) -> None:
        name = w[1]
        rest = w[2:]
        if rest[:1] == ["line"] and len(rest) > 1:
            rest = rest[2:]
        if not rest:
            return
        kind = rest[0]
        if kind == "remark":
            self.acls.setdefault(name, [])
            return
        if kind in ("webtype", "ethertype", "rule-based", "object-group-search"):
            self.diag(Level.WARNING, f"{kind} access-list ignored (not IP filtering)", sp,
                      "acl-kind")
            return
        if kind in ("extended", "standard"):
            self.acl_kind.setdefault(name, kind)
            rest = rest[1:]
        elif kind in ("permit", "deny"):
            self.acl_kind.setdefault(name, "extended")
        else:
            self.diag(Level.UNSUPPORTED, "access-list line not understood", sp, "acl")
            return
        self.acls.setdefault(name, []).append((sp, rest))

    def _access_group(self, w: list[str], sp: SourceSpan) -> None:
        name = w[1]
        if w[2] == "global":
            self.bind_global = (name, sp)
        elif w[2] in ("in", "out") and len(w) >= 5 and w[3] == "interface":
            (self.bind_in if w[2] == "in" else self.bind_out)[w[4]] = (name, sp)
            if len(w) > 5 and w[5] != "per-user-override":
                self.diag(Level.UNSUPPORTED, f"access-group option {w[5]} not modelled", sp,
                          "access-group")
        else:
            self.diag(Level.UNSUPPORTED, "access-group not understood", sp, "access-group")

    def _nat(self, w: list[str], sp: SourceSpan, twice: bool) -> None:
        kind = "twice" if twice and "source" in w else ("static" if "static" in w else "snat")
        if twice and "destination" in w:
            kind = "twice-dnat"
        self.nat.append(NatRule(kind, sp, " ".join(w)))
        self.diag(Level.WARNING, "NAT parsed; ASA 8.3+ ACLs use real addresses, so verdicts "
                  "on real addresses hold; mapped addresses are not modelled", sp, "nat")

    # ------------------------------------------------------------------ objects
    def _resolve_ip(self, s: str) -> str:
        return self.names.get(s, s)

    def addr_object(self, name: str, sp: SourceSpan, stack: tuple[str, ...] = ()) -> C.Addr:
        key = f"o:{name}"
        if key in self._addr_cache:
            return self._addr_cache[key]
        node = self.objects.get(name)
        if node is None or self.object_kind.get(name) != "network":
            self.diag(Level.ERROR, f"undefined network object {name}", sp, "undefined")
            return C.NONE
        out = C.NONE
        for c in node.children:
            w = c.text.split()
            csp = self.span(c)
            got: C.Addr | None = None
            if w[0] in ("description", "nat"):
                continue
            if w[0] == "host" and len(w) == 2:
                got = _host(self._resolve_ip(w[1]))
            elif w[0] == "subnet" and len(w) == 3:
                net = C.netmask_network(self._resolve_ip(w[1]), w[2])
                got = C.addr_of_network(net) if net else None
            elif w[0] == "subnet" and len(w) == 2:
                got = _prefix(w[1])
            elif w[0] == "range" and len(w) == 3:
                got = C.addr_of_range(w[1], w[2])
            elif w[0] == "fqdn":
                self.diag(Level.UNSUPPORTED, "FQDN object: addresses unknown offline, "
                          "matches nothing here", csp, "fqdn")
                continue
            if got is None:
                self.diag(Level.UNSUPPORTED, "network object line not understood", csp, "object")
                continue
            out = out.union(got)
        self._addr_cache[key] = out
        return out

    def addr_group(self, name: str, sp: SourceSpan, stack: tuple[str, ...] = ()) -> C.Addr:
        key = f"g:{name}"
        if key in self._addr_cache:
            return self._addr_cache[key]
        if name in stack:
            self.diag(Level.ERROR, f"object-group cycle: {' -> '.join((*stack, name))}", sp,
                      "cycle")
            return C.NONE
        node = self.groups.get(name)
        if node is None or self.group_kind.get(name) != "network":
            self.diag(Level.ERROR, f"undefined network object-group {name}", sp, "undefined")
            return C.NONE
        out = C.NONE
        for c in node.children:
            w = c.text.split()
            csp = self.span(c)
            got: C.Addr | None = None
            if w[0] == "description":
                continue
            if w[0] == "group-object" and len(w) == 2:
                got = self.addr_group(w[1], csp, (*stack, name))
            elif w[0] == "network-object" and len(w) >= 2:
                got = self.address_words(w[1:], csp, whole=True)
            if got is None:
                self.diag(Level.UNSUPPORTED, "network object-group line not understood", csp,
                          "object-group")
                continue
            out = out.union(got)
        self._addr_cache[key] = out
        return out

    def address_words(self, w: list[str], sp: SourceSpan, whole: bool = False) -> C.Addr | None:
        got = self.address(w, 0, sp)
        if got is None or (whole and got[1] != len(w)):
            return None
        return got[0]

    def address(self, w: list[str], i: int, sp: SourceSpan) -> tuple[C.Addr, int] | None:
        if i >= len(w):
            return None
        tok = w[i]
        if tok == "any":
            return C.ANY, i + 1
        if tok == "any4":
            return C.ANY4, i + 1
        if tok == "any6":
            return C.ANY6, i + 1
        nxt = w[i + 1] if i + 1 < len(w) else None
        if tok == "host" and nxt:
            a = _host(self._resolve_ip(nxt))
            return (a, i + 2) if a else None
        if tok == "object" and nxt:
            return self.addr_object(nxt, sp), i + 2
        if tok == "object-group" and nxt:
            return self.addr_group(nxt, sp), i + 2
        if tok == "interface" and nxt:
            return self._iface_addr(nxt, sp), i + 2
        if "/" in tok:
            a = _prefix(tok)
            return (a, i + 1) if a else None
        ip = self._resolve_ip(tok)
        if nxt and _is_v4(ip) and _is_v4(self._resolve_ip(nxt)):
            net = C.netmask_network(ip, nxt)
            return (C.addr_of_network(net), i + 2) if net else None
        return None

    def _iface_addr(self, nameif: str, sp: SourceSpan) -> C.Addr:
        out = C.NONE
        for it in self.ifaces:
            if it.nameif == nameif:
                for a in it.addresses:
                    out = out.union(C.addr_of_network(ipaddress.ip_network(a.ip)))
                return out
        self.diag(Level.ERROR, f"unknown interface {nameif}", sp, "undefined")
        return out

    def svc_object(self, name: str, sp: SourceSpan) -> list[C.Svc]:
        node = self.objects.get(name)
        if node is None and name not in self.objects:
            builtin = _builtin_service(name)
            if builtin is not None:
                return builtin
        if node is None or self.object_kind.get(name) != "service":
            self.diag(Level.ERROR, f"undefined service object {name}", sp, "undefined")
            return []
        out: list[C.Svc] = []
        for c in node.children:
            w = c.text.split()
            if w[0] == "description":
                continue
            got = self.service_spec(w[1:], self.span(c)) if w[0] == "service" else None
            if got is None:
                self.diag(Level.UNSUPPORTED, "service object line not understood", self.span(c),
                          "object")
                continue
            out.extend(got)
        return out

    def service_spec(self, w: list[str], sp: SourceSpan) -> list[C.Svc] | None:
        """``PROTO [source OP P..] [[destination] OP P..]`` or ``icmp TYPE [CODE]``."""
        if not w:
            return None
        if w[0] == "object" and len(w) == 2:
            return self.svc_object(w[1], sp)
        protos = [6, 17] if w[0] == "tcp-udp" else [] if w[0] == "ip" else None
        if protos is None:
            p = C.proto_number(w[0])
            if p is None:
                return None
            protos = [p]
        if not protos:
            return [C.ANY_SVC] if len(w) == 1 else None
        if protos[0] in (1, 58):
            fam = 4 if protos[0] == 1 else 6
            if len(w) == 1:
                return [C.icmp_svc(fam, None, None)]
            tc = _icmp(w[1:], fam)
            if tc is None or tc[2] != len(w) - 1:
                return None
            return [C.icmp_svc(fam, tc[0], tc[1])]
        sports = dports = None
        i = 1
        if i < len(w) and w[i] == "source":
            got = _ports(w, i + 1)
            if got is None:
                return None
            sports, i = got
        if i < len(w) and w[i] == "destination":
            i += 1
        if i < len(w):
            got = _ports(w, i)
            if got is None:
                return None
            dports, i = got
        if i != len(w):
            return None
        out = []
        for p in protos:
            s = C.with_ports(C.proto_svc(p), sports, dports)
            if s is None:
                return None
            out.append(s)
        return out

    def svc_group(self, name: str, sp: SourceSpan, stack: tuple[str, ...] = ()) -> list[C.Svc]:
        """A service/protocol/icmp-type object-group as services (port groups: see ports)."""
        if name in self._svc_cache:
            return self._svc_cache[name]
        if name in stack:
            self.diag(Level.ERROR, f"object-group cycle: {' -> '.join((*stack, name))}", sp,
                      "cycle")
            return []
        node = self.groups.get(name)
        kind = self.group_kind.get(name, "")
        if node is None or (kind not in ("service", "protocol", "icmp-type")
                            and not kind.startswith("port:")):
            self.diag(Level.ERROR, f"undefined service object-group {name}", sp, "undefined")
            return []
        out: list[C.Svc] = []
        if kind.startswith("port:"):
            protos = {"tcp": [6], "udp": [17], "tcp-udp": [6, 17]}.get(kind[5:], [])
            ports = self.port_group(name, sp, stack)
            for p in protos:
                s = C.with_ports(C.proto_svc(p), None, ports)
                if s is not None:
                    out.append(s)
            self._svc_cache[name] = out
            return out
        for c in node.children:
            w = c.text.split()
            csp = self.span(c)
            got: list[C.Svc] | None = None
            if w[0] == "description":
                continue
            if w[0] == "group-object" and len(w) == 2:
                got = self.svc_group(w[1], csp, (*stack, name))
            elif w[0] == "service-object":
                got = self.service_spec(w[1:], csp)
            elif w[0] == "protocol-object" and len(w) == 2:
                pn = C.proto_number(w[1])
                got = [C.ANY_SVC] if w[1] == "ip" else (
                    [C.proto_svc(pn)] if pn is not None else None)
            elif w[0] == "icmp-object" and len(w) == 2:
                tc = _icmp(w[1:], 4)
                got = [C.icmp_svc(4, tc[0], tc[1])] if tc else None
            elif w[0] == "port-object":
                self.diag(Level.ERROR, "port-object in a service group without protocol", csp,
                          "object-group")
                continue
            if got is None:
                self.diag(Level.UNSUPPORTED, "object-group line not understood", csp,
                          "object-group")
                continue
            out.extend(got)
        self._svc_cache[name] = out
        return out

    def port_group(self, name: str, sp: SourceSpan, stack: tuple[str, ...] = ()) -> R.Ranges:
        if name in stack:
            self.diag(Level.ERROR, f"object-group cycle: {' -> '.join((*stack, name))}", sp,
                      "cycle")
            return ()
        node = self.groups.get(name)
        if node is None or not self.group_kind.get(name, "").startswith("port:"):
            self.diag(Level.ERROR, f"undefined port object-group {name}", sp, "undefined")
            return ()
        out: list[tuple[int, int]] = []
        for c in node.children:
            w = c.text.split()
            csp = self.span(c)
            if w[0] == "description":
                continue
            if w[0] == "group-object" and len(w) == 2:
                out.extend(self.port_group(w[1], csp, (*stack, name)))
                continue
            got = _ports(w, 1) if w[0] == "port-object" and len(w) > 1 else None
            if got is None or got[1] != len(w):
                self.diag(Level.UNSUPPORTED, "port-object not understood", csp, "object-group")
                continue
            out.extend(got[0])
        return R.normalize(out)

    # ------------------------------------------------------------------ entries
    def acl_rules(self, name: str) -> list[Rule]:
        rules = []
        kind = self.acl_kind.get(name, "extended")
        for sp, w in self.acls.get(name, []):
            if not w or w[0] not in ("permit", "deny"):
                self.diag(Level.UNSUPPORTED, "access-list entry not understood", sp, "acl")
                continue
            action = Action.PERMIT if w[0] == "permit" else Action.DENY
            body = w[1:]
            inactive = "inactive" in body
            body = [x for x in body if x != "inactive"]
            if kind == "standard":
                a = self.address_words(body, sp, whole=True)
                if a is None:
                    self.diag(Level.UNSUPPORTED, "standard entry not understood", sp, "acl")
                    continue
                ms = C.build_matches(C.ANY, a, [C.ANY_SVC])
            else:
                got = self._extended(body, sp)
                if got is None:
                    continue
                ms = got
            rules.append(Rule(action, ms, sp, name=f"{name}:{sp.line}", enabled=not inactive,
                              detail="inactive" if inactive else ""))
        return rules

    def _extended(self, w: list[str], sp: SourceSpan) -> tuple[Match, ...] | None:
        def bad(why: str) -> None:
            self.diag(Level.UNSUPPORTED, f"access-list entry not understood ({why})", sp, "acl")

        if not w:
            bad("empty")
            return None
        proto: int | None = None
        if w[0] in ("object-group", "object") and len(w) > 1:
            svcs = (self.svc_group(w[1], sp) if w[0] == "object-group"
                    else self.svc_object(w[1], sp))
            i = 2
        elif w[0] == "ip":
            svcs, i = [C.ANY_SVC], 1
        else:
            proto = C.proto_number(w[0])
            if proto is None:
                bad(f"protocol {w[0]}")
                return None
            svcs, i = [C.proto_svc(proto)], 1
        if i < len(w) and w[i] in ("user", "user-group", "object-group-user", "security-group",
                                   "object-group-security"):
            bad("identity/TrustSec criteria are not modelled")
            return None
        got = self.address(w, i, sp)
        if got is None:
            bad("source")
            return None
        src, i = got
        sports = dports = None
        if i < len(w) and (w[i] in C.PORT_OPS or self._is_port_group(w, i)):
            pg = self._port_spec(w, i, sp)
            if pg is None:
                bad("source port")
                return None
            sports, i = pg
        got = self.address(w, i, sp)
        if got is None:
            bad("destination")
            return None
        dst, i = got
        icmp: tuple[int | None, int | None] | None = None
        icmp_group: list[C.Svc] | None = None
        if i < len(w) and (w[i] in C.PORT_OPS or self._is_port_group(w, i)):
            pg = self._port_spec(w, i, sp)
            if pg is None:
                bad("destination port")
                return None
            dports, i = pg
        elif proto in (1, 58) and i < len(w):
            fam = 4 if proto == 1 else 6
            if w[i] == "object-group" and i + 1 < len(w):
                icmp_group = self.svc_group(w[i + 1], sp)
                i += 2
            else:
                tc = _icmp(w[i:], fam)
                if tc is not None:
                    icmp = (tc[0], tc[1])
                    i += tc[2]
        while i < len(w):
            tok = w[i]
            if tok == "log":
                i += 1
                while i < len(w) and w[i] not in ("time-range", "inactive"):
                    i += 1
            elif tok == "time-range" and i + 1 < len(w):
                self.diag(Level.UNSUPPORTED, "time-range: entry treated as always active", sp,
                          "time-range")
                i += 2
            else:
                bad(f"unexpected '{tok}'")
                return None
        out: list[C.Svc] = []
        if icmp_group is not None:
            svcs = icmp_group
        elif icmp is not None and proto in (1, 58):
            svcs = [C.icmp_svc(4 if proto == 1 else 6, icmp[0], icmp[1])]
        for s in svcs:
            ps = C.with_ports(s, sports, dports)
            if ps is None:
                bad("ports on a protocol without ports")
                return None
            out.append(ps)
        return C.build_matches(src, dst, out)

    def _mgmt(self, w: list[str], sp: SourceSpan) -> bool:
        """A management-access command (``ssh|telnet|http ADDR [MASK] IF``, ``http server
        enable [PORT]``, ``snmp-server host IF ADDR``); False for the other forms."""
        if w[:3] == ["http", "server", "enable"]:
            self.http_port = int(w[3]) if len(w) > 3 and w[3].isdigit() else 443
            return True
        if w[0] == "snmp-server":
            if len(w) >= 4 and w[1] == "host" and "trap" not in w[4:]:
                a = self.address(["host", w[3]], 0, sp)
                if a is not None:
                    self.mgmt.append(("snmp", a[0], w[2], sp))
                    return True
            return False
        got = self.address(w, 1, sp)
        if got is None or got[1] != len(w) - 1:
            return False
        self.mgmt.append((w[0], got[0], w[-1], sp))
        return True

    def _management(self, named: list[_Iface]) -> Filter:
        """The local stage: what the ASA accepts for itself (see the module docstring)."""
        ports = {"ssh": (6, 22), "telnet": (6, 23), "http": (6, self.http_port or 443),
                 "snmp": (17, 161)}
        rules: list[Rule] = []
        for kind, src, nameif, sp in self.mgmt:
            its = [it for it in named if it.nameif == nameif]
            if not its:
                self.diag(Level.ERROR, f"{kind} access on unknown interface {nameif}", sp,
                          "undefined")
                continue
            if kind == "http" and self.http_port is None:
                continue  # the HTTP server is disabled: the entry admits nothing
            proto, port = ports[kind]
            svc = C.with_ports(C.proto_svc(proto), None, R.single(port))
            assert svc is not None
            addrs = [a.ip for it in its for a in it.addresses]
            dst = C.ANY if not addrs else C.Addr(
                R.normalize((int(a), int(a)) for a in addrs if a.version == 4),
                R.normalize((int(a), int(a)) for a in addrs if a.version == 6))
            ms = C.build_matches(src, dst, [svc])
            rules.append(Rule(Action.PERMIT, tuple(replace(m, in_iface=(_iface_match(*its),))
                                                   for m in ms), sp, name=f"{kind} {nameif}"))
        anchor = named[0].span if named else SourceSpan(self.path, 1)
        why = "ICMP to the interfaces (icmp rules not modelled)"
        rules.append(Rule(Action.PERMIT, C.build_matches(
            C.ANY, C.ANY, [C.icmp_svc(4, None, None), C.icmp_svc(6, None, None)]), anchor,
            name=why, synthetic=True, detail=why))
        return Filter("management", tuple(rules), Action.DENY, anchor)

    def _is_port_group(self, w: list[str], i: int) -> bool:
        return (w[i] == "object-group" and i + 1 < len(w)
                and self.group_kind.get(w[i + 1], "").startswith("port:"))

    def _port_spec(self, w: list[str], i: int, sp: SourceSpan) -> tuple[R.Ranges, int] | None:
        if w[i] == "object-group":
            return self.port_group(w[i + 1], sp), i + 2
        return _ports(w, i)

    # ------------------------------------------------------------------ conversion
    def convert(self, name: str | None) -> Device:
        filters: dict[str, Filter] = {}
        rules_of: dict[str, list[Rule]] = {}
        for acl in self.acls:
            rules_of[acl] = self.acl_rules(acl)
            filters[acl] = Filter(acl, tuple(rules_of[acl]), Action.DENY)
        named = [it for it in self.ifaces if it.nameif]
        interfaces = {
            it.phys: Interface(it.phys, it.nameif, tuple(it.addresses), it.span)
            for it in self.ifaces
        }
        for it in named:  # the nameif names the interface too (ACLs, routes, topologies)
            if it.nameif and it.nameif not in interfaces:
                interfaces[it.nameif] = Interface(it.nameif, it.nameif, tuple(it.addresses),
                                                  it.span)
        forward: list[Stage] = []
        glob = self.bind_global
        if glob and glob[0] not in rules_of:
            self.diag(Level.ERROR, f"global access-group names undefined ACL {glob[0]}", glob[1],
                      "undefined-acl")
        for it in named:
            assert it.nameif is not None
            assert it.level is not None
            me = _iface_match(it)
            same = [o for o in named if o is not it and o.level == it.level]
            lower = [o for o in named if o.level is not None and o.level < it.level]
            rules: list[Rule] = []
            if same and not self.inter:
                rules.append(_synthetic(Action.DENY, it.span, "same-security traffic not "
                                        "permitted (same-security-traffic inter-interface)",
                                        out=_iface_match(*same)))
            if not self.intra:
                rules.append(_synthetic(Action.DENY, it.span, "traffic back out the same "
                                        "interface not permitted (intra-interface)", out=me))
            bound = self.bind_in.get(it.nameif)
            if bound is None and glob is None:
                allowed = lower + (same if self.inter else []) + ([it] if self.intra else [])
                if allowed:
                    rules.append(_synthetic(Action.PERMIT, it.span, f"security-level "
                                            f"{it.level}: to lower-level interfaces",
                                            out=_iface_match(*allowed)))
            else:
                if bound is not None:
                    if bound[0] not in rules_of:
                        self.diag(Level.ERROR, f"access-group names undefined ACL {bound[0]}",
                                  bound[1], "undefined-acl")
                    rules.extend(rules_of.get(bound[0], []))
                if glob is not None:
                    rules.extend(rules_of.get(glob[0], []))
            fname = f"inbound {it.nameif}"
            default_span = (bound or glob or (None, it.span))[1]
            filters[fname] = Filter(fname, tuple(rules), Action.DENY, default_span)
            forward.append(Stage(fname, ingress=me))
        if named:
            known = _iface_match(*named)
            anchor = named[0].span
            why = "an interface without nameif (or an unknown one) passes no traffic"
            filters["unnamed ingress"] = Filter("unnamed ingress", (
                Rule(Action.DENY, (Match(),), anchor, name=why, synthetic=True, detail=why),),
                Action.DENY, anchor)
            forward.append(Stage("unnamed ingress", ingress=IfaceMatch(
                names=known.names, zones=known.zones, negate=True)))
        for nameif, (acl, sp) in self.bind_out.items():
            its = [it for it in named if it.nameif == nameif]
            if not its:
                self.diag(Level.ERROR, f"access-group on unknown interface {nameif}", sp,
                          "undefined")
                continue
            fname = f"outbound {nameif}"
            filters[fname] = Filter(fname, tuple(rules_of.get(acl, [])), Action.DENY, sp)
            forward.append(Stage(fname, egress=_iface_match(*its)))
        for nameif, (_acl, sp) in self.bind_in.items():
            if not any(it.nameif == nameif for it in named):
                self.diag(Level.ERROR, f"access-group on unknown interface {nameif}", sp,
                          "undefined")
        filters["management"] = self._management(named)
        return Device(
            name=name or self.hostname or self.path, vendor=VENDOR, path=self.path,
            filters=filters, forward=tuple(forward), local=(Stage("management"),),
            interfaces=interfaces,
            nat=tuple(self.nat), diagnostics=tuple(self.diags),
        )


def _iface_match(*its: _Iface) -> IfaceMatch:
    return IfaceMatch(names=tuple(n for it in its for n in (it.nameif or "", it.phys) if n),
                      zones=tuple(it.nameif for it in its if it.nameif))


def _synthetic(action: Action, sp: SourceSpan, why: str, out: IfaceMatch) -> Rule:
    return Rule(action, (Match(out_iface=(out,)),), sp, name=why, synthetic=True, detail=why)


def _builtin_service(name: str) -> list[C.Svc] | None:
    """ASA predefined service objects usable as ``object NAME``: ``icmp-<type>``, protocols."""
    if name.startswith("icmp-") and name[5:] in C.ICMP4_NAMES:
        t, c = C.ICMP4_NAMES[name[5:]]
        return [C.icmp_svc(4, t, c)]
    p = C.proto_number(name)
    return [C.proto_svc(p)] if p is not None else None


def _is_v4(s: str) -> bool:
    try:
        ipaddress.IPv4Address(s)
    except ValueError:
        return False
    return True


def _host(s: str) -> C.Addr | None:
    try:
        return C.addr_of_network(ipaddress.ip_network(ipaddress.ip_address(s)))
    except ValueError:
        return None


def _prefix(s: str) -> C.Addr | None:
    try:
        return C.addr_of_network(ipaddress.ip_network(s, strict=False))
    except ValueError:
        return None


def _ports(w: list[str], i: int) -> tuple[R.Ranges, int] | None:
    if i >= len(w):
        return None
    op = w[i]
    need = C.PORT_OPS.get(op)
    if need is None:
        return None
    count = 2 if op == "range" else 1
    args = [C.port_number(x) for x in w[i + 1:i + 1 + count]]
    if len(args) != count or any(a is None for a in args):
        return None
    r = C.port_op(op, [a for a in args if a is not None])
    return (r, i + 1 + count) if r is not None else None


def _icmp(w: list[str], fam: int) -> tuple[int | None, int | None, int] | None:
    if not w:
        return None
    if w[0].isdigit():
        if int(w[0]) > 255 or (len(w) > 1 and w[1].isdigit() and int(w[1]) > 255):
            return None
        if len(w) > 1 and w[1].isdigit():
            return int(w[0]), int(w[1]), 2
        return int(w[0]), None, 1
    table = C.ICMP4_NAMES if fam == 4 else C.ICMP6_NAMES
    if w[0] in table:
        t, c = table[w[0]]
        if c is None and len(w) > 1 and w[1].isdigit() and int(w[1]) <= 255:
            return t, int(w[1]), 2
        return t, c, 1
    return None


def parse(text: str, path: str, *, name: str | None = None) -> Device:
    """Parse an ASA running-config into a ``Device`` (module docstring)."""
    if "\x00" in text[:4096]:
        raise ConfigParseError("binary file, not an ASA configuration", SourceSpan(path, 1))
    p = _Parser(text, path)
    p.collect()
    return p.convert(name)
