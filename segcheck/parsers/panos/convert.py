"""PAN-OS tree -> vendor-independent ``Device`` (see the package docstring for semantics)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from segcheck.model import ranges as R
from segcheck.model.device import Device, Interface, NatRule, Stage
from segcheck.model.rules import Action, Filter, IfaceContext, IfaceMatch, Match, Rule
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers import fwobjects as F
from segcheck.parsers.panos.objects import Objects, intersect
from segcheck.parsers.panos.tree import PNode

DENY_ACTIONS = frozenset({"deny", "drop", "reset-client", "reset-server", "reset-both"})
RULE_KEYS = frozenset({
    "from", "to", "source", "destination", "service", "application", "action", "disabled",
    "negate-source", "negate-destination", "rule-type", "source-user", "category",
    "source-hip", "destination-hip", "hip-profiles", "schedule", "description", "tag",
    "log-start", "log-end", "log-setting", "profile-setting", "option", "group-tag", "target",
    "uuid", "qos", "icmp-unreachable", "source-imei", "source-imsi", "source-nw-slice",
    "disable-server-response-inspection",
})
QUALIFIERS = ("source-user", "category", "source-hip", "destination-hip", "hip-profiles",
              "schedule")
"""Rule conditions that are not packet headers (users, URL categories, HIP, time)."""
ZONE_NETWORK_KINDS = ("layer3", "layer2", "virtual-wire", "tap", "tunnel")
INTERFACE_KINDS = ("ethernet", "aggregate-ethernet", "vlan", "loopback", "tunnel")
MGMT_SERVICES: dict[str, list[F.Service]] = {
    "https": [F.port_service(6, R.single(443))],
    "http": [F.port_service(6, R.single(80))],
    "ssh": [F.port_service(6, R.single(22))],
    "telnet": [F.port_service(6, R.single(23))],
    "snmp": [F.port_service(17, R.single(161))],
    "ping": [F.icmp_service(4, 8), F.icmp_service(6, 128)],
}
"""Interface management profile services with well-defined ports on the dataplane IP."""
MGMT_UNMODELLED = ("response-pages", "userid-service", "userid-syslog-listener-ssl",
                   "userid-syslog-listener-udp", "http-ocsp")


@dataclass
class Converter:
    path: str
    lines: list[str]
    diagnostics: list[Diagnostic]
    deferred: list[Diagnostic] = field(default_factory=list)
    """Diagnostics from disabled rules (see ``fwobjects.disabled_only``)."""

    def span(self, node: PNode) -> SourceSpan:
        line = node.line
        text = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        return SourceSpan(self.path, line, text)

    def diag(self, level: Level, message: str, node: PNode | None, code: str) -> None:
        self.diagnostics.append(
            Diagnostic(level, message, self.span(node) if node else None, f"panos.{code}"))

    # -- interfaces and zones --------------------------------------------------------------

    def interfaces(self, device: PNode, objects: Objects) -> dict[str, tuple[PNode, list[
            ipaddress.IPv4Interface | ipaddress.IPv6Interface], str | None]]:
        """name -> (node, addresses, management profile name)."""
        out: dict[str, tuple[PNode, list[ipaddress.IPv4Interface | ipaddress.IPv6Interface],
                             str | None]] = {}
        base = device.child("network", "interface")
        if base is None:
            return out
        for kind in INTERFACE_KINDS:
            for node in base.entries(kind):
                if kind in ("ethernet", "aggregate-ethernet"):
                    l3 = node.child("layer3")
                    if l3 is not None:
                        out[node.key] = (node, self._addresses(l3, objects),
                                         _profile(l3))
                        for unit in l3.entries("units"):
                            out[unit.key] = (unit, self._addresses(unit, objects),
                                             _profile(unit))
                    else:
                        out[node.key] = (node, [], None)
                elif node.key == "units":
                    for unit in node.children.values():
                        out[unit.key] = (unit, self._addresses(unit, objects), _profile(unit))
                elif node.key == "ip":
                    out[kind] = (node, self._addresses(base.child(kind) or node, objects),
                                 _profile(base.child(kind) or node))
        return out

    def _addresses(self, node: PNode, objects: Objects
                   ) -> list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]:
        out: list[ipaddress.IPv4Interface | ipaddress.IPv6Interface] = []
        ip_nodes = [node.child("ip"), node.child("ipv6", "address")]
        for ip_node in ip_nodes:
            for entry in ip_node.children.values() if ip_node is not None else []:
                text = entry.key
                obj = objects._find("address", text)
                if obj is not None and obj.child("ip-netmask") is not None:
                    text = (obj.child("ip-netmask") or obj).value()
                try:
                    out.append(ipaddress.ip_interface(text))
                except ValueError:
                    self.diag(Level.WARNING, f"interface address {entry.key!r} not understood",
                              entry, "bad-interface-address")
        return out

    # -- rules -----------------------------------------------------------------------------

    def rule(self, node: PNode, objects: Objects, zones: list[str],
             qualify: str) -> Rule:
        span = self.span(node)
        for key in node.children:
            if key not in RULE_KEYS:
                self.diag(Level.INFO, f"rule {node.key!r}: {key!r} ignored", node.child(key),
                          "ignored-rule-field")
        action_text = (node.child("action") or PNode("", 0)).value("allow")
        if action_text == "allow":
            action = Action.PERMIT
        elif action_text in DENY_ACTIONS:
            action = Action.DENY
        else:
            self.diag(Level.ERROR, f"rule {node.key!r}: unknown action {action_text!r}; "
                      "treated as allow (the sound choice)", node, "unknown-action")
            action = Action.PERMIT
        enabled = (node.child("disabled") or PNode("", 0)).value("no") != "yes"

        def names(key: str) -> list[str]:
            child = node.child(key)
            return child.values() if child is not None else ["any"]

        src, ok_s = objects.address(names("source"), span)
        dst, ok_d = objects.address(names("destination"), span)
        if (node.child("negate-source") or PNode("", 0)).value() == "yes":
            src = src.complement()
        if (node.child("negate-destination") or PNode("", 0)).value() == "yes":
            dst = dst.complement()
        services = self._services(node, objects, span, action)
        from_z = [_qualify(z, qualify) for z in names("from")]
        to_z = [_qualify(z, qualify) for z in names("to")]
        rule_type = (node.child("rule-type") or PNode("", 0)).value("universal")
        any_from = _qualify("any", qualify) in from_z
        any_to = _qualify("any", qualify) in to_z
        in_c = () if any_from else (IfaceMatch(zones=tuple(from_z)),)
        out_c = () if any_to else (IfaceMatch(zones=tuple(to_z)),)
        excludes: tuple[Match, ...] = ()
        if rule_type == "intrazone":
            pairs = zones if any_from else from_z
            matches = tuple(
                m for z in pairs for m in F.matches_for(
                    src, dst, services, (IfaceMatch(zones=(z,)),), (IfaceMatch(zones=(z,)),)))
        else:
            matches = F.matches_for(src, dst, services, in_c, out_c)
            if rule_type == "interzone":
                same = [z for z in (zones if any_from else from_z) if any_to or z in to_z]
                excludes = tuple(
                    Match(in_iface=(IfaceMatch(zones=(z,)),), out_iface=(IfaceMatch(zones=(z,)),))
                    for z in same)
            elif rule_type != "universal":
                self.diag(Level.ERROR, f"rule {node.key!r}: unknown rule-type {rule_type!r}",
                          node, "unknown-rule-type")
        if not (ok_s and ok_d):
            self.diag(Level.ERROR, f"rule {node.key!r}: some addresses did not resolve",
                      node, "unresolved")
        return Rule(action, matches, span, node.key, excludes=excludes, enabled=enabled,
                    detail=action_text if action_text != "allow" else "")

    def _services(self, node: PNode, objects: Objects, span: SourceSpan,
                  action: Action) -> list[F.Service]:
        """Boxes of (application AND service), approximated soundly where App-ID is not a
        box: permits over-approximate (unknown apps match any traffic), denies
        under-approximate (unknown apps match nothing)."""
        svc_node = node.child("service")
        svc_names = svc_node.values() if svc_node is not None else ["any"]
        app_node = node.child("application")
        apps, unknown, ok_a = objects.application(
            app_node.values() if app_node is not None else ["any"], span)
        for q in QUALIFIERS:
            qn = node.child(q)
            if qn is not None and qn.values() not in ([], ["any"]):
                self.diag(Level.WARNING, f"rule {node.key!r}: {q} {', '.join(qn.values())} "
                          "is not a packet header; "
                          + ("ignored (permit over-approximated)" if action is Action.PERMIT
                             else "rule treated as matching nothing (deny under-approximated)"),
                          qn, "non-header-condition")
                if action is Action.DENY:
                    return []
        if unknown:
            self.diag(Level.WARNING, f"rule {node.key!r}: application(s) {', '.join(unknown)} "
                      "are App-ID signatures, not ports; "
                      + ("matched as any traffic (permit over-approximated)"
                         if action is Action.PERMIT else
                         "matched as no traffic (deny under-approximated)"),
                      app_node, "app-id-approximated")
            if action is Action.PERMIT:
                apps = [F.ANY_SERVICE]
        if "application-default" in svc_names:
            if unknown or apps == [F.ANY_SERVICE]:
                self.diag(Level.INFO, f"rule {node.key!r}: service application-default "
                          "modelled as any port (App-ID default ports are not modelled)",
                          svc_node, "application-default")
            svcs = [F.ANY_SERVICE]
        elif "any" in svc_names:
            svcs = [F.ANY_SERVICE]
        else:
            svcs, ok = objects.service(svc_names, span)
            if not ok:
                self.diag(Level.ERROR, f"rule {node.key!r}: some services did not resolve",
                          svc_node, "unresolved")
        if not ok_a:
            self.diag(Level.ERROR, f"rule {node.key!r}: some applications did not resolve",
                      app_node, "unresolved")
        out: list[F.Service] = []
        for a in apps:
            for s in svcs:
                both = intersect(a, s)
                if both is not None and both not in out:
                    out.append(both)
        return out

    def security_filter(self, name: str, rulebases: list[PNode], objects: Objects,
                        zones: list[str], qualify: str, defaults: PNode | None,
                        anchor: PNode) -> Filter:
        rules: list[Rule] = [Rule(Action.PERMIT, (F.stateful_return_match(),),
                                  self.span(anchor), "stateful-return", synthetic=True,
                                  detail="packets of permitted sessions")]
        for base in rulebases:
            for r in base.entries("security", "rules"):
                if (r.child("disabled") or PNode("", 0)).value() == "yes":
                    sub = Converter(self.path, self.lines, [])
                    rules.append(sub.rule(r, objects.fresh(sub.diagnostics), zones, qualify))
                    self.deferred.extend(sub.diagnostics)
                else:
                    rules.append(self.rule(r, objects, zones, qualify))
        intra = defaults.child("rules", "intrazone-default") if defaults else None
        inter = defaults.child("rules", "interzone-default") if defaults else None
        intra_action = (intra.child("action") if intra else None)
        inter_action = (inter.child("action") if inter else None)
        intra_allow = (intra_action.value() if intra_action else "allow") == "allow"
        inter_allow = (inter_action.value() if inter_action else "deny") == "allow"
        rules.append(Rule(
            Action.PERMIT if intra_allow else Action.DENY,
            tuple(Match(in_iface=(IfaceMatch(zones=(z,)),), out_iface=(IfaceMatch(zones=(z,)),))
                  for z in zones),
            self.span(intra or anchor), "intrazone-default", synthetic=True,
            detail="predefined: traffic within one zone"))
        rules.append(Rule(
            Action.PERMIT if inter_allow else Action.DENY, (Match(),),
            self.span(inter or anchor), "interzone-default", synthetic=True,
            detail="predefined: traffic between zones"))
        return Filter(name, tuple(rules), Action.DENY, self.span(anchor),
                      notes=("PAN-OS: first match; intrazone-default allow and "
                             "interzone-default deny are explicit synthetic rules",))

    def nat(self, bases: list[PNode]) -> list[NatRule]:
        out: list[NatRule] = []
        for base in bases:
            for r in base.entries("nat", "rules"):
                span = self.span(r)
                dnat = r.child("destination-translation") or r.child(
                    "dynamic-destination-translation")
                if dnat is not None:
                    out.append(NatRule("dnat", span, f"destination NAT rule {r.key!r}"))
                    self.diag(Level.UNSUPPORTED, f"NAT rule {r.key!r} translates destinations: "
                              "reachability of the translated hosts is not modelled "
                              "(security rules match the pre-NAT address)", r, "dnat")
                if r.child("source-translation") is not None:
                    out.append(NatRule("snat", span, f"source NAT rule {r.key!r}"))
                bidir = r.child("source-translation", "static-ip", "bi-directional")
                if bidir is not None and bidir.value() == "yes":
                    out.append(NatRule("static", span, f"bi-directional static NAT {r.key!r}"))
                    self.diag(Level.UNSUPPORTED, f"NAT rule {r.key!r} is bi-directional: the "
                              "reverse direction translates destinations; not modelled", r,
                              "dnat")
        return out


def _profile(node: PNode) -> str | None:
    p = node.child("interface-management-profile")
    return p.value() if p is not None and p.value() else None


def _qualify(zone: str, prefix: str) -> str:
    return f"{prefix}{zone}" if prefix and zone != "any" else (
        f"{prefix}any" if prefix else zone)


def management_filter(conv: Converter, device: PNode, ifaces: dict[str, tuple[
        PNode, list[ipaddress.IPv4Interface | ipaddress.IPv6Interface], str | None]],
        anchor: PNode) -> tuple[Filter | None, dict[str, F.AddrSet | None]]:
    """Interface management profiles as a local (to-the-device) filter, default deny.

    The profile that counts is the one of the interface *owning the destination address*
    (whatever interface the packet enters by); the security policy towards that
    interface's zone is checked separately (``to_device_filter``). Also returns the
    profiled interfaces and their addresses (``None``: no address configured = any).
    """
    profiles = device.child("network", "profiles", "interface-management-profile")
    rules: list[Rule] = []
    owners: dict[str, F.AddrSet | None] = {}
    for ifname, (node, addrs, pname) in ifaces.items():
        if pname is None:
            continue
        prof = profiles.child(pname) if profiles is not None else None
        if prof is None:
            conv.diag(Level.ERROR, f"interface {ifname}: undefined management profile {pname!r}",
                      node, "undefined-object")
            continue
        services: list[F.Service] = []
        for key, svcs in MGMT_SERVICES.items():
            if (prof.child(key) or PNode("", 0)).value() == "yes":
                services.extend(svcs)
        for key in MGMT_UNMODELLED:
            if (prof.child(key) or PNode("", 0)).value() == "yes":
                conv.diag(Level.UNSUPPORTED, f"management profile {pname!r}: {key} "
                          "is not modelled", prof.child(key), "mgmt-unmodelled")
        if not services:
            continue
        permitted = prof.child("permitted-ip")
        src = None
        if permitted is not None and permitted.values():
            src = F.addr_union(F.parse_network(v) or F.NO_ADDR for v in permitted.values())
        dst = F.addr_union(F.parse_network(str(a.ip)) or F.NO_ADDR for a in addrs) \
            if addrs else None
        owners[ifname] = dst
        rules.append(Rule(
            Action.PERMIT, F.matches_for(src, dst, services), conv.span(node),
            f"management profile {pname} on {ifname}", synthetic=True,
            extra_spans=(conv.span(prof),)))
    if not rules and not ifaces:
        return None, owners
    return Filter("management", tuple(rules), Action.DENY, conv.span(anchor),
                  notes=("dataplane interfaces answer only what the management profile of "
                         "the addressed interface enables",)), owners


def to_device_filter(security: Filter, owners: dict[str, F.AddrSet | None],
                     interfaces: dict[str, Interface], anchor: SourceSpan) -> Filter:
    """The security rulebase as seen by packets to the firewall's own profiled addresses:
    for each such interface, every rule with its egress condition decided for that
    interface (and its zone) and its destination narrowed to the interface's addresses.
    Blocks for different interfaces do not overlap (distinct addresses), so first match
    within each block is the rulebase's own."""
    out: list[Rule] = []
    for ifname, dst in owners.items():
        ctx = IfaceContext(ifname, interfaces[ifname].zone if ifname in interfaces else None)
        out.extend(F.rules_towards(security.rules, ctx, dst, f"to {ifname}"))
    return Filter("security-to-device", tuple(out), Action.DENY, anchor,
                  notes=("security policy for traffic to the firewall's own addresses",))


