"""Cisco IOS / IOS-XE ``show running-config`` -> ``Device``.

What is read: numbered ACLs (1-99, 1300-1999 standard; 100-199, 2000-2699 extended) and
named ``ip access-list standard|extended`` ACLs, ``ipv6 access-list``, ``object-group
network|service`` (nested via ``group-object``; cycles are diagnostics), interface
``ip access-group NAME in|out`` and ``ipv6 traffic-filter NAME in|out``, the zone-based
firewall (``zone security``, ``zone-member security``, ``zone-pair security``, ``class-map
type inspect``, ``policy-map type inspect``), and ``ip nat`` (parsed, not modelled).

Semantics checklist (STYLE.md habit 5):

- Stateful? Interface ACLs are stateless; the zone-based firewall's ``inspect`` and CBAC
  (``ip inspect``, reported once as INFO) are stateful: they admit return traffic only. We
  analyse connection-initiating packets, so ACLs and zone policies read as permit/deny of
  new flows; ``established`` entries match no new packet.
- Implicit behaviour, made explicit: every ACL ends in an implicit deny (``default_action``).
  IPv6 ACLs implicitly permit ND (``nd-na``, ``nd-ns``) just before that deny — two
  synthetic rules. An interface without an ACL in a direction permits; an IPv4 ACL does not
  filter IPv6 (and vice versa): the per-interface filter ``"<iface> in"`` combines both
  families, with a synthetic permit for a family without an ACL. An ``access-group`` naming
  an ACL that does not exist permits everything (IOS behaviour) and is warned about.
- Zone-based firewall (filter ``zone-policy``, a forward stage for every packet): zone-pair
  policies in class order (``inspect``/``pass`` permit, ``drop`` denies, ``class-default``
  drops unless it says ``pass``/``inspect``); traffic within one zone passes; between two
  zones without a zone-pair is dropped; between a zoned and an unzoned interface is dropped;
  between two unzoned interfaces passes. Traffic to the router (``self``) passes unless a
  zone-pair names ``self`` (then the local stage ``zone-policy-self`` applies).
  ``match protocol X`` is read as X's default port (PAM), e.g. ``http`` = tcp/80, with a
  warning; ``ip port-map`` (other ports for X) is reported as not modelled.
- Empty address list: not expressible in IOS; an object-group without members matches
  nothing.
- ICMP vs ICMPv6: ``icmp`` in an IPv4 ACL is protocol 1, in an IPv6 ACL protocol 58.
- Names vs numbers: protocol, port and ICMP names per ``_cisco`` tables; unknown names are
  diagnostics (the entry is dropped and the device marked incomplete).
- Wildcards: any wildcard (contiguous or not) is modelled exactly while its set needs at most
  4096 intervals; beyond, a diagnostic.
- Header fields segcheck does not model (``dscp``, ``precedence``, ``tos``, ``ttl``, TCP
  flags, ``fragments``, ``time-range``) make a diagnostic: the entry is kept as if the
  condition held (``time-range``: always active) and the result is incomplete.
- Every other line: a top-level command in ``IRRELEVANT`` (logging, ntp, routing, voice,
  QoS maps...) or an interface sub-command in ``IFACE_IRRELEVANT`` decides no new flow and
  is ignored, as is the text of delimited banners; ``NOT_MODELLED`` ones (IPS, uRPF, QoS
  service-policy) get a warning; ``line ... access-class`` and ``control-plane`` policing
  (traffic to the router), and anything else, are UNSUPPORTED at their line (incomplete).
  A file in which no command is IOS syntax (``end``/``exit`` do not count) raises
  ``ConfigParseError``: a wrong ``--vendor`` is refused, not answered.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass, field

from segcheck.errors import ConfigParseError
from segcheck.model import ranges as R
from segcheck.model.device import Device, Interface, NatRule, Stage
from segcheck.model.rules import Action, Filter, IfaceMatch, Match, Rule
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers import _cisco as C

VENDOR = "cisco-ios"


def detect(text: str) -> int:
    """Score IOS-looking text: ``ip access-list``, ``ipv6 access-list`` blocks, interface
    ``ip access-group``/``ipv6 traffic-filter``, IOS-only keywords; ASA-only syntax
    (``nameif``, ``security-level``) weighs against."""
    head = text[:200_000]
    if re.search(r"^(ASA|PIX|FWSM) Version", head, re.M):
        return 0
    score = 0
    if re.search(r"^ip access-list (standard|extended) \S+", head, re.M):
        score += 60
    elif re.search(r"^ip access-list \S+", head, re.M):
        score += 50
    if re.search(r"^access-list \d+ (permit|deny|remark) ", head, re.M):
        score += 40
    if re.search(r"^ipv6 access-list \S+[ \t]*\n[ \t]+(\d+ )?(permit|deny|remark) ", head, re.M):
        score += 60
    if re.search(r"^ ip access-group \S+ (in|out)|^ ipv6 traffic-filter \S+ (in|out)", head,
                 re.M):
        score += 30
    if re.search(r"^(version 1[0-9]\.|boot-start-marker|zone-pair security|ip cef)", head, re.M):
        score += 30
    if re.search(r"^interface (GigabitEthernet|FastEthernet|Ethernet|Loopback|Vlan)\S*\n"
                 r"(?:[ \t]+\S.*\n)*?[ \t]+ip address \d+\.\d+\.\d+\.\d+ \d+\.", head, re.M):
        score += 10
    if re.search(r"^(line (vty|con) \d|service timestamps |ip classless)", head, re.M):
        score += 20
    if re.search(r"^\s*nameif ", head, re.M):
        score -= 60
    if re.search(r"^\s*security-level \d", head, re.M):
        score -= 30
    return max(0, min(score, 95))


IRRELEVANT = frozenset({
    "version", "Building configuration...", "Current configuration", "end", "exit", "hostname",
    "boot-start-marker", "boot-end-marker", "boot", "service", "enable", "username", "aaa",
    "clock", "logging", "ntp", "banner", "line", "router", "route-map", "key", "crypto",
    "license", "platform", "redundancy", "control-plane", "spanning-tree", "vtp", "vlan",
    "multilink", "memory", "archive", "diagnostic", "dial-peer", "voice", "call-home", "spd",
    "subscriber", "virtual-service", "vpdn", "bba-group", "login", "security passwords",
    "security authentication", "alias", "track", "mpls", "card", "power", "mac",
    "errdisable", "system", "transceiver", "port-channel", "network-clock-participate",
    "hw-module", "exception", "scheduler", "privilege", "event", "file", "tftp-server",
    "netconf", "restconf", "snmp-server", "snmp", "cdp", "lldp", "vrf", "dialer-list",
    "class-map", "policy-map", "parameter-map", "prefix-list", "ip cef", "ipv6 cef",
    "ip domain", "ip domain-name", "ip domain-lookup", "ip domain-list", "ip name-server",
    "ip host", "ip dhcp", "ip forward-protocol", "ip http", "ip ftp", "ip ssh", "ip tcp",
    "ip telnet", "ip route", "ipv6 route", "ip bgp-community", "ip community-list",
    "ip extcommunity-list", "ip prefix-list", "ipv6 prefix-list", "ip as-path", "ip sla",
    "ip ospf", "ip vrf", "ip subnet-zero", "ip classless", "ip source-route", "ip finger",
    "ip bootp", "ip multicast-routing", "ip routing", "ipv6 unicast-routing", "ipv6 dhcp",
    "ipv6 icmp", "ipv6 router", "ipv6 general-prefix", "ip igmp", "ip pim", "ip msdp",
    "ip scp", "ip rcmd", "ip dns", "ip local", "ip access-list logging", "ip wccp",
    "ip flow-export", "ip flow-cache", "ip accounting-threshold", "ip gratuitous-arps",
    "ip arp", "ip radius", "ip tacacs", "ip multicast", "ip device", "tacacs-server",
    "radius-server", "tacacs", "radius", "default", "mgcp", "ccm-manager",
    "telephony-service", "sccp", "stcapp", "gatekeeper", "gateway", "translation-rule",
    "voice-port", "controller", "isdn", "chat-script", "modemcap", "menu", "rmon",
    "monitor", "flow", "wsma", "cts", "template", "ethernet", "bridge",
    "no-payload", "macro", "udld", "lacp", "interface-range", "epm",
    "access-session", "device-tracking", "authentication", "dot1x",
    "ip options", "ip icmp", "ip unreachables", "ip mask-reply", "ip redirects", "ipv6 nd",
    "ipv6 multicast-routing", "ipv6 ospf", "ipv6 host", "ipv6 name-server",
    "memory-size", "warm-reboot", "upgrade", "process-max-time",
    "queue-monitor", "qos", "mls", "auto", "ipv6 source-route", "ip nat pool",
    "ip nat translation", "ip nat service", "access-list dynamic-extended", "arp", "remark",
})
"""Top-level IOS commands known not to decide which new connections cross the router
(management, logging, routing, voice, QoS class/policy-maps, to-the-router services): read
as IOS syntax and otherwise ignored. ``line`` blocks are read for ``access-class`` and
``control-plane`` for policing (both reported); every command not listed is reported."""

IFACE_IRRELEVANT = frozenset({
    "description", "shutdown", "speed", "duplex", "full-duplex", "half-duplex", "negotiation",
    "media-type", "mtu", "bandwidth", "delay", "load-interval", "carrier-delay", "hold-queue",
    "max-reserved-bandwidth", "encapsulation", "bundle-enable", "dialer", "dialer-group", "dsl",
    "ppp", "pvc", "protocol", "vbr-nrt", "standby", "vrrp", "glbp", "keepalive", "cdp",
    "switchport", "spanning-tree", "channel-group", "channel-protocol", "tunnel", "crypto",
    "vrf", "ospfv3", "mac-address", "storm-control", "power", "mls", "auto", "lldp",
    "logging", "snmp", "ip address", "ipv6 address", "ip accounting", "ip mtu", "ip tcp",
    "ip virtual-reassembly", "ip ospf", "ip pim", "ip igmp", "ip helper-address",
    "ip proxy-arp", "ip redirects", "ip unreachables", "ip route-cache", "ip mroute-cache",
    "ip directed-broadcast", "ip policy", "ip vrf", "ip flow", "ip dhcp", "ip nbar",
    "ip split-horizon", "ip summary-address", "ip authentication", "ip hello-interval",
    "ip hold-time", "ip mask-reply", "ip local-proxy-arp", "ip nhrp", "ip router",
    "ipv6 enable", "ipv6 dhcp", "ipv6 mtu", "ipv6 nd", "ipv6 ospf", "ipv6 tcp", "ipv6 rip",
    "ipv6 redirects", "ipv6 unreachables", "ipv6 pim", "ipv6 mld", "ipv6 router",
    "ipv6 link-local", "ipv6 eigrp", "ipv6 policy", "ipv6 flow", "ipv6 virtual-reassembly",
    "ipv6 nat", "ip nat", "isis", "mpls", "bfd", "service", "arp", "atm", "frame-relay",
    "clock", "framing", "linecode", "cable", "hw-module", "source", "flowcontrol",
    "authentication", "dot1x", "mab", "access-session", "device-tracking", "zone-member",
    "exit", "mop", "platform", "udld", "macro", "priority-queue", "wrr-queue", "rcv-queue",
    "qos", "ntp", "ip rip", "ip eigrp", "ip bandwidth-percent",
})
"""Interface sub-commands with no say over which new flows pass (``shutdown`` is read as
up: more reachability, never less; ``ip policy`` routes, it does not filter)."""

NOT_MODELLED = frozenset({"ip verify", "ip ips", "ip audit", "ip admission", "ip urlfilter"})
"""Commands that can drop traffic but not by which flows are allowed (intrusion prevention,
authentication proxy, URL filtering): a warning each."""


@dataclass
class _Line:
    no: int
    text: str
    children: list[_Line] = field(default_factory=list)


def _blocks(text: str) -> list[_Line]:
    """Top-level commands with their indented sub-commands (nested one level deeper, too)."""
    top: list[_Line] = []
    stack: list[tuple[int, _Line]] = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip() or line.strip().startswith("!"):
            continue
        indent = len(line) - len(line.lstrip())
        node = _Line(no, line.strip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stack:
            stack[-1][1].children.append(node)
        else:
            top.append(node)
        stack.append((indent, node))
    return top


@dataclass
class _Acl:
    name: str
    kind: str  # standard | extended | ipv6
    span: SourceSpan
    entries: list[tuple[SourceSpan, list[str]]] = field(default_factory=list)


@dataclass
class _Iface:
    name: str
    span: SourceSpan
    acl: dict[tuple[int, str], tuple[str, SourceSpan]] = field(default_factory=dict)
    zone: str | None = None
    addresses: list[ipaddress.IPv4Interface | ipaddress.IPv6Interface] = field(
        default_factory=list)


PAM: dict[str, tuple[int, int | None]] = {
    "tcp": (6, None), "udp": (17, None), "icmp": (1, None), "http": (6, 80),
    "https": (6, 443), "ssh": (6, 22), "telnet": (6, 23), "ftp": (6, 21), "smtp": (6, 25),
    "dns": (17, 53), "ntp": (17, 123), "snmp": (17, 161), "tftp": (17, 69),
    "pop3": (6, 110), "imap": (6, 143), "ldap": (6, 389), "bgp": (6, 179),
    "ms-sql": (6, 1433), "mysql": (6, 3306), "rdp": (6, 3389), "modbus": (6, 502),
    "syslog": (17, 514), "sip": (17, 5060), "h323": (6, 1720), "isakmp": (17, 500),
}
"""``match protocol`` names -> (protocol, default port) per IOS port-to-application mapping."""


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.text = text
        self.diags: list[Diagnostic] = []
        self._seen: set[Diagnostic] = set()
        self.acls: dict[tuple[int, str], _Acl] = {}
        self.netgroups: dict[str, _Line] = {}
        self.svcgroups: dict[str, _Line] = {}
        self.ifaces: dict[str, _Iface] = {}
        self.zones: dict[str, SourceSpan] = {}
        self.zone_pairs: list[tuple[str, str, str | None, SourceSpan]] = []
        self.class_maps: dict[str, _Line] = {}
        self.policy_maps: dict[str, _Line] = {}
        self.nat: list[NatRule] = []
        self.hostname: str | None = None
        self._ng_cache: dict[str, C.Addr] = {}
        self._sg_cache: dict[str, list[C.Svc]] = {}
        self._rule_cache: dict[tuple[int, str], list[Rule]] = {}

    # ---------------------------------------------------------------- helpers
    def span(self, line: _Line) -> SourceSpan:
        return SourceSpan(self.path, line.no, line.text)

    def diag(self, level: Level, msg: str, span: SourceSpan | None, code: str) -> None:
        d = Diagnostic(level, msg, span, f"{VENDOR}.{code}")
        if d not in self._seen:  # a class-map used by several zone-pairs reports once
            self._seen.add(d)
            self.diags.append(d)

    # ---------------------------------------------------------------- pass 1: collect
    def collect(self) -> None:
        """Read every top-level command; each is handled, known not to filter, or reported.

        Raises ``ConfigParseError`` when not one command is IOS syntax (a foreign file)."""
        recognised = 0
        skip = C.banner_bodies(self.text)
        for node in _blocks(self.text):
            if node.no in skip:
                continue
            w = node.text.split()
            if self._command(node, w, self.span(node)) and w[0] not in ("end", "exit"):
                recognised += 1  # 'end'/'exit' close blocks in other vendors' files too
        if not recognised:
            raise ConfigParseError("does not look like a Cisco IOS configuration: no line is an "
                                   "IOS command", SourceSpan(self.path, 1))

    def _command(self, node: _Line, w: list[str], sp: SourceSpan) -> bool:
        """Read one top-level command; False when it is not IOS syntax (then reported)."""
        if w[0] == "hostname" and len(w) > 1:
            self.hostname = w[1]
        elif w[:2] == ["ip", "access-list"] and len(w) >= 3:
            self._named_acl(node, w, sp)
        elif w[:2] == ["ipv6", "access-list"] and len(w) >= 3:
            self._acl_block(node, (6, w[2]), "ipv6", sp)
        elif w[0] == "access-list" and len(w) >= 3:
            self._numbered(w, sp)
        elif w[:3] == ["no", "ip", "access-list"] and len(w) >= 5:
            self.acls.pop((4, w[4]), None)
        elif w[:3] == ["no", "ip", "access-list"] and len(w) == 4:
            self.acls.pop((4, w[3]), None)
        elif w[:3] == ["no", "ipv6", "access-list"] and len(w) >= 4:
            self.acls.pop((6, w[3]), None)
        elif w[0] == "object-group" and len(w) >= 3 and w[1] in ("network", "service"):
            (self.netgroups if w[1] == "network" else self.svcgroups)[w[2]] = node
        elif w[0] == "object-group":
            self.diag(Level.UNSUPPORTED, "object-group type not supported", sp, "object-group")
        elif w[0] == "interface" and len(w) >= 2:
            self._interface(node, " ".join(w[1:]), sp)
        elif w[:2] == ["zone", "security"] and len(w) >= 3:
            self.zones[w[2]] = sp
        elif w[:2] == ["zone-pair", "security"]:
            self._zone_pair(node, w, sp)
        elif w[:3] == ["class-map", "type", "inspect"]:
            self.class_maps[w[-1]] = node
        elif w[:3] == ["policy-map", "type", "inspect"] and len(w) >= 4:
            self.policy_maps[w[3]] = node
        elif w[:2] == ["ip", "nat"] and len(w) >= 3 and w[2] in ("inside", "outside"):
            self._nat(w, sp)
        elif w[:2] == ["ip", "port-map"]:
            self.diag(Level.UNSUPPORTED, "ip port-map changes which ports 'match protocol' "
                      "covers; not modelled", sp, "pam")
        elif w[:2] == ["ip", "inspect"]:
            if not any(d.code == f"{VENDOR}.cbac" for d in self.diags):
                self.diag(Level.INFO, "CBAC (ip inspect) only admits return traffic of "
                          "inspected sessions; new connections are decided by the ACLs",
                          sp, "cbac")
        elif w[0] == "line" and len(w) >= 2:
            for child in node.children:
                cw = child.text.split()
                if cw[:1] == ["access-class"] or cw[:2] == ["ipv6", "access-class"]:
                    self.diag(Level.UNSUPPORTED, "line access-class (who may log in to the "
                              "router) is not modelled", self.span(child), "access-class")
        elif w[0] == "control-plane" and node.children:
            self.diag(Level.UNSUPPORTED, "control-plane policing (traffic to the router) is not "
                      "modelled", sp, "control-plane")
        elif C.command_in(w, IRRELEVANT):
            pass
        elif C.command_in(w, NOT_MODELLED):
            self.diag(Level.WARNING, f"'{node.text}' is not modelled (it does not decide which "
                      "new connections are allowed)", sp, "not-modelled")
        else:
            more = f" (and its {len(node.children)} sub-command(s))" if node.children else ""
            self.diag(Level.UNSUPPORTED, f"unknown or unsupported IOS command "
                      f"{' '.join(w[:3])!r}{more}",
                      sp, "unknown-command")
            return False
        return True

    def _named_acl(self, node: _Line, w: list[str], sp: SourceSpan) -> None:
        if w[2] in ("standard", "extended") and len(w) >= 4:
            self._acl_block(node, (4, w[3]), w[2], sp)
        elif w[2] in ("standard", "extended"):
            self.diag(Level.UNSUPPORTED, f"ip access-list {w[2]} without a name", sp, "acl")
        elif w[2] in ("resequence", "logging", "log-update"):
            return
        elif w[2] == "reflexive" or (len(w) >= 4 and w[2] in ("role-based", "dynamic")):
            self.diag(Level.UNSUPPORTED, f"{w[2]} ACL not modelled", sp, "acl-kind")
        else:  # `ip access-list NAME` (EOS-style in some dumps): extended
            self._acl_block(node, (4, w[2]), "extended", sp)

    def _acl_block(self, node: _Line, key: tuple[int, str], kind: str, sp: SourceSpan) -> None:
        acl = self.acls.setdefault(key, _Acl(key[1], kind, sp))
        for child in node.children:
            words = C.strip_comment(child.text).split()
            if words and words[0] != "exit":
                acl.entries.append((self.span(child), words))

    def _numbered(self, w: list[str], sp: SourceSpan) -> None:
        if not w[1].isdigit():
            self.diag(Level.UNSUPPORTED, "access-list not understood", sp, "acl")
            return
        n = int(w[1])
        if 1 <= n <= 99 or 1300 <= n <= 1999:
            kind = "standard"
        elif 100 <= n <= 199 or 2000 <= n <= 2699:
            kind = "extended"
        else:
            self.diag(Level.INFO, f"access-list {n} is not an IP ACL (ignored)", sp, "acl-number")
            return
        acl = self.acls.setdefault((4, w[1]), _Acl(w[1], kind, sp))
        acl.entries.append((sp, C.strip_comment(" ".join(w[2:])).split()))

    def _interface(self, node: _Line, name: str, sp: SourceSpan) -> None:
        it = self.ifaces.setdefault(name, _Iface(name, sp))
        for child in node.children:
            w = child.text.split()
            csp = self.span(child)
            if w[:2] == ["ip", "access-group"] and len(w) >= 4 and w[3] in ("in", "out"):
                it.acl[(4, w[3])] = (w[2], csp)
            elif w[:2] == ["ipv6", "traffic-filter"] and len(w) >= 4 and w[3] in ("in", "out"):
                it.acl[(6, w[3])] = (w[2], csp)
            elif w[:2] == ["zone-member", "security"] and len(w) >= 3:
                it.zone = w[2]
            elif w[:2] == ["ip", "address"] and len(w) >= 4:
                with contextlib.suppress(ValueError):  # an address never changes filtering
                    it.addresses.append(ipaddress.IPv4Interface(f"{w[2]}/{w[3]}"))
            elif w[:2] == ["ipv6", "address"] and len(w) >= 3 and "/" in w[2]:
                with contextlib.suppress(ValueError):
                    it.addresses.append(ipaddress.IPv6Interface(w[2]))
            elif w[:2] == ["ip", "nat"] and len(w) == 3:
                pass  # inside/outside marker; NAT rules are reported at their own lines
            elif w[:2] in (["ip", "verify"], ["ipv6", "verify"]) or w[0] == "service-policy":
                self.diag(Level.WARNING, f"'{child.text}' is not modelled (reverse-path checks "
                          "and QoS policies do not decide which new connections are allowed)",
                          csp, "not-modelled")
            elif w[:2] == ["ip", "inspect"]:
                pass  # CBAC: reported once at the global 'ip inspect' (module docstring)
            elif not C.command_in(w, IFACE_IRRELEVANT):
                self.diag(Level.UNSUPPORTED, f"interface sub-command {child.text!r} not "
                          "understood", csp, "interface")

    def _zone_pair(self, node: _Line, w: list[str], sp: SourceSpan) -> None:
        try:
            src = w[w.index("source") + 1]
            dst = w[w.index("destination") + 1]
        except (ValueError, IndexError):
            self.diag(Level.UNSUPPORTED, "zone-pair not understood", sp, "zone-pair")
            return
        policy = None
        for child in node.children:
            cw = child.text.split()
            if cw[:3] == ["service-policy", "type", "inspect"] and len(cw) >= 4:
                policy = cw[3]
        self.zone_pairs.append((src, dst, policy, sp))

    def _nat(self, w: list[str], sp: SourceSpan) -> None:
        kind = "static" if "static" in w else ("snat" if "source" in w else "dnat")
        self.nat.append(NatRule(kind, sp, " ".join(w)))
        if kind == "snat" and w[2] == "inside":
            self.diag(Level.WARNING, "dynamic source NAT (inside) parsed, not modelled; "
                      "it does not open new inbound flows", sp, "nat")
        else:
            self.diag(Level.UNSUPPORTED, "NAT changes addresses seen by ACLs; not modelled",
                      sp, "nat")

    # ---------------------------------------------------------------- objects
    def netgroup(self, name: str, sp: SourceSpan, stack: tuple[str, ...] = ()) -> C.Addr:
        if name in self._ng_cache:
            return self._ng_cache[name]
        if name in stack:
            self.diag(Level.ERROR, f"object-group cycle: {' -> '.join((*stack, name))}", sp,
                      "cycle")
            return C.NONE
        node = self.netgroups.get(name)
        if node is None:
            self.diag(Level.ERROR, f"undefined object-group {name}", sp, "undefined")
            return C.NONE
        out = C.NONE
        for child in node.children:
            w = child.text.split()
            csp = self.span(child)
            got: C.Addr | None = None
            if w[0] == "description":
                continue
            if w[0] == "group-object" and len(w) == 2:
                got = self.netgroup(w[1], csp, (*stack, name))
            elif w[0] == "host" and len(w) == 2:
                got = _host(w[1])
            elif w[0] == "any":
                got = C.ANY
            elif w[0] == "range" and len(w) == 3:
                got = C.addr_of_range(w[1], w[2])
            elif len(w) == 2:
                net = C.netmask_network(w[0], w[1])
                got = C.addr_of_network(net) if net else None
            elif len(w) == 1 and "/" in w[0]:
                try:
                    got = C.addr_of_network(ipaddress.ip_network(w[0], strict=False))
                except ValueError:
                    got = None
            if got is None:
                self.diag(Level.UNSUPPORTED, "network object-group entry not understood", csp,
                          "object-group")
                continue
            out = out.union(got)
        self._ng_cache[name] = out
        return out

    def svcgroup(self, name: str, sp: SourceSpan, stack: tuple[str, ...] = ()) -> list[C.Svc]:
        if name in self._sg_cache:
            return self._sg_cache[name]
        if name in stack:
            self.diag(Level.ERROR, f"object-group cycle: {' -> '.join((*stack, name))}", sp,
                      "cycle")
            return []
        node = self.svcgroups.get(name)
        if node is None:
            self.diag(Level.ERROR, f"undefined object-group {name}", sp, "undefined")
            return []
        out: list[C.Svc] = []
        for child in node.children:
            w = child.text.split()
            csp = self.span(child)
            if w[0] == "description":
                continue
            if w[0] == "group-object" and len(w) == 2:
                out.extend(self.svcgroup(w[1], csp, (*stack, name)))
                continue
            svcs = self.service_words(w, csp, 4)
            if svcs is None:
                self.diag(Level.UNSUPPORTED, "service object-group entry not understood", csp,
                          "object-group")
            else:
                out.extend(svcs)
        self._sg_cache[name] = out
        return out

    def service_words(self, w: list[str], sp: SourceSpan, version: int) -> list[C.Svc] | None:
        """``tcp [source OP P] [OP P]``, ``icmp [type]``, ``ip``, ``<proto>`` (object-groups)."""
        protos: list[int]
        if w[0] == "tcp-udp":
            protos = [6, 17]
        elif w[0] == "ip":
            return [C.ANY_SVC] if len(w) == 1 else None
        else:
            p = C.proto_number(w[0])
            if p is None:
                return None
            protos = [p]
        rest = w[1:]
        if protos[0] in (1, 58):
            fam = 4 if protos[0] == 1 else 6
            if not rest:
                return [C.icmp_svc(fam, None, None)]
            tc = _icmp(rest, fam)
            return [C.icmp_svc(fam, tc[0], tc[1])] if tc and tc[2] == len(rest) else None
        sports = dports = None
        i = 0
        if i < len(rest) and rest[i] == "source":
            got = _ports(rest, i + 1)
            if got is None:
                return None
            sports, i = got
        if i < len(rest):
            got = _ports(rest, i)
            if got is None:
                return None
            dports, i = got
        if i != len(rest):
            return None
        return C.protos_with_ports(protos, sports, dports)

    # ---------------------------------------------------------------- ACL entries
    def acl_rules(self, acl: _Acl, version: int) -> list[Rule]:
        key = (version, acl.name)
        if key not in self._rule_cache:
            self._rule_cache[key] = self._acl_rules(acl, version)
        return self._rule_cache[key]

    def _acl_rules(self, acl: _Acl, version: int) -> list[Rule]:
        rules: list[Rule] = []
        for sp, words in acl.entries:
            w = list(words)
            if w and w[0] == "sequence":
                w = w[2:]
            elif w and w[0].isdigit():
                w = w[1:]
            if not w or w[0] == "remark":
                continue
            if w[0] not in ("permit", "deny"):
                self.diag(Level.UNSUPPORTED, f"ACL entry '{w[0]}' not modelled", sp, "acl-entry")
                continue
            action = Action.PERMIT if w[0] == "permit" else Action.DENY
            if acl.kind == "standard":
                matches = self._standard(w[1:], sp)
            else:
                matches = self._extended(w[1:], sp, version)
            if matches is None:
                continue
            rules.append(Rule(action, matches, sp, name=f"{acl.name}:{sp.line}"))
        return rules

    def _standard(self, w: list[str], sp: SourceSpan) -> tuple[Match, ...] | None:
        w = [x for x in w if x not in ("log", "log-input")]
        src: C.Addr | None = None
        if w == ["any"]:
            src = C.ANY4
        elif len(w) == 2 and w[0] == "host":
            src = _host(w[1])
        elif len(w) == 1:
            src = _host(w[0])
        elif len(w) == 2:
            r = C.wildcard_ranges(w[0], w[1])
            src = C.Addr(r, ()) if r is not None else None
            if r is None and _is_ipv4(w[0]) and _is_ipv4(w[1]):
                self.diag(Level.UNSUPPORTED, "wildcard too fragmented to model exactly", sp,
                          "wildcard")
                return None
        if src is None or src.v6 not in ((), None):
            self.diag(Level.UNSUPPORTED, "standard ACL entry not understood", sp, "acl-entry")
            return None
        return C.build_matches(src, C.ANY4, [C.ANY_SVC])

    def _address(self, w: list[str], i: int, sp: SourceSpan, version: int
                 ) -> tuple[C.Addr, int] | None:
        if i >= len(w):
            return None
        tok = w[i]
        anyv = C.ANY4 if version == 4 else C.ANY6
        if tok == "any":
            return anyv, i + 1
        if tok == "host" and i + 1 < len(w):
            a = _host(w[i + 1])
            return (a, i + 2) if a is not None else None
        if tok in ("object-group", "addrgroup") and i + 1 < len(w):
            return self.netgroup(w[i + 1], sp), i + 2
        if version == 6:
            try:
                net = ipaddress.IPv6Network(tok, strict=False)
            except ValueError:
                return None
            return C.addr_of_network(net), i + 1
        if "/" in tok:
            try:
                return C.addr_of_network(ipaddress.IPv4Network(tok, strict=False)), i + 1
            except ValueError:
                return None
        if i + 1 < len(w):
            r = C.wildcard_ranges(tok, w[i + 1])
            if r is None:
                if _is_ipv4(tok) and _is_ipv4(w[i + 1]):
                    self.diag(Level.UNSUPPORTED, "wildcard too fragmented to model exactly",
                              sp, "wildcard")
                return None
            return C.Addr(r, ()), i + 2
        return None

    def _extended(self, w: list[str], sp: SourceSpan, version: int) -> tuple[Match, ...] | None:
        def bad(why: str) -> None:
            self.diag(Level.UNSUPPORTED, f"ACL entry not understood ({why})", sp, "acl-entry")

        if not w:
            bad("empty")
            return None
        i = 1
        svcs: list[C.Svc]
        proto: int | None = None
        if w[0] == "object-group" and len(w) > 1:
            svcs = self.svcgroup(w[1], sp)
            i = 2
        elif w[0] in ("ip", "ipv6", "ipv4"):
            svcs = [C.Svc(family=version)]
        elif w[0] == "tcp-udp":
            svcs = [C.proto_svc(6), C.proto_svc(17)]
        else:
            proto = C.proto_number(w[0])
            if proto is None:
                bad(f"protocol {w[0]}")
                return None
            if version == 6 and proto == 1:
                proto = 58
            svcs = [C.proto_svc(proto)]
        got = self._address(w, i, sp, version)
        if got is None:
            bad("source")
            return None
        src, i = got
        sports = dports = None
        if i < len(w) and w[i] in C.PORT_OPS:
            pg = _ports(w, i)
            if pg is None:
                bad("source port")
                return None
            sports, i = pg
        got = self._address(w, i, sp, version)
        if got is None:
            bad("destination")
            return None
        dst, i = got
        if i < len(w) and w[i] in C.PORT_OPS:
            pg = _ports(w, i)
            if pg is None:
                bad("destination port")
                return None
            dports, i = pg
        icmp: tuple[int | None, int | None] | None = None
        states: frozenset[str] | None = None
        fam = version
        if proto in (1, 58) and i < len(w):
            tc = _icmp(w[i:], fam)
            if tc is not None:
                icmp = (tc[0], tc[1])
                i += tc[2]
        unsupported = []
        while i < len(w):
            tok = w[i]
            if tok in ("log", "log-input"):
                i += 1
                if i < len(w) and w[i] not in _OPTION_WORDS:
                    i += 1
            elif tok == "established":
                states = frozenset({"established"})
                i += 1
            elif tok in ("time-range", "dscp", "precedence", "tos", "option", "reflect",
                         "ttl", "fragments", "match-any", "match-all", "ack", "syn", "fin",
                         "psh", "rst", "urg", "tracked", "sequence", "flow-label",
                         "routing", "hbh", "dest-option", "mobility"):
                unsupported.append(tok)
                i += 1
                while i < len(w) and w[i] not in _OPTION_WORDS:
                    i += 1
            else:
                bad(f"unexpected '{tok}'")
                return None
        real = [u for u in unsupported if u not in ("reflect", "tracked")]
        if real:
            self.diag(Level.UNSUPPORTED, f"entry condition(s) not modelled: {', '.join(real)}",
                      sp, "acl-option")
        out: list[C.Svc] = []
        for s in svcs:
            if icmp is not None:
                s = C.icmp_svc(fam, icmp[0], icmp[1])
            ps = C.with_ports(s, sports, dports)
            if ps is None:
                bad("ports on a protocol without ports")
                return None
            if states is not None:
                ps = C.Svc(ps.protocols, ps.sports, ps.dports, ps.icmp_types, ps.icmp_codes,
                           ps.family, states)
            out.append(ps)
        restricted_src = C.Addr(src.v4, ()) if version == 4 else C.Addr((), src.v6)
        return C.build_matches(restricted_src, dst, out)

    # ---------------------------------------------------------------- conversion
    def convert(self, name: str | None) -> Device:
        filters: dict[str, Filter] = {}
        acl_rules: dict[tuple[int, str], list[Rule]] = {}
        for key, acl in self.acls.items():
            rules = list(self.acl_rules(acl, key[0]))
            if key[0] == 6:
                rules.extend(_nd_rules(acl.span))
            acl_rules[key] = rules
            fname = key[1] if key[0] == 4 or (4, key[1]) not in self.acls else f"ipv6 {key[1]}"
            filters[fname] = Filter(fname, tuple(rules), Action.DENY, acl.span)
        forward: list[Stage] = []
        local: list[Stage] = []
        interfaces: dict[str, Interface] = {}
        for it in self.ifaces.values():
            interfaces[it.name] = Interface(it.name, it.zone, tuple(it.addresses), it.span)
            for direction in ("in", "out"):
                if not any(d == direction for _, d in it.acl):
                    continue
                rules = []
                for version in (4, 6):
                    ref = it.acl.get((version, direction))
                    if ref is None:
                        rules.append(_family_permit(version, it.span,
                                                    f"no IPv{version} ACL {direction}bound"))
                        continue
                    acl_name, sp = ref
                    if (version, acl_name) not in acl_rules:
                        self.diag(Level.WARNING, f"access-group names undefined ACL {acl_name};"
                                  " IOS then permits everything", sp, "undefined-acl")
                        rules.append(_family_permit(version, sp, "undefined ACL permits all"))
                        continue
                    body = acl_rules[(version, acl_name)]
                    rules.extend(body)
                    rules.append(_family_deny(version, sp))
                fname = f"{it.name} {direction}"
                filters[fname] = Filter(fname, tuple(rules), Action.DENY)
                cond = IfaceMatch(names=(it.name,))
                if direction == "in":
                    forward.append(Stage(fname, ingress=cond))
                    local.append(Stage(fname, ingress=cond))
                else:
                    forward.append(Stage(fname, egress=cond))
        if self.zones or any(it.zone for it in self.ifaces.values()):
            zf, zs = self._zone_filters()
            filters[zf.name] = zf
            forward.append(Stage(zf.name))
            if zs is not None:
                filters[zs.name] = zs
                local.append(Stage(zs.name))
        return Device(
            name=name or self.hostname or self.path, vendor=VENDOR, path=self.path,
            filters=filters, forward=tuple(forward), local=tuple(local),
            interfaces=interfaces, nat=tuple(self.nat), diagnostics=tuple(self.diags),
        )

    def _class_matches(self, cname: str, sp: SourceSpan, stack: tuple[str, ...] = ()
                       ) -> tuple[Match, ...]:
        node = self.class_maps.get(cname)
        if node is None or cname in stack:
            self.diag(Level.ERROR, f"class-map {cname} undefined or cyclic", sp, "class-map")
            return ()
        match_all = "match-all" in node.text.split() or "match-any" not in node.text.split()
        parts: list[tuple[Match, ...]] = []
        for child in node.children:
            w = child.text.split()
            csp = self.span(child)
            if w[:2] == ["match", "access-group"] and len(w) >= 3:
                acl = w[-1]
                rules = [r for v in (4, 6) if (v, acl) in self.acls
                         for r in self.acl_rules(self.acls[(v, acl)], v)]
                if any(r.action is Action.DENY for r in rules):
                    self.diag(Level.UNSUPPORTED, "class-map ACL with deny entries: only "
                              "its permit entries are used", csp, "class-map")
                parts.append(tuple(m for r in rules if r.action is Action.PERMIT
                                   for m in r.matches))
            elif w[:2] == ["match", "protocol"] and len(w) >= 3 and w[2] in PAM:
                proto, port = PAM[w[2]]
                if port is not None:
                    self.diag(Level.WARNING, f"match protocol {w[2]} read as its default port "
                              f"{port} (port-to-application mapping)", csp, "pam")
                svc = C.proto_svc(proto) if port is None else C.with_ports(
                    C.proto_svc(proto), None, R.single(port))
                assert svc is not None
                parts.append(C.build_matches(C.ANY, C.ANY, [svc]))
            elif w[:2] == ["match", "class-map"] and len(w) >= 3:
                parts.append(self._class_matches(w[2], csp, (*stack, cname)))
            else:
                self.diag(Level.UNSUPPORTED, "class-map match not modelled", csp, "class-map")
        if not parts:
            return ()
        if not match_all:
            return tuple(m for p in parts for m in p)
        acc = parts[0]
        for p in parts[1:]:
            acc = tuple(x for a in acc for b in p if (x := a.intersect(b)) is not None)
        return acc

    def _zone_filters(self) -> tuple[Filter, Filter | None]:
        rules: list[Rule] = []
        self_rules: list[Rule] = []
        paired: set[tuple[str, str]] = set()
        for src, dst, pm, sp in self.zone_pairs:
            paired.add((src, dst))
            out = self_rules if dst == "self" else rules
            zin = IfaceMatch(zones=(src,)) if src != "self" else None
            zout = IfaceMatch(zones=(dst,)) if dst != "self" else None
            node = self.policy_maps.get(pm or "")
            if node is None:
                self.diag(Level.ERROR, f"zone-pair without a known inspect policy-map ({pm}):"
                          " its traffic is dropped", sp, "zone-pair")
            default = Action.DENY
            for child in node.children if node else []:
                cw = child.text.split()
                csp = self.span(child)
                acts = [c.text.split()[0] for c in child.children]
                act = Action.PERMIT if acts and acts[0] in ("inspect", "pass") else Action.DENY
                if cw[:2] == ["class", "class-default"]:
                    default = act
                    continue
                if cw[:3] != ["class", "type", "inspect"] or len(cw) < 4:
                    self.diag(Level.UNSUPPORTED, "policy-map entry not understood", csp,
                              "policy-map")
                    continue
                ms = self._class_matches(cw[3], csp)
                out.append(Rule(act, _zoned(ms, zin, zout), csp, name=f"{pm}:{cw[3]}",
                                detail=acts[0] if acts else "drop"))
            out.append(Rule(default, _zoned((Match(),), zin, zout), sp, name=f"{pm}:class-default",
                            synthetic=True, detail="class-default"))
        zones = sorted(set(self.zones) | {it.zone for it in self.ifaces.values() if it.zone})
        unzoned = tuple(sorted(n for n, it in self.ifaces.items() if not it.zone))
        anchor = next(iter(self.zones.values()), SourceSpan(self.path, 1))
        rules.extend(
            Rule(Action.PERMIT, (Match(in_iface=(IfaceMatch(zones=(z,)),),
                                       out_iface=(IfaceMatch(zones=(z,)),)),), anchor,
                 name=f"intra-zone {z}", synthetic=True)
            for z in zones if (z, z) not in paired
        )
        if unzoned:
            rules.append(Rule(Action.PERMIT, (Match(in_iface=(IfaceMatch(names=unzoned),),
                              out_iface=(IfaceMatch(names=unzoned),)),), anchor,
                              name="unzoned to unzoned", synthetic=True))
        zf = Filter("zone-policy", tuple(rules), Action.DENY, anchor,
                    notes=("zone-based firewall: other zone pairs are dropped",))
        zs = None
        if self_rules:
            self_rules.append(Rule(Action.PERMIT, (Match(),), anchor, synthetic=True,
                                   name="self zone: other sources pass"))
            zs = Filter("zone-policy-self", tuple(self_rules), Action.PERMIT, anchor)
        return zf, zs


_OPTION_WORDS = frozenset({
    "log", "log-input", "established", "time-range", "dscp", "precedence", "tos", "option",
    "reflect", "ttl", "fragments", "match-any", "match-all", "tracked",
})


def _zoned(ms: tuple[Match, ...], zin: IfaceMatch | None, zout: IfaceMatch | None
           ) -> tuple[Match, ...]:
    from dataclasses import replace

    return tuple(replace(m, in_iface=(zin,) if zin else (), out_iface=(zout,) if zout else ())
                 for m in ms)


def _is_ipv4(s: str) -> bool:
    try:
        ipaddress.IPv4Address(s)
    except ValueError:
        return False
    return True


def _host(s: str) -> C.Addr | None:
    try:
        a = ipaddress.ip_address(s)
    except ValueError:
        return None
    return C.addr_of_network(ipaddress.ip_network(a))


def _ports(w: list[str], i: int) -> tuple[R.Ranges, int] | None:
    op = w[i]
    need = C.PORT_OPS.get(op)
    if need is None:
        return None
    args: list[int] = []
    j = i + 1
    while j < len(w) and (need == 0 or len(args) < need):
        p = C.port_number(w[j])
        if p is None:
            break
        args.append(p)
        j += 1
    if not args or (need and len(args) != need):
        return None
    r = C.port_op(op, args)
    return (r, j) if r is not None else None


def _icmp(w: list[str], fam: int) -> tuple[int | None, int | None, int] | None:
    """ICMP message at ``w[0]``: (type, code, words used) or None."""
    if not w:
        return None
    if w[0].isdigit():
        if int(w[0]) > 255 or (len(w) > 1 and w[1].isdigit() and int(w[1]) > 255):
            return None
        t = int(w[0])
        if len(w) > 1 and w[1].isdigit():
            return t, int(w[1]), 2
        return t, None, 1
    table = C.ICMP4_NAMES if fam == 4 else C.ICMP6_NAMES
    if w[0] in table:
        t, c = table[w[0]]
        return t, c, 1
    return None


def _family_permit(version: int, sp: SourceSpan, why: str) -> Rule:
    return Rule(Action.PERMIT, (Match(family=version),), sp, name=why, synthetic=True, detail=why)


def _family_deny(version: int, sp: SourceSpan) -> Rule:
    return Rule(Action.DENY, (Match(family=version),), sp, name="implicit deny", synthetic=True,
                detail=f"implicit deny at the end of the IPv{version} ACL")


def _nd_rules(sp: SourceSpan) -> list[Rule]:
    return [
        Rule(Action.PERMIT, (Match(family=6, protocols=R.single(58), icmp_types=R.single(t)),),
             sp, name=f"implicit permit icmp any any {n}", synthetic=True,
             detail="IPv6 ACL implicit neighbor discovery permit")
        for n, t in (("nd-na", 136), ("nd-ns", 135))
    ]


def parse(text: str, path: str, *, name: str | None = None) -> Device:
    """Parse an IOS/IOS-XE configuration into a ``Device`` (see the module docstring)."""
    if "\x00" in text[:4096]:
        raise ConfigParseError("binary file, not an IOS configuration", SourceSpan(path, 1))
    p = _Parser(text, path)
    p.collect()
    return p.convert(name)
