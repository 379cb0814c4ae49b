"""Cisco ASA objects, names and access-list entries -> model matches and rules.

The part of the ASA reader that resolves what an ACL entry names: ``name`` aliases,
``object network|service``, ``object-group network|service|protocol|icmp-type`` (nested via
``group-object``; cycles and undefined names are ERROR diagnostics and match nothing), port
groups, the ASA predefined service objects (``icmp-<type>``, protocol names), and extended or
standard entries lowered to ``Match`` boxes (``acl_rules``). ``AsaObjects`` holds the tables
the command reader (``cisco_asa._Parser``, which extends it) fills in; the management-plane
reader (``_asa_mgmt``) resolves its address arguments here too.

Invariants: every lookup either returns what the name denotes or reports a diagnostic at the
line that used the name (never silently an empty or universal set); results of named objects
are cached per parse, so a name used a thousand times is resolved (and reported) once.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from segcheck.model import ranges as R
from segcheck.model.rules import Action, IfaceMatch, Match, Rule
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers import _cisco as C

VENDOR = "cisco-asa"

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


class AsaObjects:
    """Object tables of one configuration and their resolution (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.diags: list[Diagnostic] = []
        self.ifaces: list[_Iface] = []
        self.names: dict[str, str] = {}
        self.objects: dict[str, _Node] = {}
        self.object_kind: dict[str, str] = {}
        self.groups: dict[str, _Node] = {}
        self.group_kind: dict[str, str] = {}
        self.acls: dict[str, list[tuple[SourceSpan, list[str]]]] = {}
        self.acl_kind: dict[str, str] = {}
        self._addr_cache: dict[str, C.Addr] = {}
        self._svc_cache: dict[str, list[C.Svc]] = {}

    def span(self, n: _Node) -> SourceSpan:
        return SourceSpan(self.path, n.no, n.text)

    def diag(self, level: Level, msg: str, sp: SourceSpan | None, code: str) -> None:
        self.diags.append(Diagnostic(level, msg, sp, f"{VENDOR}.{code}"))

    # ------------------------------------------------------------------ objects
    def resolve_ip(self, s: str) -> str:
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
                got = _host(self.resolve_ip(w[1]))
            elif w[0] == "subnet" and len(w) == 3:
                net = C.netmask_network(self.resolve_ip(w[1]), w[2])
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
            a = _host(self.resolve_ip(nxt))
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
        ip = self.resolve_ip(tok)
        if nxt and _is_v4(ip) and _is_v4(self.resolve_ip(nxt)):
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
            tc = icmp_words(w[1:], fam)
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
        return C.protos_with_ports(protos, sports, dports)

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
                tc = icmp_words(w[1:], 4)
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
                tc = icmp_words(w[i:], fam)
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

    def _is_port_group(self, w: list[str], i: int) -> bool:
        return (w[i] == "object-group" and i + 1 < len(w)
                and self.group_kind.get(w[i + 1], "").startswith("port:"))

    def _port_spec(self, w: list[str], i: int, sp: SourceSpan) -> tuple[R.Ranges, int] | None:
        if w[i] == "object-group":
            return self.port_group(w[i + 1], sp), i + 2
        return _ports(w, i)


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


def icmp_words(w: list[str], fam: int) -> tuple[int | None, int | None, int] | None:
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


def iface_match(*its: _Iface) -> IfaceMatch:
    """An interface condition naming ``its`` by nameif, physical name and vendor zone."""
    return IfaceMatch(names=tuple(n for it in its for n in (it.nameif or "", it.phys) if n),
                      zones=tuple(it.nameif for it in its if it.nameif))