def _dg_ancestry(conv: Converter, config: PNode, dg: PNode, by_name: dict[str, PNode]
                 ) -> list[PNode]:
    """``dg`` and its parent device groups, nearest first (Panorama keeps the hierarchy in
    ``readonly/devices/<dev>/device-group/<dg>/parent-dg``). Parents' pre-rules come before
    a child's, their post-rules after; their objects are visible to the child."""
    readonly = config.child("readonly", "devices")
    ro_dev = next(iter(readonly.children.values()), None) if readonly is not None else None
    chain = [dg]
    while True:
        parent = ro_dev.child("device-group", chain[-1].key, "parent-dg") \
            if ro_dev is not None else None
        name = parent.value() if parent is not None else ""
        if not name or name == "shared":
            return chain
        if name not in by_name or by_name[name] in chain:
            conv.diag(Level.ERROR, f"device group {chain[-1].key!r}: parent {name!r} "
                      + ("is undefined" if name not in by_name else "forms a cycle"),
                      parent, "device-group-parent")
            return chain
        chain.append(by_name[name])


def build_device(conv: Converter, config: PNode, pushed: PNode | None, name: str | None
                 ) -> Device:
    devices = config.child("devices")
    device = next(iter(devices.children.values()), None) if devices is not None else None
    device = device or PNode("localhost.localdomain", 1)
    shared = config.child("shared") or PNode("shared", 1)
    hostname = device.child("deviceconfig", "system", "hostname")
    dev_name = name or (hostname.value() if hostname is not None else device.key)
    vsys_nodes = device.entries("vsys")
    dgs = device.entries("device-group")
    filters: dict[str, Filter] = {}
    forward: list[Stage] = []
    interfaces: dict[str, Interface] = {}
    nat: list[NatRule] = []
    pushed_scope = [pushed] if pushed is not None else []
    all_ifaces = conv.interfaces(device, Objects([*(vsys_nodes[:1]), shared], conv.span,
                                                 conv.diagnostics))
    if not vsys_nodes and not dgs:
        vsys_nodes = [PNode("vsys1", 1)]
    multi = len(vsys_nodes) > 1
    for vsys in vsys_nodes:
        objects = Objects([vsys, *pushed_scope, shared], conv.span, conv.diagnostics)
        prefix = f"{vsys.key}:" if multi else ""
        zones: list[str] = []
        member_ifaces: list[str] = []
        for z in vsys.entries("zone"):
            qz = prefix + z.key
            zones.append(qz)
            net = z.child("network")
            for kind in ZONE_NETWORK_KINDS:
                kn = net.child(kind) if net is not None else None
                if kn is None:
                    continue
                for ifname in kn.values():
                    member_ifaces.append(ifname)
                    inode, addrs, _ = all_ifaces.get(ifname, (kn, [], None))
                    interfaces[ifname] = Interface(ifname, qz, tuple(addrs), conv.span(inode))
        defined = set(zones)
        for base in (vsys.child("rulebase"), shared.child("pre-rulebase"),
                     shared.child("post-rulebase")):
            for r in base.entries("security", "rules") if base is not None else []:
                for k in ("from", "to"):
                    for zname in (r.child(k) or PNode("", 0)).values():
                        if zname != "any" and prefix + zname not in defined:
                            defined.add(prefix + zname)
                            zones.append(prefix + zname)
                            conv.diag(Level.WARNING, f"rule {r.key!r}: zone {zname!r} is not "
                                      "defined (no interface is in it)", r.child(k),
                                      "undefined-zone")
        imported = vsys.child("import", "network", "interface")
        member_ifaces.extend(imported.values() if imported is not None else [])
        rulebases = [b for b in (
            shared.child("pre-rulebase"), pushed.child("pre-rulebase") if pushed else None,
            vsys.child("rulebase"),
            pushed.child("post-rulebase") if pushed else None, shared.child("post-rulebase"),
        ) if b is not None]
        defaults = vsys.child("rulebase", "default-security-rules")
        fname = f"{vsys.key}/security" if multi else "security"
        filters[fname] = conv.security_filter(
            fname, rulebases, objects, zones, prefix, defaults, vsys.child("rulebase") or vsys)
        ingress = IfaceMatch(names=tuple(sorted(set(member_ifaces))), zones=tuple(zones)) \
            if multi else None
        forward.append(Stage(fname, ingress=ingress))
        nat.extend(conv.nat([b for b in rulebases if b is not None]))
    by_name = {dg.key: dg for dg in dgs}
    for dg in dgs:
        chain = _dg_ancestry(conv, config, dg, by_name)  # dg first, then its parents
        objects = Objects([*chain, *pushed_scope, shared], conv.span, conv.diagnostics)
        bases = [b for b in (
            shared.child("pre-rulebase"),
            *(d.child("pre-rulebase") for d in reversed(chain)),
            *(d.child("post-rulebase") for d in chain),
            shared.child("post-rulebase"),
        ) if b is not None]
        zones = sorted({z for b in bases for r in b.entries("security", "rules")
                        for k in ("from", "to") for z in (r.child(k) or PNode("", 0)).values()
                        if z != "any"})
        fname = f"{dg.key}/security"
        filters[fname] = conv.security_filter(fname, bases, objects, zones, "", None, dg)
        nat.extend(conv.nat(bases))
    if dgs:
        conv.diag(Level.WARNING, "Panorama configuration: one filter per device group "
                  "(pre-rules, post-rules, predefined defaults); no forwarding stages for them",
                  dgs[0], "panorama")
    for ifname, (inode, addrs, _) in all_ifaces.items():
        if ifname not in interfaces:
            interfaces[ifname] = Interface(ifname, None, tuple(addrs), conv.span(inode))
    local: list[Stage] = []
    mgmt, owners = management_filter(conv, device, all_ifaces, device)
    if mgmt is not None:
        filters[mgmt.name] = mgmt
        local.append(Stage(mgmt.name))
        security = [f for name, f in filters.items() if name.endswith("security")]
        if len(security) == 1 and owners:
            to_dev = to_device_filter(security[0], owners, interfaces, conv.span(device))
            filters[to_dev.name] = to_dev
            local.append(Stage(to_dev.name))
        elif owners:
            conv.diag(Level.WARNING, "several security rulebases: the policy check for "
                      "traffic to the firewall itself is not modelled (management profiles "
                      "only; over-approximated)", device, "mgmt-multi-vsys")
    diagnostics = [*conv.diagnostics, *F.disabled_only(conv.deferred, conv.diagnostics)]
    return Device(dev_name, "panos", conv.path, filters, tuple(forward), tuple(local),
                  interfaces, tuple(nat), tuple(diagnostics))
