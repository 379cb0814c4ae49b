"""Loading a topology file (``topologies/<site>.yaml``, format ``segcheck: 1``).

A topology names the site's firewalls (``devices``: id, optional vendor, export path(s)
relative to the topology file, interface -> policy zone, management addresses), optional
static ``routes`` and the ``hosts`` that bridge zones (jump hosts, dual-homed stations).

``policy:`` (optional) is the path of the policy the topology belongs to, relative to the
topology file; ``segcheck validate`` uses it when no ``--policy`` is given. Every reference
(zones, devices, interfaces, services, assets) is checked against the policy, and every
export must exist on disk. Errors are ``PolicyError`` with ``path:line:col``.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import yaml

from segcheck.errors import PolicyError
from segcheck.parsers.registry import VENDORS
from segcheck.policy.loader import (
    check_version,
    interfaces_map,
    load_policy,
    management_addresses,
)
from segcheck.policy.model import BridgeHost, Policy, Route, TopoDevice, Topology
from segcheck.policy.yamlnodes import Doc, suggest

TOPOLOGY_KEYS = ("segcheck", "policy", "description", "devices", "routes", "hosts")
TOPO_DEVICE_KEYS = ("id", "vendor", "config", "interfaces", "management", "description")
ROUTE_KEYS = ("device", "to", "interface", "via")
HOST_KEYS = ("id", "addresses", "asset", "services", "role", "description")


def topology_policy_path(path: str | Path) -> Path | None:
    """The ``policy:`` of a topology file resolved against its directory (None if absent)."""
    doc, root = Doc.load(path)
    if not isinstance(root, yaml.MappingNode):
        return None
    for knode, vnode in root.value:
        if getattr(knode, "value", None) == "policy":
            return Path(os.path.normpath(Path(path).parent / doc.str_(vnode, "policy")))
    return None


def load_topology(path: str | Path, policy: Policy | None = None) -> Topology:
    """Read and check a topology against ``policy`` (default: the file's ``policy:`` key)."""
    doc, root = Doc.load(path)
    if root is None:
        raise PolicyError("empty topology file", doc.mark_span(0, 0))
    keys = doc.mapping(root, "the topology", TOPOLOGY_KEYS, required=("devices",))
    check_version(doc, root, keys)
    policy_path = None
    if "policy" in keys:
        pnode = keys["policy"][1]
        policy_path = Path(os.path.normpath(Path(path).parent / doc.str_(pnode, "policy")))
        if not policy_path.is_file():
            raise doc.error(pnode, f"policy file not found: {policy_path}")
    if policy is None:
        if policy_path is None:
            raise doc.error(
                root, "a topology needs its policy: add 'policy: PATH' (relative to this file)"
                " or pass --policy"
            )
        policy = load_policy(policy_path)
    base = Path(path).resolve().parent
    zone_ids = [z.id for z in policy.zones]
    devices = tuple(
        _device(doc, n, base, zone_ids) for n in doc.seq(keys["devices"][1], "devices")
    )
    routes = (
        tuple(_route(doc, n, devices) for n in doc.seq(keys["routes"][1], "routes"))
        if "routes" in keys else ()
    )
    hosts = (
        tuple(_host(doc, n, policy) for n in doc.seq(keys["hosts"][1], "hosts"))
        if "hosts" in keys else ()
    )
    return Topology(
        path=doc.path, devices=devices, routes=routes, hosts=hosts,
        policy_path=str(policy_path) if policy_path else None, span=doc.span(root),
    )


def _device(doc: Doc, node: yaml.Node, base: Path, zone_ids: list[str]) -> TopoDevice:
    keys = doc.mapping(node, "device", TOPO_DEVICE_KEYS, required=("id", "config", "interfaces"))
    did = doc.str_(keys["id"][1], "device id")
    configs = []
    for cnode in doc.seq(keys["config"][1], "config", scalar_ok=True):
        cpath = (base / doc.str_(cnode, "config path")).resolve()
        if not cpath.is_file():
            raise doc.error(cnode, f"config file not found: {cpath}")
        configs.append(cpath)
    if not configs:
        raise doc.error(keys["config"][1], f"device {did!r} lists no config file")
    interfaces = interfaces_map(doc, keys["interfaces"][1], zone_ids, did)
    if not interfaces:
        raise doc.error(keys["interfaces"][1], f"device {did!r} has no interfaces")
    return TopoDevice(
        id=did,
        vendor=doc.choice(keys["vendor"][1], "vendor", tuple(VENDORS))
        if "vendor" in keys else None,
        config=configs[0],
        interfaces=interfaces,
        management=management_addresses(doc, keys["management"][1])
        if "management" in keys else (),
        configs=tuple(configs),
        span=doc.span(node),
    )


def _route(doc: Doc, node: yaml.Node, devices: tuple[TopoDevice, ...]) -> Route:
    keys = doc.mapping(node, "route", ROUTE_KEYS, required=("device", "to"))
    dnode = keys["device"][1]
    did = doc.str_(dnode, "device")
    by_id = {d.id: d for d in devices}
    if did not in by_id:
        raise doc.error(dnode, f"unknown device {did!r}{suggest(did, by_id)}")
    iface = None
    if "interface" in keys:
        inode = keys["interface"][1]
        iface = doc.str_(inode, "interface")
        if iface not in by_id[did].interfaces:
            raise doc.error(
                inode, f"device {did!r} has no interface {iface!r}"
                f"{suggest(iface, by_id[did].interfaces)}"
            )
    via = doc.address(keys["via"][1], "via") if "via" in keys else None
    if iface is None and via is None:
        raise doc.error(node, "a route needs 'interface' or 'via'")
    return Route(
        device=did, destination=doc.network(keys["to"][1], "route destination"),
        interface=iface, via=via, span=doc.span(node),
    )


def _host(doc: Doc, node: yaml.Node, policy: Policy) -> BridgeHost:
    keys = doc.mapping(node, "host", HOST_KEYS, required=("id", "addresses"))
    hid = doc.str_(keys["id"][1], "host id")
    addresses = []
    zones: list[str] = []
    for anode in doc.seq(keys["addresses"][1], "addresses", scalar_ok=True):
        addr = doc.address(anode, "address")
        hit = policy.resolve(addr)
        if hit is None:
            raise doc.error(anode, f"address {addr} of host {hid!r} is in no zone")
        addresses.append(addr)
        if hit[0] not in zones:
            zones.append(hit[0])
    asset = None
    if "asset" in keys:
        anode = keys["asset"][1]
        asset = doc.str_(anode, "asset")
        if not policy.has_asset(asset):
            raise doc.error(anode, f"unknown asset {asset!r}{suggest(asset, policy.assets)}")
        nets = policy.asset(asset).networks
        if not any(_within(a, n)
                   for a in addresses for n in nets if a.version == n.version):
            raise doc.error(anode, f"host {hid!r} has none of asset {asset!r}'s addresses")
    services: tuple[str, ...] = ()
    if "services" in keys:
        services = doc.strs(keys["services"][1], "services")
        for snode in doc.seq(keys["services"][1], "services", scalar_ok=True):
            if snode.value not in policy.services:
                raise doc.error(
                    snode, f"unknown service {snode.value!r}{suggest(snode.value, policy.services)}"
                )
    return BridgeHost(
        id=hid, addresses=tuple(addresses), zones=tuple(zones), services=services,
        role=doc.str_(keys["role"][1], "role") if "role" in keys else None,
        asset=asset,
        description=doc.str_(keys["description"][1], "description")
        if "description" in keys else None,
        span=doc.span(node),
    )


def _within(addr: ipaddress.IPv4Address | ipaddress.IPv6Address,
            net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return addr.version == net.version and addr in net
