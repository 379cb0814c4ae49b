"""Loading a policy file (``policies/<site>.yaml``, format ``segcheck: 1``) into a ``Policy``.

Structural problems are ``PolicyError``s with ``path:line:col`` (YAML syntax, unknown keys,
wrong types, bad CIDRs/addresses/dates, dangling references, unsupported version). Semantic
problems that still leave a well-defined model (duplicate ids, overlapping zones, SL-T gaps,
expired exceptions, ...) are *lint* (``segcheck.policy.lint``), so one run reports them all.

Reference resolution: a flow endpoint names a zone or an asset (zone ids are looked up
first; an id used for both is a lint error). Services, zones and conduits named anywhere
(flows, ``between``, ``global_rules``) must exist.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from pathlib import Path
from typing import Any, cast

import yaml

from segcheck.errors import PolicyError
from segcheck.model import ranges as R
from segcheck.model.packet import ICMP, ICMPV6, PORT_PROTOCOLS, PROTOCOL_NUMBERS
from segcheck.parsers.registry import VENDORS
from segcheck.policy.model import (
    CONTROLS,
    FORMAT_VERSION,
    FOUNDATIONAL_REQUIREMENTS,
    INTERNET_NETWORKS,
    INTERNET_ZONE,
    OPERATIONS,
    SEGMENTATIONS,
    ZONE_KINDS,
    Asset,
    Conduit,
    ConduitFlow,
    DeclaredDevice,
    DmzTermination,
    Endpoint,
    GlobalRules,
    InternetEgress,
    IPAddress,
    IPNetwork,
    ManagementPlane,
    Policy,
    PolicyException,
    RemoteAccess,
    SafetyZones,
    Service,
    SLTarget,
    Zone,
)
from segcheck.policy.yamlnodes import Doc, suggest

FINDING_CODE = re.compile(r"^SC-[A-Z0-9]+(?:-[A-Z0-9]+)*$")
"""Shape of a finding code an exception may name (BRIEF.md §4 ``SC-*``)."""

POLICY_KEYS = (
    "segcheck", "suc", "attack_version", "description", "services", "zones", "devices",
    "conduits", "global_rules", "exceptions",
)
ZONE_KEYS = (
    "id", "name", "kind", "purdue_level", "sl_t", "safety", "segmentation", "cidrs", "assets",
    "owner", "description",
)
ASSET_KEYS = ("ip", "ips", "cidrs", "role", "controls", "safety", "description")
SERVICE_EXTRA_KEYS = ("app", "description")
SERVICE_PROTOCOLS = tuple(sorted(PROTOCOL_NUMBERS))
"""Protocol names a service may use as keys (``tcp: [443]``)."""
CONDUIT_KEYS = (
    "id", "name", "between", "flows", "sl_t", "controls_required", "compensating",
    "enforced_by", "justification", "owner", "approved_by", "ticket", "expires", "description",
)
FLOW_KEYS = ("from", "to", "service", "operations", "controls", "bidirectional", "description")
GLOBAL_KEYS = (
    "default_action", "dmz_termination", "disjoint_protocols_across",
    "no_any_in_cross_zone_rules", "max_port_span", "internet_egress", "safety_zones",
    "remote_access", "management_plane", "ipv6_parity", "conduit_sl_ge_zone_sl",
    "max_exception_days",
)
EXCEPTION_KEYS = (
    "id", "finding", "object", "justification", "compensating", "owner", "approved_by",
    "created", "expires",
)
DEVICE_KEYS = ("id", "vendor", "interfaces", "management")
MANAGEMENT_KEYS = ("ip", "ips")


def load_policy(path: str | Path) -> Policy:
    """Read, check and resolve a policy file (``PolicyError`` with a span on bad input)."""
    doc, root = Doc.load(path)
    if root is None:
        raise PolicyError("empty policy file", doc.mark_span(0, 0))
    try:
        return _PolicyReader(doc).policy(root)
    except RecursionError:
        raise PolicyError("structure nested too deeply (recursive YAML alias?)",
                          doc.span(root)) from None


def check_version(doc: Doc, root: yaml.Node, keys: dict[str, tuple[yaml.Node, yaml.Node]]) -> None:
    """``segcheck: 1`` must be present and supported."""
    if "segcheck" not in keys:
        raise doc.error(root, f"missing format version: add 'segcheck: {FORMAT_VERSION}'")
    vnode = keys["segcheck"][1]
    version = doc.int_(vnode, "segcheck (format version)")
    if version != FORMAT_VERSION:
        raise doc.error(
            vnode, f"unsupported format version {version} (this segcheck reads {FORMAT_VERSION})"
        )


def management_addresses(doc: Doc, node: yaml.Node) -> tuple[IPAddress, ...]:
    """``management``: an address, a list of addresses, or ``{ip: A}`` / ``{ips: [A, ...]}``."""
    if isinstance(node, yaml.MappingNode):
        keys = doc.mapping(node, "management", MANAGEMENT_KEYS)
        nodes = [keys["ip"][1]] if "ip" in keys else []
        if "ips" in keys:
            nodes += doc.seq(keys["ips"][1], "management ips")
        if not nodes:
            raise doc.error(node, "management needs 'ip' or 'ips'")
    else:
        nodes = doc.seq(node, "management", scalar_ok=True)
    return tuple(doc.address(n, "management address") for n in nodes)


def interfaces_map(
    doc: Doc, node: yaml.Node, zone_ids: list[str], what: str
) -> dict[str, str]:
    """``interfaces``: export interface name -> zone id (every zone must exist)."""
    out: dict[str, str] = {}
    for knode, iface, vnode in doc.items(node, f"{what} interfaces"):
        if knode.tag != "tag:yaml.org,2002:str":
            raise doc.error(knode, f"interface name must be a string (quote it: \"{iface}\")")
        zone = doc.str_(vnode, f"zone of interface {iface!r}")
        if zone not in zone_ids:
            raise doc.error(vnode, f"unknown zone {zone!r}{suggest(zone, zone_ids)}")
        out[iface] = zone
    return out


class _PolicyReader:
    """One pass over a composed policy document, building the model top-down."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.zone_ids: list[str] = []
        self.asset_ids: list[str] = []
        self.service_names: list[str] = []
        self.conduit_ids: list[str] = []
        self.partial: Policy | None = None

    def policy(self, root: yaml.Node) -> Policy:
        doc = self.doc
        keys = doc.mapping(root, "the policy", POLICY_KEYS)
        check_version(doc, root, keys)
        if "zones" not in keys:
            raise doc.error(root, "the policy is missing required key 'zones'")
        suc = doc.str_(keys["suc"][1], "suc") if "suc" in keys else None
        attack = (
            doc.str_(keys["attack_version"][1], "attack_version")
            if "attack_version" in keys else None
        )
        services = self.services(keys["services"][1]) if "services" in keys else {}
        self.service_names = list(services)
        zones = self.zones(keys["zones"][1])
        if INTERNET_ZONE not in self.zone_ids:
            zones.append(
                Zone(id=INTERNET_ZONE, kind="external", name="Internet", purdue_levels=(5.0,),
                     networks=INTERNET_NETWORKS, implicit=True)
            )
            self.zone_ids.append(INTERNET_ZONE)
        # A provisional policy gives the endpoint resolver zone/asset networks.
        self.partial = Policy(path=doc.path, suc=suc, services=services, zones=tuple(zones),
                              conduits=())
        devices = self.devices(keys["devices"][1]) if "devices" in keys else ()
        conduit_nodes = (
            doc.seq(keys["conduits"][1], "conduits") if "conduits" in keys else []
        )
        self.conduit_ids = [self.peek_id(n) for n in conduit_nodes]
        conduits = tuple(self.conduit(n) for n in conduit_nodes)
        rules = (
            self.global_rules(keys["global_rules"][1]) if "global_rules" in keys
            else GlobalRules()
        )
        exceptions = (
            tuple(self.exception(n) for n in doc.seq(keys["exceptions"][1], "exceptions"))
            if "exceptions" in keys else ()
        )
        return Policy(
            path=doc.path, suc=suc, services=services, zones=tuple(zones), conduits=conduits,
            global_rules=rules, exceptions=exceptions, attack_version=attack, devices=devices,
            span=doc.span(root),
        )

    def peek_id(self, node: yaml.Node) -> str:
        """The ``id`` of a list item (validated fully when the item itself is read)."""
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if getattr(k, "value", None) == "id":
                    return self.doc.str_(v, "id")
        return ""

    # -- services -----------------------------------------------------------------------

    def services(self, node: yaml.Node) -> dict[str, Service]:
        doc = self.doc
        out: dict[str, Service] = {}
        for knode, name, vnode in doc.items(node, "services"):
            keys = doc.mapping(vnode, f"service {name!r}", SERVICE_PROTOCOLS + SERVICE_EXTRA_KEYS)
            ports: dict[int, tuple[R.Ranges, yaml.Node]] = {}
            for key, (pk, pv) in keys.items():
                if key in SERVICE_EXTRA_KEYS:
                    continue
                proto = PROTOCOL_NUMBERS[key]
                if proto in ports:
                    raise doc.error(pk, f"protocol {key!r} given twice in service {name!r}")
                ports[proto] = (self.port_ranges(pv, proto, key), pk)
            if not ports:
                raise doc.error(vnode, f"service {name!r} names no protocol (e.g. tcp: [443])")
            app = doc.str_(keys["app"][1], "app") if "app" in keys else None
            out[name] = Service(
                name=name, ports=tuple((p, r) for p, (r, _) in sorted(ports.items())), app=app,
                span=doc.span(knode),
            )
        return out

    def port_ranges(self, node: yaml.Node, proto: int, pname: str) -> R.Ranges:
        """``any``, a port, ``"lo-hi"``, or a list of those (ICMP: types; others: ``any``)."""
        doc = self.doc
        top = R.PORT_MAX if proto in PORT_PROTOCOLS else R.ICMP_MAX
        if isinstance(node, yaml.ScalarNode) and node.value == "any":
            return ((0, top),)
        if proto not in PORT_PROTOCOLS and proto not in (ICMP, ICMPV6):
            raise doc.error(node, f"{pname} has no ports: write '{pname}: any'")
        what = f"{pname} port" if proto in PORT_PROTOCOLS else f"{pname} type"
        items: list[tuple[int, int]] = []
        for item in doc.seq(node, f"{pname} ports", scalar_ok=True):
            if isinstance(item, yaml.ScalarNode) and item.tag == "tag:yaml.org,2002:int":
                v = doc.int_(item, what, 0, top)
                items.append((v, v))
                continue
            text = doc.str_(item, what)
            m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", text)
            if not m:
                raise doc.error(item, f"{what} {text!r} must be a number or a range 'lo-hi'")
            lo, hi = int(m[1]), int(m[2])
            if not 0 <= lo <= hi <= top:
                raise doc.error(item, f"{what} range {text!r} must satisfy 0 <= lo <= hi <= {top}")
            items.append((lo, hi))
        if not items:
            raise doc.error(node, f"{pname} lists no ports")
        return R.normalize(items)

    # -- zones and assets ---------------------------------------------------------------

    def zones(self, node: yaml.Node) -> list[Zone]:
        out = []
        for item in self.doc.seq(node, "zones"):
            zone = self.zone(item)
            out.append(zone)
            self.zone_ids.append(zone.id)
            self.asset_ids.extend(zone.assets)
        return out

    def zone(self, node: yaml.Node) -> Zone:
        doc = self.doc
        keys = doc.mapping(node, "zone", ZONE_KEYS, required=("id", "kind"))
        zid = doc.str_(keys["id"][1], "zone id")
        kind = doc.choice(keys["kind"][1], "zone kind", ZONE_KINDS)
        levels: tuple[float, ...] = ()
        if "purdue_level" in keys:
            lnode = keys["purdue_level"][1]
            levels = tuple(
                doc.number(n, "purdue_level", 0, 5)
                for n in doc.seq(lnode, "purdue_level", scalar_ok=True)
            )
        assets: dict[str, Asset] = {}
        if "assets" in keys:
            for knode, aid, anode in doc.items(keys["assets"][1], f"assets of zone {zid!r}"):
                assets[aid] = self.asset(anode, aid, zid, knode)
        return Zone(
            id=zid,
            kind=cast(Any, kind),
            name=self.opt_str(keys, "name"),
            purdue_levels=levels,
            sl_t=self.sl_t(keys["sl_t"][1]) if "sl_t" in keys else None,
            safety=doc.bool_(keys["safety"][1], "safety") if "safety" in keys else False,
            segmentation=(
                doc.choice(keys["segmentation"][1], "segmentation", SEGMENTATIONS)
                if "segmentation" in keys else None
            ),
            networks=self.networks(keys, "cidrs"),
            assets=assets,
            owner=self.opt_str(keys, "owner"),
            description=self.opt_str(keys, "description"),
            span=doc.span(node),
        )

    def asset(self, node: yaml.Node, aid: str, zid: str, knode: yaml.Node) -> Asset:
        doc = self.doc
        keys = doc.mapping(node, f"asset {aid!r}", ASSET_KEYS)
        nets: list[IPNetwork] = []
        if "ip" in keys:
            nets.append(self.host_network(keys["ip"][1]))
        if "ips" in keys:
            nets.extend(self.host_network(n) for n in doc.seq(keys["ips"][1], "ips"))
        nets.extend(self.networks(keys, "cidrs"))
        if not nets:
            raise doc.error(node, f"asset {aid!r} needs an address: ip, ips or cidrs")
        return Asset(
            id=aid, zone=zid, networks=tuple(nets), role=self.opt_str(keys, "role"),
            controls=self.controls(keys, "controls"),
            safety=doc.bool_(keys["safety"][1], "safety") if "safety" in keys else None,
            description=self.opt_str(keys, "description"),
            span=doc.span(knode),
        )

    def host_network(self, node: yaml.Node) -> IPNetwork:
        return ipaddress.ip_network(self.doc.address(node, "address"))

    def networks(self, keys: dict[str, tuple[yaml.Node, yaml.Node]], key: str) -> tuple[
        IPNetwork, ...
    ]:
        if key not in keys:
            return ()
        doc = self.doc
        return tuple(
            doc.network(n, "CIDR") for n in doc.seq(keys[key][1], key, scalar_ok=True)
        )

    def sl_t(self, node: yaml.Node) -> SLTarget:
        """An int 0..4, or a mapping with all seven FRs (IAC, UC, SI, DC, RDF, TRE, RA)."""
        doc = self.doc
        if isinstance(node, yaml.MappingNode):
            keys = doc.mapping(node, "sl_t vector", FOUNDATIONAL_REQUIREMENTS,
                               required=FOUNDATIONAL_REQUIREMENTS)
            return {fr: doc.int_(keys[fr][1], f"sl_t {fr}", 0, 4)
                    for fr in FOUNDATIONAL_REQUIREMENTS}
        return doc.int_(node, "sl_t", 0, 4)

    # -- conduits -----------------------------------------------------------------------

    def conduit(self, node: yaml.Node) -> Conduit:
        doc = self.doc
        keys = doc.mapping(node, "conduit", CONDUIT_KEYS, required=("id", "between", "flows"))
        cid = doc.str_(keys["id"][1], "conduit id")
        bnode = keys["between"][1]
        between = tuple(self.zone_ref(n) for n in doc.seq(bnode, "between"))
        if len(between) != 2:
            raise doc.error(bnode, f"between must name exactly two zones, not {len(between)}")
        flows = tuple(
            self.flow(n) for n in doc.seq(keys["flows"][1], f"flows of conduit {cid!r}")
        )
        if not flows:
            raise doc.error(keys["flows"][1], f"conduit {cid!r} has no flows")
        return Conduit(
            id=cid, between=(between[0], between[1]), flows=flows,
            name=self.opt_str(keys, "name"),
            sl_t=self.sl_t(keys["sl_t"][1]) if "sl_t" in keys else None,
            controls_required=self.controls(keys, "controls_required"),
            compensating=self.controls(keys, "compensating"),
            enforced_by=doc.strs(keys["enforced_by"][1], "enforced_by")
            if "enforced_by" in keys else (),
            justification=self.opt_str(keys, "justification"),
            owner=self.opt_str(keys, "owner"),
            approved_by=self.opt_str(keys, "approved_by"),
            ticket=self.opt_str(keys, "ticket"),
            expires=self.opt_date(keys, "expires"),
            span=doc.span(node),
        )

    def flow(self, node: yaml.Node) -> ConduitFlow:
        doc = self.doc
        keys = doc.mapping(node, "flow", FLOW_KEYS, required=("from", "to", "service"))
        services = doc.strs(keys["service"][1], "service")
        for snode in doc.seq(keys["service"][1], "service", scalar_ok=True):
            name = str(snode.value)
            if name not in self.service_names:
                raise doc.error(
                    snode, f"unknown service {name!r}{suggest(name, self.service_names)}"
                )
        ops = (
            frozenset(doc.choices(keys["operations"][1], "operation", OPERATIONS))
            if "operations" in keys else None
        )
        return ConduitFlow(
            sources=self.endpoints(keys["from"][1]),
            destinations=self.endpoints(keys["to"][1]),
            services=services,
            operations=ops,
            controls=self.controls(keys, "controls"),
            bidirectional=(
                doc.bool_(keys["bidirectional"][1], "bidirectional")
                if "bidirectional" in keys else False
            ),
            span=doc.span(node),
        )

    def endpoints(self, node: yaml.Node) -> tuple[Endpoint, ...]:
        doc = self.doc
        assert self.partial is not None, "zones are read before conduits"
        out = []
        for item in doc.seq(node, "flow endpoints", scalar_ok=True):
            ref = doc.str_(item, "flow endpoint")
            if ref in self.zone_ids:
                out.append(Endpoint(ref, ref, None, self.partial.zone_networks(ref)))
            elif ref in self.asset_ids:
                asset = self.partial.asset(ref)
                out.append(Endpoint(ref, asset.zone, ref, asset.networks))
            else:
                raise doc.error(
                    item,
                    f"unknown zone or asset {ref!r}{suggest(ref, self.zone_ids + self.asset_ids)}",
                )
        return tuple(out)

    def zone_ref(self, node: yaml.Node) -> str:
        zone = self.doc.str_(node, "zone")
        if zone not in self.zone_ids:
            raise self.doc.error(node, f"unknown zone {zone!r}{suggest(zone, self.zone_ids)}")
        return zone

    def conduit_ref(self, node: yaml.Node) -> str:
        cid = self.doc.str_(node, "conduit")
        if cid not in self.conduit_ids:
            raise self.doc.error(
                node, f"unknown conduit {cid!r}{suggest(cid, self.conduit_ids)}"
            )
        return cid

    # -- global rules, exceptions, devices ---------------------------------------------

    def global_rules(self, node: yaml.Node) -> GlobalRules:
        doc = self.doc
        keys = doc.mapping(node, "global_rules", GLOBAL_KEYS)

        def sub(key: str, allowed: tuple[str, ...]) -> dict[str, tuple[yaml.Node, yaml.Node]]:
            return doc.mapping(keys[key][1], key, allowed)

        def kinds(k: dict[str, tuple[yaml.Node, yaml.Node]], key: str) -> tuple[str, ...]:
            return doc.choices(k[key][1], "zone kind", ZONE_KINDS) if key in k else ()

        def seq(node_: yaml.Node, what: str) -> list[yaml.Node]:
            return doc.seq(node_, what, scalar_ok=True)

        dmz = None
        if "dmz_termination" in keys:
            k = sub("dmz_termination", ("from_kinds", "to_kinds"))
            dmz = DmzTermination(
                kinds(k, "from_kinds") if "from_kinds" in k else DmzTermination().from_kinds,
                kinds(k, "to_kinds") if "to_kinds" in k else DmzTermination().to_kinds,
            )
        egress = None
        if "internet_egress" in keys:
            k = sub("internet_egress", ("deny_from_kinds", "allow_conduits"))
            egress = InternetEgress(
                kinds(k, "deny_from_kinds") if "deny_from_kinds" in k
                else InternetEgress().deny_from_kinds,
                tuple(self.conduit_ref(n) for n in seq(k["allow_conduits"][1], "allow_conduits"))
                if "allow_conduits" in k else (),
            )
        safety = None
        if "safety_zones" in keys:
            k = sub("safety_zones", ("only_conduits", "forbid_operations"))
            safety = SafetyZones(
                tuple(self.conduit_ref(n) for n in seq(k["only_conduits"][1], "only_conduits"))
                if "only_conduits" in k else (),
                doc.choices(k["forbid_operations"][1], "operation", OPERATIONS)
                if "forbid_operations" in k else (),
            )
        remote = None
        if "remote_access" in keys:
            k = sub("remote_access", ("terminate_on_role", "require_controls"))
            remote = RemoteAccess(
                self.opt_str(k, "terminate_on_role"), self.controls(k, "require_controls")
            )
        mgmt = None
        if "management_plane" in keys:
            k = sub("management_plane", ("only_from",))
            mgmt = ManagementPlane(
                tuple(self.zone_ref(n) for n in seq(k["only_from"][1], "only_from"))
                if "only_from" in k else ()
            )
        return GlobalRules(
            default_action=cast(Any, doc.choice(keys["default_action"][1], "default_action",
                                                ("deny", "permit")))
            if "default_action" in keys else "deny",
            dmz_termination=dmz,
            disjoint_protocols_across=tuple(
                self.zone_ref(n) for n in seq(keys["disjoint_protocols_across"][1], "zones")
            ) if "disjoint_protocols_across" in keys else (),
            no_any_in_cross_zone_rules=self.opt_bool(keys, "no_any_in_cross_zone_rules"),
            max_port_span=doc.int_(keys["max_port_span"][1], "max_port_span", 1, 65536)
            if "max_port_span" in keys else None,
            internet_egress=egress,
            safety_zones=safety,
            remote_access=remote,
            management_plane=mgmt,
            ipv6_parity=self.opt_bool(keys, "ipv6_parity"),
            conduit_sl_ge_zone_sl=self.opt_bool(keys, "conduit_sl_ge_zone_sl"),
            max_exception_days=doc.int_(keys["max_exception_days"][1], "max_exception_days", 1)
            if "max_exception_days" in keys else None,
            span=doc.span(node),
        )

    def exception(self, node: yaml.Node) -> PolicyException:
        doc = self.doc
        keys = doc.mapping(node, "exception", EXCEPTION_KEYS,
                           required=("id", "finding", "object"))
        fnode = keys["finding"][1]
        finding = doc.str_(fnode, "finding")
        if not FINDING_CODE.match(finding):
            raise doc.error(fnode, f"finding {finding!r} is not a finding code like SC-ANY-RULE")
        return PolicyException(
            id=doc.str_(keys["id"][1], "exception id"),
            finding=finding,
            object=doc.str_(keys["object"][1], "object"),
            justification=self.opt_str(keys, "justification"),
            compensating=self.controls(keys, "compensating"),
            owner=self.opt_str(keys, "owner"),
            approved_by=self.opt_str(keys, "approved_by"),
            created=self.opt_date(keys, "created"),
            expires=self.opt_date(keys, "expires"),
            span=doc.span(node),
        )

    def devices(self, node: yaml.Node) -> tuple[DeclaredDevice, ...]:
        doc = self.doc
        out = []
        for item in doc.seq(node, "devices"):
            keys = doc.mapping(item, "device", DEVICE_KEYS, required=("id",))
            did = doc.str_(keys["id"][1], "device id")
            out.append(DeclaredDevice(
                id=did,
                vendor=doc.choice(keys["vendor"][1], "vendor", tuple(VENDORS))
                if "vendor" in keys else None,
                interfaces=interfaces_map(doc, keys["interfaces"][1], self.zone_ids, did)
                if "interfaces" in keys else {},
                management=management_addresses(doc, keys["management"][1])
                if "management" in keys else (),
                span=doc.span(item),
            ))
        return tuple(out)

    # -- small helpers ------------------------------------------------------------------

    def opt_str(self, keys: dict[str, tuple[yaml.Node, yaml.Node]], key: str) -> str | None:
        return self.doc.str_(keys[key][1], key) if key in keys else None

    def opt_bool(self, keys: dict[str, tuple[yaml.Node, yaml.Node]], key: str) -> bool:
        return self.doc.bool_(keys[key][1], key) if key in keys else False

    def opt_date(self, keys: dict[str, tuple[yaml.Node, yaml.Node]], key: str) -> date | None:
        return self.doc.date_(keys[key][1], key) if key in keys else None

    def controls(self, keys: dict[str, tuple[yaml.Node, yaml.Node]], key: str) -> tuple[
        str, ...
    ]:
        return self.doc.choices(keys[key][1], "control", CONTROLS) if key in keys else ()
