"""PAN-OS objects: addresses, address groups, services, service groups, applications.

Lookup follows the device: a name is searched in the vsys (or device-group), then in
Panorama-pushed objects, then in ``shared``; the first scope that defines it wins. Literal
addresses (``10.0.0.0/8``, ``10.0.0.1-10.0.0.9``) may appear wherever an object name may.

Exactness: ``ip-netmask``, ``ip-range``, ``ip-wildcard`` and static groups are exact. FQDN
objects, dynamic address groups, external dynamic lists and regions depend on run-time data:
they contribute no addresses and raise an ``unsupported`` diagnostic (the result is
incomplete). Applications are App-ID signatures, not ports: only protocol-defined ones
(``icmp``, ``ipv6-icmp``, ``gre``, ``igmp``, ``sctp``, ``ipsec-esp``, ``ipsec-ah``) and custom
applications whose default identification is ``ident-by-icmp-type``/``ident-by-icmp6-type``/
``ident-by-ip-protocol``/``port`` are modelled exactly; any other application is reported
as approximated (``app_boxes`` returns ``None`` for it) and the rule converter decides how
to approximate soundly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from segcheck.model import ranges as R
from segcheck.model.packet import ICMP, ICMPV6, protocol_number
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers import fwobjects as F
from segcheck.parsers.panos.tree import PNode

PREDEFINED_SERVICES: dict[str, list[F.Service]] = {
    "service-http": [F.port_service(6, R.normalize([(80, 80), (8080, 8080)]))],
    "service-https": [F.port_service(6, R.single(443))],
}

PROTOCOL_APPS: dict[str, F.Service] = {
    "icmp": F.Service(R.single(ICMP), family=4),
    "ipv6-icmp": F.Service(R.single(ICMPV6), family=6),
    "gre": F.Service(R.single(47)),
    "igmp": F.Service(R.single(2)),
    "sctp": F.Service(R.single(132)),
    "ipsec-esp": F.Service(R.single(50)),
    "ipsec-ah": F.Service(R.single(51)),
}
"""App-IDs that are defined by the IP protocol alone (no signature): modelled exactly."""


class Objects:
    """Resolves names against an ordered list of scopes (vsys, pushed, shared)."""

    def __init__(self, scopes: Sequence[PNode], span: Callable[[PNode], SourceSpan],
                 diagnostics: list[Diagnostic]) -> None:
        self.scopes = scopes
        self.span = span
        self.diagnostics = diagnostics
        self._reported: set[str] = set()
        self.addresses = F.GroupResolver("address", "panos", self._addr_members,
                                         self._addr_leaf, diagnostics)
        self.services = F.GroupResolver("service", "panos", self._svc_members,
                                        self._svc_leaf, diagnostics)
        self.apps = F.GroupResolver("application", "panos", self._app_members,
                                    self._app_leaf, diagnostics)

    def fresh(self, diagnostics: list[Diagnostic]) -> Objects:
        """The same scopes with separate diagnostics and de-duplication state."""
        return Objects(self.scopes, self.span, diagnostics)

    def _find(self, kind: str, name: str) -> PNode | None:
        for scope in self.scopes:
            node = scope.child(kind, name)
            if node is not None:
                return node
        return None

    def _once(self, level: Level, key: str, message: str, node: PNode, code: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self.diagnostics.append(Diagnostic(level, message, self.span(node), code))

    # -- addresses -------------------------------------------------------------------------

    def _addr_members(self, name: str) -> list[str] | None:
        if self._find("address", name) is not None:
            return None
        group = self._find("address-group", name)
        if group is None:
            return None
        static = group.child("static")
        if static is not None:
            return static.values()
        if group.child("dynamic") is not None:
            self._once(Level.UNSUPPORTED, f"dag:{name}",
                       f"dynamic address group {name!r} depends on run-time tags; "
                       "it matches no address here", group, "panos.dynamic-address-group")
        return []

    def _addr_leaf(self, name: str) -> F.AddrSet | None:
        if name == "any":
            return F.ANY_ADDR
        node = self._find("address", name)
        if node is None:
            literal = _literal_address(name)
            if literal is None and self._find("external-list", name) is not None:
                self._once(Level.UNSUPPORTED, f"edl:{name}",
                           f"external dynamic list {name!r} is fetched at run time; "
                           "it matches no address here", self._find("external-list", name)
                           or PNode(name, 0), "panos.external-list")
                return F.NO_ADDR
            return literal
        for kind in ("ip-netmask", "ip-range", "ip-wildcard", "fqdn"):
            value_node = node.child(kind)
            if value_node is None:
                continue
            value = value_node.value()
            if kind == "ip-netmask":
                got = F.parse_network(value)
            elif kind == "ip-range":
                first, _, last = value.partition("-")
                got = F.parse_range(first, last)
            elif kind == "ip-wildcard":
                addr, _, mask = value.partition("/")
                got = F.parse_wildcard(addr, mask)
            else:
                self._once(Level.UNSUPPORTED, f"fqdn:{name}",
                           f"FQDN address {name!r} ({value}) is resolved by DNS at run time; "
                           "it matches no address here", node, "panos.fqdn")
                return F.NO_ADDR
            if got is None:
                self._once(Level.ERROR, f"bad:{name}", f"bad {kind} {value!r} in address {name!r}",
                           node, "panos.bad-address")
                return F.NO_ADDR
            return got
        self._once(Level.ERROR, f"empty:{name}", f"address {name!r} has no value", node,
                   "panos.bad-address")
        return F.NO_ADDR

    def address(self, names: Sequence[str], span: SourceSpan) -> tuple[F.AddrSet, bool]:
        """Union of the named addresses, and whether every name resolved."""
        if not names or "any" in names:
            return F.ANY_ADDR, True
        out: list[F.AddrSet] = []
        ok = True
        for n in names:
            values, good = self.addresses.expand(n, span)
            ok = ok and good
            out.extend(v for v in values if isinstance(v, F.AddrSet))
        return F.addr_union(out), ok

    # -- services --------------------------------------------------------------------------

    def _svc_members(self, name: str) -> list[str] | None:
        if self._find("service", name) is not None:
            return None
        group = self._find("service-group", name)
        if group is None:
            return None
        members = group.child("members")
        return members.values() if members is not None else group.values()

    def _svc_leaf(self, name: str) -> list[F.Service] | None:
        node = self._find("service", name)
        if node is None:
            return PREDEFINED_SERVICES.get(name)
        proto = node.child("protocol")
        out: list[F.Service] = []
        for pname, pnode in (proto.children.items() if proto is not None else []):
            number = protocol_number(pname)
            if number not in (6, 17, 132):
                self._once(Level.ERROR, f"svcproto:{name}",
                           f"service {name!r}: unknown protocol {pname!r}", node,
                           "panos.bad-service")
                continue
            dports = _ports(pnode.child("port"))
            sports = _ports(pnode.child("source-port"))
            if dports is None or sports is None:
                self._once(Level.ERROR, f"svcport:{name}", f"service {name!r}: bad port list",
                           node, "panos.bad-service")
                continue
            out.append(F.port_service(number, dports or None, sports or None))
        if not out and not self._reported_key(f"svcproto:{name}"):
            self._once(Level.ERROR, f"svcempty:{name}", f"service {name!r} has no protocol",
                       node, "panos.bad-service")
        return out

    def _reported_key(self, key: str) -> bool:
        return key in self._reported

    def service(self, names: Sequence[str], span: SourceSpan) -> tuple[list[F.Service], bool]:
        out: list[F.Service] = []
        ok = True
        for n in names:
            values, good = self.services.expand(n, span)
            ok = ok and good
            for v in values:
                if isinstance(v, list):
                    out.extend(v)
        return out, ok

    # -- applications ----------------------------------------------------------------------

    def _app_members(self, name: str) -> list[str] | None:
        if self._find("application", name) is not None:
            return None
        group = self._find("application-group", name)
        if group is None:
            return None
        members = group.child("members")
        return members.values() if members is not None else group.values()

    def _app_leaf(self, name: str) -> tuple[str, list[F.Service] | None]:
        """(name, exact boxes or None when the App-ID cannot be expressed as boxes)."""
        if name in PROTOCOL_APPS:
            return name, [PROTOCOL_APPS[name]]
        node = self._find("application", name)
        if node is None:
            return name, None
        default = node.child("default")
        if default is None:
            return name, None
        out: list[F.Service] = []
        for kind, fam in (("ident-by-icmp-type", 4), ("ident-by-icmp6-type", 6)):
            ident = default.child(kind)
            if ident is not None:
                t = ident.child("type")
                c = ident.child("code")
                if t is None or not t.value().isdigit():
                    return name, [F.icmp_service(fam)]
                if int(t.value()) > 255 or (c is not None and c.value().isdigit()
                                            and int(c.value()) > 255):
                    return name, None
                code = int(c.value()) if c is not None and c.value().isdigit() else None
                out.append(F.icmp_service(fam, int(t.value()), code))
        ipproto = default.child("ident-by-ip-protocol")
        if ipproto is not None and ipproto.value().isdigit() and int(ipproto.value()) <= 255:
            out.append(F.Service(R.single(int(ipproto.value()))))
        port = default.child("port")
        for spec in port.values() if port is not None else []:
            pname, _, plist = spec.partition("/")
            number = protocol_number(pname)
            ports = F.parse_ports(plist) if plist not in ("", "dynamic") else None
            if number in (6, 17) and (ports is not None or plist in ("", "dynamic")):
                out.append(F.port_service(number, ports))
            else:
                return name, None
        return name, (out or None)

    def application(self, names: Sequence[str], span: SourceSpan
                    ) -> tuple[list[F.Service], list[str], bool]:
        """Exact boxes of the modelled applications, the names that are not modelled, and
        whether every name resolved. ``any`` gives ``[ANY_SERVICE]``."""
        if not names or "any" in names:
            return [F.ANY_SERVICE], [], True
        boxes: list[F.Service] = []
        unknown: list[str] = []
        ok = True
        for n in names:
            values, good = self.apps.expand(n, span)
            ok = ok and good
            for v in values:
                if isinstance(v, tuple):
                    app, got = v
                    if got is None:
                        unknown.append(app)
                    else:
                        boxes.extend(got)
        return boxes, unknown, ok


def _literal_address(name: str) -> F.AddrSet | None:
    if "-" in name and not name.startswith("-"):
        first, _, last = name.partition("-")
        got = F.parse_range(first, last)
        if got is not None:
            return got
    return F.parse_network(name)


def _ports(node: PNode | None) -> R.Ranges | None:
    """Port list of a service node; ``()`` when absent; None when malformed."""
    if node is None:
        return ()
    return F.parse_ports(",".join(node.values()))


def intersect(a: F.Service, b: F.Service) -> F.Service | None:
    """The service box matching both, or None when they are disjoint."""
    if a.family is not None and b.family is not None and a.family != b.family:
        return None

    def meet(x: R.Ranges | None, y: R.Ranges | None) -> R.Ranges | None:
        if x is None:
            return y
        if y is None:
            return x
        return R.intersect(x, y)

    out = F.Service(
        meet(a.protocols, b.protocols), meet(a.sports, b.sports), meet(a.dports, b.dports),
        meet(a.icmp_types, b.icmp_types), meet(a.icmp_codes, b.icmp_codes),
        a.family if a.family is not None else b.family,
    )
    fields = (out.protocols, out.sports, out.dports, out.icmp_types, out.icmp_codes)
    if any(f == () for f in fields):
        return None
    if (out.icmp_types is not None or out.icmp_codes is not None) and (
        out.family is None or out.protocols != R.single(ICMP if out.family == 4 else ICMPV6)
    ):
        return None
    return out
