"""Cisco ASA management plane: traffic addressed to the ASA itself -> local stages.

Interface and global ACLs (``access-group ... in|out interface``/``global``) govern traffic
*through* the ASA only. What reaches the ASA itself is decided by the commands read here,
and the device's local stages say so explicitly:

- ``management`` (one filter, every named interface; default deny):

  * ``ssh ADDR MASK IF`` / ``ssh PREFIX/LEN IF`` (tcp/22), ``telnet ...`` (tcp/23) and
    ``http ...`` (tcp/443, or the port of ``http server enable PORT``; nothing at all without
    ``http server enable``) permit those sources to the addresses of interface ``IF`` only
    (any address when the export gives ``IF`` none). ``0 0`` is ``0.0.0.0 0.0.0.0``.
    An interface without such an entry admits no SSH/Telnet/HTTPS.
  * Telnet to the lowest-security interface is refused (synthetic deny before the telnet
    entries of an interface whose ``security-level`` is the lowest of the named ones).
  * ``snmp-server host IF ADDR [poll|trap] ...`` admits polls (udp/161, or ``snmp-server
    listen-port N``) from ``ADDR`` on ``IF`` unless the entry is ``trap`` only;
    ``snmp-server host-group IF OBJECT ...`` likewise for a network object;
    ``no snmp-server enable`` turns the agent off (no poll admitted).
    ``snmp-server community`` only sets the authentication string (no source admitted).
  * ICMP: ``icmp permit|deny SRC [TYPE] IF`` (ICMPv4) and ``ipv6 icmp permit|deny SRC [TYPE]
    IF`` (ICMPv6) are first-match lists per interface and family, to the addresses of ``IF``;
    after the last entry of an interface comes an implicit deny of that family's ICMP on
    it. An interface with no entry of a family accepts all of that family's ICMP to its
    own addresses (synthetic permit). ICMP to the address of another interface (the far
    side) is not answered (default deny).

- ``vpn`` entries of ``management`` too: ``crypto ikev1|ikev2|isakmp enable IF`` admits IKE
  (udp/500 and NAT-T udp/4500) from anywhere to ``IF``'s addresses; ``crypto ikev2 enable IF
  client-services [port N]`` also tcp/443 (or N); a ``webvpn`` block's ``enable IF`` admits
  the SSL VPN portal (tcp/443, or the block's ``port N``) and, with ``anyconnect enable``,
  DTLS (udp/443, or ``dtls port N``). These are to-the-box services, not device management,
  but a portal on a management port is exposed like one (SC-MGMT-EXPOSED reports it).

- ``control-plane <nameif>`` (one filter per ``access-group ACL in interface IF
  control-plane``, a local stage for packets entering on ``IF``): the ACL's entries then its
  implicit deny. A permit there grants nothing by itself: the packet must still pass
  ``management`` (the stage after it; a packet both drop is reported as the ACL's).

Not modelled (diagnostics): ``management-access IF`` (management of ``IF`` through a VPN
tunnel entering elsewhere: WARNING), ``http redirect`` (WARNING: redirects to HTTPS, grants no
management), any ``ssh``/``telnet``/``http``/``icmp``/``snmp-server`` form not listed above or
listed as irrelevant below (UNSUPPORTED at its line).

Vendor facts relied on (sources found with the search tool):

- "To access the ASA interface for management access, you do not also need an access rule";
  management access to an interface other than the one the traffic entered by is not
  supported (except over VPN); Telnet to the lowest security interface is refused unless
  inside a VPN tunnel — Cisco ASA General Operations CLI Configuration Guide, "Management
  Access" chapter (also the ASA 1000V edition, "Configuring Management Access").
- ``icmp``: with no ICMP rule configured the ASA accepts all ICMP that terminates at any
  interface; it answers ICMP only on the interface the traffic came in on — Cisco ASA Series
  Command Reference I-R, ``icmp``. If any ICMP rule is configured for an interface, an
  implicit deny ICMP rule is added at the end of that interface's list; without a type the
  rule applies to all types; ``ipv6 icmp`` is the ICMPv6 counterpart — Cisco ASA Series
  Firewall CLI Configuration Guide 9.x, "Access Rules", "Configure ICMP rules".
- ``access-group ... control-plane``: the management access rule set that covers traffic
  directed at an interface — Firewall CLI Configuration Guide, "Access Rules" (Controlling
  Network Access; Configure an Access Group); every access list ends in an implicit deny —
  ASA CLI Configuration Guide, "Information About Access Lists", "Access Control Implicit Deny".
- VPN termination ports: IKE udp/500, IPsec NAT traversal udp/4500 (IANA ``isakmp``,
  ``ipsec-nat-t``); the clientless/AnyConnect SSL VPN listens on tcp/443 unless the
  ``webvpn`` ``port`` command moves it, and DTLS on udp/443 unless ``dtls port`` does —
  Cisco ASA Series Command Reference (``webvpn`` mode ``port``, ``dtls port``; ``crypto
  ikev2 enable ... client-services port``).
- ``snmp-server host`` without ``trap`` admits polls (``poll``/``trap`` restrict the entry
  to one direction), ``snmp-server community`` admits no source by itself: kept from the
  first version of this reader; no vendor text was found for it this time (search tool:
  ASA SNMP chapters describe polling by "the NMS" of ``snmp-server host`` without the rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from segcheck.model import ranges as R
from segcheck.model.device import Stage
from segcheck.model.rules import Action, Filter, IfaceMatch, Match, Rule
from segcheck.model.source import Level, SourceSpan
from segcheck.parsers import _cisco as C
from segcheck.parsers._asa_objects import AsaObjects, _Iface, icmp_words, iface_match

MGMT_FILTER = "management"

SSH_IRRELEVANT = frozenset({"version", "timeout", "key-exchange", "cipher", "scopy",
                            "stricthostkeycheck", "pubkey-chain", "stack", "server",
                            "authentication", "rekey", "access-list"})
"""``ssh`` sub-commands that say nothing about who may connect (protocol tuning, keys)."""
TELNET_IRRELEVANT = frozenset({"timeout"})
HTTP_IRRELEVANT = frozenset({"authentication-certificate", "idle-timeout", "session-timeout",
                             "max-sessions", "connection-limit", "server"})
SNMP_IRRELEVANT = frozenset({"location", "contact", "enable", "user", "group", "engineID",
                             "engineid", "community", "user-list", "ifindex", "cpu"})
"""``snmp-server`` sub-commands that admit no source (traps, identity, SNMPv3 users, the
community string; ``enable`` itself is the default)."""
MGMT_HEADS = frozenset({"ssh", "telnet", "http", "icmp", "snmp-server", "management-access"})
ICMP_IRRELEVANT = frozenset({"unreachable"})
"""``icmp unreachable rate-limit``: how often the ASA *sends* unreachables."""


@dataclass(frozen=True)
class _Access:
    kind: str
    """ssh, telnet, http or snmp."""
    src: C.Addr
    nameif: str
    span: SourceSpan


@dataclass(frozen=True)
class _IcmpRule:
    action: Action
    src: C.Addr
    itype: int | None
    icode: int | None
    nameif: str
    span: SourceSpan


@dataclass(frozen=True)
class _Vpn:
    nameif: str
    svcs: tuple[C.Svc, ...]
    span: SourceSpan


@dataclass
class Management:
    """What the command reader collected about to-the-box access (see the module docstring)."""

    objs: AsaObjects
    access: list[_Access] = field(default_factory=list)
    icmp: dict[int, list[_IcmpRule]] = field(default_factory=lambda: {4: [], 6: []})
    http_port: int | None = None
    snmp_port: int = 161
    snmp_off: SourceSpan | None = None
    control_plane: dict[str, tuple[str, SourceSpan]] = field(default_factory=dict)
    vpn: list[_Vpn] = field(default_factory=list)

    # ------------------------------------------------------------------ reading
    def command(self, w: list[str], sp: SourceSpan) -> bool:
        """Read one top-level command if it is a management-plane one (True), else False."""
        head = w[0]
        if head in ("ssh", "telnet", "http"):
            self._access(w, sp)
        elif head == "icmp" or w[:2] == ["ipv6", "icmp"]:
            self._icmp(w if head == "icmp" else w[1:], 4 if head == "icmp" else 6, sp)
        elif head == "snmp-server":
            self._snmp(w, sp)
        elif w[:3] == ["no", "snmp-server", "enable"] and len(w) == 3:
            self.snmp_off = sp
        elif head == "no" and len(w) >= 2 and (w[1] in MGMT_HEADS or w[1:3] == ["ipv6", "icmp"]):
            pass  # a default turned off (``no snmp-server location``): admits nothing
        elif w[:1] == ["crypto"] and len(w) >= 4 and w[1] in ("ikev1", "ikev2", "isakmp") \
                and w[2] == "enable":
            self._ike(w, sp)
        elif head == "management-access":
            self._diag(Level.WARNING, "management-access (management through a VPN tunnel "
                       "entering by another interface) is not modelled", sp, "mgmt")
        else:
            return False
        return True

    def _ike(self, w: list[str], sp: SourceSpan) -> None:
        """``crypto ikev1|ikev2|isakmp enable IF [client-services [port N]]``."""
        nameif, rest = w[3], w[4:]
        self.vpn.append(_Vpn(nameif, _udp(500, 4500), sp))
        if not rest:
            return
        if rest[:1] == ["client-services"] and (len(rest) == 1 or (
                len(rest) == 3 and rest[1] == "port" and _port(rest[2]))):
            self.vpn.append(_Vpn(nameif, _tcp(int(rest[2]) if len(rest) == 3 else 443), sp))
            return
        self._diag(Level.UNSUPPORTED, "crypto enable option not understood", sp, "mgmt")

    def webvpn(self, children: list[tuple[list[str], SourceSpan]]) -> None:
        """The ``webvpn`` block: ``enable IF [tls-only]``, ``port N``, ``anyconnect enable``,
        ``dtls port N`` (its other sub-commands admit nothing)."""
        port, dtls, anyconnect = 443, 443, False
        enabled: list[tuple[str, bool, SourceSpan]] = []
        for cw, csp in children:
            if cw[:1] == ["enable"] and (len(cw) == 2 or cw[2:] == ["tls-only"]):
                enabled.append((cw[1], len(cw) == 2, csp))  # tls-only: no DTLS there
            elif cw[:1] == ["enable"]:
                self._diag(Level.UNSUPPORTED, "webvpn enable form not understood", csp, "mgmt")
            elif cw[:1] == ["port"] and len(cw) == 2 and _port(cw[1]):
                port = int(cw[1])
            elif cw[:2] == ["dtls", "port"] and len(cw) == 3 and _port(cw[2]):
                dtls = int(cw[2])
            elif cw[:1] == ["port"] or cw[:2] == ["dtls", "port"]:
                self._diag(Level.UNSUPPORTED, "webvpn port form not understood (the default "
                           "port is assumed)", csp, "mgmt")
            elif cw[:2] in (["anyconnect", "enable"], ["svc", "enable"]):
                anyconnect = True
        for nameif, with_dtls, csp in enabled:
            svcs = _tcp(port) + (_udp(dtls) if anyconnect and with_dtls else ())
            self.vpn.append(_Vpn(nameif, svcs, csp))

    def bind_control_plane(self, acl: str, nameif: str, sp: SourceSpan) -> None:
        self.control_plane[nameif] = (acl, sp)

    def _diag(self, level: Level, msg: str, sp: SourceSpan, code: str) -> None:
        self.objs.diag(level, msg, sp, code)

    def _source(self, w: list[str], i: int, sp: SourceSpan) -> tuple[C.Addr, int] | None:
        """``ADDR MASK``, ``PREFIX/LEN``, ``host ADDR``, ``any``, a ``name`` alias, or ``0 0``."""
        if w[i:i + 2] == ["0", "0"]:
            return C.ANY4, i + 2
        return self.objs.address(w, i, sp)

    def _access(self, w: list[str], sp: SourceSpan) -> None:
        kind = w[0]
        if kind == "http" and w[1:3] == ["server", "enable"]:
            if len(w) == 3 or (len(w) == 4 and _port(w[3])):
                self.http_port = int(w[3]) if len(w) == 4 else 443
            else:
                self._diag(Level.UNSUPPORTED, "http server enable form not understood", sp,
                           "mgmt")
            return
        if kind == "http" and w[1:2] == ["redirect"]:
            self._diag(Level.WARNING, "http redirect (to HTTPS) is not modelled; it grants no "
                       "management access", sp, "mgmt")
            return
        if len(w) >= 3:
            got = self._source(w, 1, sp)
            if got is not None and got[1] == len(w) - 1:
                self.access.append(_Access(kind, got[0], w[-1], sp))
                return
        quiet = {"ssh": SSH_IRRELEVANT, "telnet": TELNET_IRRELEVANT, "http": HTTP_IRRELEVANT}
        if len(w) >= 2 and w[1] in quiet[kind]:
            return
        self._diag(Level.UNSUPPORTED, f"{kind} command not understood (management access not "
                   "modelled from it)", sp, "mgmt")

    def _icmp(self, w: list[str], fam: int, sp: SourceSpan) -> None:
        """``icmp permit|deny SRC [TYPE] IF`` (``w`` without a leading ``ipv6``)."""
        if len(w) >= 2 and w[1] in ICMP_IRRELEVANT:
            return
        if len(w) >= 4 and w[1] in ("permit", "deny"):
            got = self._source(w, 2, sp)
            if got is not None:
                src, i = got
                rest = w[i:-1]
                tc = icmp_words(rest, fam) if rest else (None, None, 0)
                if tc is not None and tc[2] == len(rest) and i < len(w):
                    action = Action.PERMIT if w[1] == "permit" else Action.DENY
                    self.icmp[fam].append(_IcmpRule(action, src, tc[0], tc[1], w[-1], sp))
                    return
        self._diag(Level.UNSUPPORTED, f"{'ipv6 ' if fam == 6 else ''}icmp command not "
                   "understood (ICMP to the device not modelled from it)", sp, "mgmt")

    def _snmp(self, w: list[str], sp: SourceSpan) -> None:
        if len(w) >= 4 and w[1] in ("host", "host-group"):
            if "trap" in w[4:]:
                return  # the ASA sends traps to it; it may not poll
            if w[1] == "host":
                got = self.objs.address(["host", w[3]], 0, sp)
                src = got[0] if got is not None else None
            else:
                src = self.objs.addr_object(w[3], sp)
            if src is not None:
                self.access.append(_Access("snmp", src, w[2], sp))
                return
        elif w[1:2] == ["listen-port"] and len(w) == 3 and _port(w[2]):
            self.snmp_port = int(w[2])
            return
        elif len(w) >= 2 and w[1] in SNMP_IRRELEVANT:
            return
        self._diag(Level.UNSUPPORTED, "snmp-server command not understood (SNMP access not "
                   "modelled from it)", sp, "mgmt")

    # ------------------------------------------------------------------ conversion
    def convert(self, named: list[_Iface], rules_of: dict[str, list[Rule]]
                ) -> tuple[dict[str, Filter], tuple[Stage, ...]]:
        """The local-stage filters: ``management`` and one ``control-plane IF`` per binding."""
        filters: dict[str, Filter] = {}
        stages: list[Stage] = []
        for nameif, (acl, sp) in self.control_plane.items():
            its = [it for it in named if it.nameif == nameif]
            if not its:
                self._diag(Level.ERROR, f"control-plane access-group on unknown interface "
                           f"{nameif}", sp, "undefined")
                continue
            if acl not in rules_of:
                self._diag(Level.ERROR, f"access-group names undefined ACL {acl}", sp,
                           "undefined-acl")
            fname = f"control-plane {nameif}"
            filters[fname] = Filter(fname, tuple(rules_of.get(acl, [])), Action.DENY, sp,
                                    notes=("to-the-box ACL: its entries, then the implicit "
                                           "deny",))
            stages.append(Stage(fname, ingress=iface_match(*its)))
        filters[MGMT_FILTER] = self._management(named)
        stages.append(Stage(MGMT_FILTER))  # after the control-plane ACLs, which drop first
        return filters, tuple(stages)

    def _management(self, named: list[_Iface]) -> Filter:
        ports = {"ssh": (6, 22), "telnet": (6, 23), "http": (6, self.http_port or 443),
                 "snmp": (17, self.snmp_port)}
        levels = [it.level for it in named if it.level is not None]
        lowest = min(levels) if levels else None
        rules: list[Rule] = []
        refused: set[str] = set()
        for a in self.access:
            its = [it for it in named if it.nameif == a.nameif]
            if not its:
                self._diag(Level.ERROR, f"{a.kind} access on unknown interface {a.nameif}",
                           a.span, "undefined")
                continue
            if (a.kind == "http" and self.http_port is None) or (
                    a.kind == "snmp" and self.snmp_off is not None):
                continue  # the server/agent is off: the entry admits nothing
            proto, port = ports[a.kind]
            svc = C.with_ports(C.proto_svc(proto), None, R.single(port))
            assert svc is not None
            cond = iface_match(*its)
            dst = _own(its)
            if a.kind == "telnet" and lowest is not None and its[0].level == lowest \
                    and a.nameif not in refused:
                refused.add(a.nameif)
                why = (f"telnet to {a.nameif}, the lowest-security interface, is refused "
                       "(only inside a VPN tunnel)")
                rules.append(Rule(Action.DENY, _on(C.build_matches(C.ANY, dst, [svc]), cond),
                                  a.span, name=why, synthetic=True, detail=why))
            rules.append(Rule(Action.PERMIT, _on(C.build_matches(a.src, dst, [svc]), cond),
                              a.span, name=f"{a.kind} {a.nameif}"))
        for v in self.vpn:
            its = [it for it in named if it.nameif == v.nameif]
            if not its:
                self._diag(Level.ERROR, f"VPN enabled on unknown interface {v.nameif}", v.span,
                           "undefined")
                continue
            rules.append(Rule(Action.PERMIT, _on(C.build_matches(C.ANY, _own(its), list(
                v.svcs)), iface_match(*its)), v.span, name=f"vpn {v.nameif}"))
        for fam in (4, 6):
            rules.extend(self._icmp_rules(named, fam))
        anchor = named[0].span if named else SourceSpan(self.objs.path, 1)
        return Filter(MGMT_FILTER, tuple(rules), Action.DENY, anchor,
                      notes=("to-the-box access: ssh/telnet/http/snmp entries and icmp "
                             "rules per interface, then deny",))

    def _icmp_rules(self, named: list[_Iface], fam: int) -> list[Rule]:
        word = "icmp" if fam == 4 else "ipv6 icmp"
        rules: list[Rule] = []
        for r in self.icmp[fam]:
            if not any(it.nameif == r.nameif for it in named):
                self._diag(Level.ERROR, f"{word} rule on unknown interface {r.nameif}", r.span,
                           "undefined")
        for it in named:
            assert it.nameif is not None
            mine = [r for r in self.icmp[fam] if r.nameif == it.nameif]
            cond = iface_match(it)
            dst = _own([it])
            if not mine:
                why = f"no {word} rule for {it.nameif}: all ICMP to its addresses accepted"
                rules.append(Rule(Action.PERMIT, _on(C.build_matches(
                    C.ANY, dst, [C.icmp_svc(fam, None, None)]), cond), it.span,
                    name=why, synthetic=True, detail=why))
                continue
            rules.extend(Rule(r.action, _on(C.build_matches(
                r.src, dst, [C.icmp_svc(fam, r.itype, r.icode)]), cond), r.span,
                name=f"{word} {it.nameif}:{r.span.line}") for r in mine)
            why = f"implicit deny after the {word} rules of {it.nameif}"
            rules.append(Rule(Action.DENY, (Match(family=fam, protocols=R.single(
                1 if fam == 4 else 58), in_iface=(cond,)),), mine[-1].span, name=why,
                synthetic=True, detail=why))
        return rules


def _own(its: list[_Iface]) -> C.Addr:
    """The addresses of the interfaces ``its`` (any address when none is known)."""
    addrs = [a.ip for it in its for a in it.addresses]
    if not addrs:
        return C.ANY
    return C.Addr(R.normalize((int(a), int(a)) for a in addrs if a.version == 4),
                  R.normalize((int(a), int(a)) for a in addrs if a.version == 6))


def _on(ms: tuple[Match, ...], cond: IfaceMatch) -> tuple[Match, ...]:
    return tuple(replace(m, in_iface=(cond,)) for m in ms)


def _port(word: str) -> bool:
    return word.isdigit() and 0 < int(word) <= 65535


def _tcp(*ports: int) -> tuple[C.Svc, ...]:
    return _ported(6, ports)


def _udp(*ports: int) -> tuple[C.Svc, ...]:
    return _ported(17, ports)


def _ported(proto: int, ports: tuple[int, ...]) -> tuple[C.Svc, ...]:
    svc = C.with_ports(C.proto_svc(proto), None, R.normalize((p, p) for p in ports))
    assert svc is not None
    return (svc,)
