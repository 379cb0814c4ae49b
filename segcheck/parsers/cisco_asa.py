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
- Traffic to the ASA itself (local stages, ``_asa_mgmt``): transit ACLs do not apply; the
  ``ssh``/``telnet``/``http``/``snmp-server`` access entries, VPN termination (``crypto ...
  enable IF``, ``webvpn`` ``enable IF``), the per-interface ``icmp`` and ``ipv6 icmp`` rule
  lists (implicit deny after them; all ICMP when an interface has none) and ``access-group
  ACL in interface IF control-plane`` decide it, each rule at its line; ``crypto``/``webvpn``
  lines other than these stay in ``IRRELEVANT`` (tunnels, not who reaches the box).
- Objects, groups and ACL entries are resolved in ``_asa_objects``.
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

from segcheck.errors import ConfigParseError
from segcheck.model.device import Device, Interface, NatRule, Stage
from segcheck.model.rules import Action, Filter, IfaceMatch, Match, Rule
from segcheck.model.source import Level, SourceSpan
from segcheck.parsers import _cisco as C
from segcheck.parsers._asa_mgmt import Management
from segcheck.parsers._asa_objects import AsaObjects, _blocks, _Iface, _Node, iface_match

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
    "aaa", "aaa-server", "username", "user-identity",
    "prompt", "route", "ipv6 route", "router", "threat-detection", "timeout",
    "xlate", "terminal", "failover", "monitor-interface", "license", "service-policy",
    "policy-map", "class-map", "vpn-addr-assign", "ip local", "ipv6 local", "ssl", "end",
    "service", "privilege", "jumbo-frame", "mac-address", "smtp-server",
    "regex", "snmp-map", "tcp-map", "flow-export", "schedule", "no-payload",
    "dhcp-client", "ipv6 unicast-routing", "fragment", "ciscoasa",
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


class _Parser(AsaObjects):
    """The command reader: fills the object tables (``AsaObjects``), bindings, NAT and the
    management plane (``Management``), then ``convert`` builds the ``Device``."""

    def __init__(self, text: str, path: str) -> None:
        super().__init__(path)
        self.text = text
        self.hostname: str | None = None
        self.bind_in: dict[str, tuple[str, SourceSpan]] = {}
        self.bind_out: dict[str, tuple[str, SourceSpan]] = {}
        self.bind_global: tuple[str, SourceSpan] | None = None
        self.inter = False
        self.intra = False
        self.nat: list[NatRule] = []
        self.mgmt = Management(self)

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
        elif self.mgmt.command(w, sp):
            pass
        elif head == "webvpn" and len(w) == 1:
            self.mgmt.webvpn([(c.text.split(), self.span(c)) for c in n.children])
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
        elif w[2] == "in" and len(w) == 6 and w[3] == "interface" and w[5] == "control-plane":
            # to-the-box traffic on that interface, not transit: a local stage (_asa_mgmt)
            self.mgmt.bind_control_plane(name, w[4], sp)
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
            me = iface_match(it)
            same = [o for o in named if o is not it and o.level == it.level]
            lower = [o for o in named if o.level is not None and o.level < it.level]
            rules: list[Rule] = []
            if same and not self.inter:
                rules.append(_synthetic(Action.DENY, it.span, "same-security traffic not "
                                        "permitted (same-security-traffic inter-interface)",
                                        out=iface_match(*same)))
            if not self.intra:
                rules.append(_synthetic(Action.DENY, it.span, "traffic back out the same "
                                        "interface not permitted (intra-interface)", out=me))
            bound = self.bind_in.get(it.nameif)
            if bound is None and glob is None:
                allowed = lower + (same if self.inter else []) + ([it] if self.intra else [])
                if allowed:
                    rules.append(_synthetic(Action.PERMIT, it.span, f"security-level "
                                            f"{it.level}: to lower-level interfaces",
                                            out=iface_match(*allowed)))
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
            known = iface_match(*named)
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
            forward.append(Stage(fname, egress=iface_match(*its)))
        for nameif, (_acl, sp) in self.bind_in.items():
            if not any(it.nameif == nameif for it in named):
                self.diag(Level.ERROR, f"access-group on unknown interface {nameif}", sp,
                          "undefined")
        mgmt_filters, local = self.mgmt.convert(named, rules_of)
        filters.update(mgmt_filters)
        return Device(
            name=name or self.hostname or self.path, vendor=VENDOR, path=self.path,
            filters=filters, forward=tuple(forward), local=local,
            interfaces=interfaces,
            nat=tuple(self.nat), diagnostics=tuple(self.diags),
        )


def _synthetic(action: Action, sp: SourceSpan, why: str, out: IfaceMatch) -> Rule:
    return Rule(action, (Match(out_iface=(out,)),), sp, name=why, synthetic=True, detail=why)


def parse(text: str, path: str, *, name: str | None = None) -> Device:
    """Parse an ASA running-config into a ``Device`` (module docstring)."""
    if "\x00" in text[:4096]:
        raise ConfigParseError("binary file, not an ASA configuration", SourceSpan(path, 1))
    p = _Parser(text, path)
    p.collect()
    return p.convert(name)
