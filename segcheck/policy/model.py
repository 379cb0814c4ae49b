"""The zone/conduit policy and the site topology as immutable values.

A ``Policy`` is the *intended* segmentation (IEC 62443 zones and conduits, BRIEF.md §2); a
``Topology`` says which firewalls join which zones and where their exports are. Both are
built only by ``segcheck.policy.loader`` (which checks every reference), so analysis code can
rely on these invariants:

- every zone/asset/service/device id a value mentions exists (references are resolved);
- ``Policy.zones`` ends with the implicit external zone ``z-internet`` (``0.0.0.0/0`` and
  ``::/0``) unless the file defines a zone of that id itself;
- addresses are ``ipaddress`` networks (a single host is a /32 or /128);
- every object keeps the ``SourceSpan`` of its YAML node. Spans (and file paths) take no part
  in equality, so two loads of equivalent text compare equal.

Host -> zone resolution (``Policy.resolve``, BRIEF.md §2.2): the longest-prefix *asset*
network containing the address wins; without one, the longest-prefix *zone* CIDR. Equal
prefixes in two zones are a lint error (``lint.address-in-two-zones``); ``resolve`` then keeps
the zone defined first, deterministically.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from segcheck.model.ranges import Ranges
from segcheck.model.source import SourceSpan

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

FORMAT_VERSION = 1
"""The ``segcheck:`` version this code reads and writes."""

ZONE_KINDS = ("it", "dmz", "ot", "external", "mgmt")
FOUNDATIONAL_REQUIREMENTS = ("IAC", "UC", "SI", "DC", "RDF", "TRE", "RA")
"""IEC 62443 FR1..FR7, the components of an SL vector (in order)."""
OPERATIONS = ("read", "write", "program", "control", "config", "file", "discovery", "time")
"""ICS operation classes a conduit flow may allow (judged on pcap / app-aware evidence)."""
CONTROLS = ("stateful", "dpi", "ids", "unidirectional", "mfa", "session_recording", "approval")
"""Security controls a conduit, flow, asset or exception may require or declare."""
SEGMENTATIONS = ("logical", "physical")
SAFETY_ROLES = frozenset({"sis", "safety_plc", "safety_controller", "sis_logic_solver"})
"""Asset roles that are a safety function even when the asset does not say ``safety: true``."""

INTERNET_ZONE = "z-internet"
INTERNET_NETWORKS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("0.0.0.0/0"),
    ipaddress.ip_network("::/0"),
)

SLTarget = int | dict[str, int] | None
"""An SL-T: one level 0..4 for all FRs, a full FR -> level vector, or ``None`` (not assessed)."""


def sl_vector(sl_t: SLTarget) -> dict[str, int] | None:
    """The SL-T as a full FR vector (an int applies to every FR); ``None`` stays ``None``."""
    if sl_t is None:
        return None
    if isinstance(sl_t, int):
        return dict.fromkeys(FOUNDATIONAL_REQUIREMENTS, sl_t)
    return dict(sl_t)


def sl_max(sl_t: SLTarget) -> int | None:
    """The highest level of an SL-T (``None`` when not assessed)."""
    vec = sl_vector(sl_t)
    return None if vec is None else max(vec.values())


@dataclass(frozen=True, slots=True)
class Asset:
    """A named host or address block inside a zone (BRIEF.md §2.3 ``assets``)."""

    id: str
    zone: str
    networks: tuple[IPNetwork, ...]
    """From ``ip``/``ips`` (host networks) and ``cidrs``, in file order."""
    role: str | None = None
    controls: tuple[str, ...] = ()
    safety: bool | None = None
    """Explicit safety designation; ``None`` = implied by the role (``SAFETY_ROLES``) or
    by the zone's ``safety`` flag (see ``Policy.is_safety_asset``)."""
    description: str | None = None
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Zone:
    """An IEC 62443 zone: assets sharing security requirements (ZCR 3/6 attributes)."""

    id: str
    kind: Literal["it", "dmz", "ot", "external", "mgmt"]
    name: str | None = None
    purdue_levels: tuple[float, ...] = ()
    """Labels only (3.5 = industrial DMZ); never the sole basis of a verdict."""
    sl_t: SLTarget = None
    safety: bool = False
    segmentation: str | None = None
    """``physical`` or ``logical`` (SR 5.1 RE1); ``None`` = not stated."""
    networks: tuple[IPNetwork, ...] = ()
    """The zone's declared CIDRs (IPv4 and IPv6). See ``Policy.zone_networks`` for the
    full address space, which adds the assets' networks."""
    assets: dict[str, Asset] = field(default_factory=dict)
    owner: str | None = None
    description: str | None = None
    implicit: bool = False
    """True only for the ``z-internet`` zone segcheck adds when the policy lacks one."""
    span: SourceSpan | None = field(default=None, compare=False, repr=False)

    def __hash__(self) -> int:  # by id: the dict fields are unhashable; equal ⇒ same id
        return hash(self.id)


@dataclass(frozen=True, slots=True)
class Service:
    """A named service: ports per protocol plus the application detected from payload.

    ``ports`` pairs an IP protocol number with a ``Ranges``: destination ports for
    protocols that have ports (``packet.PORT_PROTOCOLS``), ICMP types for ICMP/ICMPv6, and the
    full range ``((0, 65535),)`` (= no constraint) for other protocols.
    """

    name: str
    ports: tuple[tuple[int, Ranges], ...]
    app: str | None = None
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One side of a conduit flow: a zone or an asset, with its resolved address space."""

    ref: str
    zone: str
    asset: str | None
    networks: tuple[IPNetwork, ...]


@dataclass(frozen=True, slots=True)
class ConduitFlow:
    """Traffic a conduit allows: initiated by ``sources`` towards ``destinations``.

    Direction is the initiator (SYN / first datagram); replies are implicit. With
    ``bidirectional`` either side may initiate.
    """

    sources: tuple[Endpoint, ...]
    destinations: tuple[Endpoint, ...]
    services: tuple[str, ...]
    operations: frozenset[str] | None = None
    """Allowed ICS operations; ``None`` = any."""
    controls: tuple[str, ...] = ()
    bidirectional: bool = False
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Conduit:
    """A documented set of communication channels between two zones, with governance."""

    id: str
    between: tuple[str, str]
    flows: tuple[ConduitFlow, ...]
    name: str | None = None
    sl_t: SLTarget = None
    controls_required: tuple[str, ...] = ()
    compensating: tuple[str, ...] = ()
    """Compensating controls declared for an SL-T below the zones' SL-T."""
    enforced_by: tuple[str, ...] = ()
    """Device ids (checked against the topology, not the policy)."""
    justification: str | None = None
    owner: str | None = None
    approved_by: str | None = None
    ticket: str | None = None
    expires: date | None = None
    span: SourceSpan | None = field(default=None, compare=False, repr=False)

    def __hash__(self) -> int:  # by id: the dict fields are unhashable; equal ⇒ same id
        return hash(self.id)


@dataclass(frozen=True, slots=True)
class PolicyException:
    """A documented, time-limited acceptance of one (finding code, object) pair."""

    id: str
    finding: str
    object: str
    justification: str | None = None
    compensating: tuple[str, ...] = ()
    owner: str | None = None
    approved_by: str | None = None
    created: date | None = None
    expires: date | None = None
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DmzTermination:
    """P3: traffic from ``from_kinds`` zones to ``to_kinds`` zones must terminate in a DMZ."""

    from_kinds: tuple[str, ...] = ("it", "external")
    to_kinds: tuple[str, ...] = ("ot",)


@dataclass(frozen=True, slots=True)
class InternetEgress:
    """P6: zones of ``deny_from_kinds`` reach external zones only through ``allow_conduits``."""

    deny_from_kinds: tuple[str, ...] = ("ot", "dmz")
    allow_conduits: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SafetyZones:
    """Safety zones are reachable only through ``only_conduits``, never with these operations."""

    only_conduits: tuple[str, ...] = ()
    forbid_operations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RemoteAccess:
    """P9: remote access terminates on an asset of this role, with these controls."""

    terminate_on_role: str | None = None
    require_controls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ManagementPlane:
    """P7: firewall management only from these zones."""

    only_from: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GlobalRules:
    """Site-wide invariants (BRIEF.md §2.3 ``global_rules``). ``None``/``False``/``()`` means
    the check is not requested; only ``default_action`` has a non-neutral default (deny, P1)."""

    default_action: Literal["deny", "permit"] = "deny"
    dmz_termination: DmzTermination | None = None
    disjoint_protocols_across: tuple[str, ...] = ()
    no_any_in_cross_zone_rules: bool = False
    max_port_span: int | None = None
    internet_egress: InternetEgress | None = None
    safety_zones: SafetyZones | None = None
    remote_access: RemoteAccess | None = None
    management_plane: ManagementPlane | None = None
    ipv6_parity: bool = False
    conduit_sl_ge_zone_sl: bool = False
    max_exception_days: int | None = None
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DeclaredDevice:
    """An enforcement point named in the *policy* (BRIEF.md §2.3 ``devices``), no config."""

    id: str
    vendor: str | None = None
    interfaces: dict[str, str] = field(default_factory=dict)
    management: tuple[IPAddress, ...] = ()
    span: SourceSpan | None = field(default=None, compare=False, repr=False)

    def __hash__(self) -> int:  # by id: the dict fields are unhashable; equal ⇒ same id
        return hash(self.id)


@dataclass(frozen=True)
class Policy:
    """A loaded, reference-checked policy file (see the module docstring for invariants)."""

    path: str = field(compare=False)
    suc: str | None
    services: dict[str, Service]
    zones: tuple[Zone, ...]
    conduits: tuple[Conduit, ...]
    global_rules: GlobalRules = field(default_factory=GlobalRules)
    exceptions: tuple[PolicyException, ...] = ()
    attack_version: str | None = None
    devices: tuple[DeclaredDevice, ...] = ()
    span: SourceSpan | None = field(default=None, compare=False, repr=False)
    _zones: dict[str, Zone] = field(init=False, compare=False, repr=False)
    _assets: dict[str, Asset] = field(init=False, compare=False, repr=False)
    _lookup: dict[int, list[tuple[int, dict[int, tuple[str, str | None]]]]] = field(
        init=False, compare=False, repr=False
    )

    def __hash__(self) -> int:  # dict fields are unhashable; equal policies share zone ids
        return hash(tuple(z.id for z in self.zones))

    def __post_init__(self) -> None:
        zones: dict[str, Zone] = {}
        assets: dict[str, Asset] = {}
        for z in self.zones:
            zones.setdefault(z.id, z)
            for a in z.assets.values():
                assets.setdefault(a.id, a)
        object.__setattr__(self, "_zones", zones)
        object.__setattr__(self, "_assets", assets)
        object.__setattr__(self, "_lookup", self._build_lookup())

    def _build_lookup(self) -> dict[int, list[tuple[int, dict[int, tuple[str, str | None]]]]]:
        """Per family, (rank, {network int: (zone, asset)}) buckets, most specific first.

        Rank orders asset networks before zone CIDRs, then longer prefixes first; within a
        bucket the first definition wins (``setdefault``), matching file order.
        """
        buckets: dict[tuple[int, int], dict[int, tuple[str, str | None]]] = {}
        for z in self.zones:
            for a in z.assets.values():
                for net in a.networks:
                    key = (net.version, 1000 + net.prefixlen)
                    buckets.setdefault(key, {}).setdefault(
                        int(net.network_address), (z.id, a.id)
                    )
        for z in self.zones:
            for net in z.networks:
                key = (net.version, net.prefixlen)
                buckets.setdefault(key, {}).setdefault(int(net.network_address), (z.id, None))
        out: dict[int, list[tuple[int, dict[int, tuple[str, str | None]]]]] = {4: [], 6: []}
        for (version, rank), table in sorted(buckets.items(), key=lambda kv: -kv[0][1]):
            out[version].append((rank, table))
        return out

    # -- lookups ------------------------------------------------------------------------

    def zone(self, zone_id: str) -> Zone:
        """The zone with this id (KeyError when unknown)."""
        return self._zones[zone_id]

    def has_zone(self, zone_id: str) -> bool:
        return zone_id in self._zones

    def asset(self, asset_id: str) -> Asset:
        """The asset with this id, whichever zone holds it (KeyError when unknown)."""
        return self._assets[asset_id]

    def has_asset(self, asset_id: str) -> bool:
        return asset_id in self._assets

    def conduit(self, conduit_id: str) -> Conduit:
        for c in self.conduits:
            if c.id == conduit_id:
                return c
        raise KeyError(conduit_id)

    @property
    def assets(self) -> dict[str, Asset]:
        """Every asset by id (first definition wins on duplicates; lint reports those)."""
        return dict(self._assets)

    def resolve(self, ip: IPAddress | str) -> tuple[str, str | None] | None:
        """(zone id, asset id or None) for an address, or None when no zone holds it.

        The most specific asset network wins, then the most specific zone CIDR.
        """
        addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
        value = int(addr)
        bits = 32 if addr.version == 4 else 128
        for rank, table in self._lookup[addr.version]:
            prefix = rank - 1000 if rank >= 1000 else rank
            mask = ((1 << bits) - 1) ^ ((1 << (bits - prefix)) - 1)
            hit = table.get(value & mask)
            if hit is not None:
                return hit
        return None

    def zone_networks(self, zone_id: str) -> tuple[IPNetwork, ...]:
        """All addresses of a zone: its CIDRs plus its assets' networks, collapsed per family.

        This is the *membership* space; addresses in it may still resolve elsewhere when a
        more specific network of another zone covers them.
        """
        zone = self.zone(zone_id)
        nets: list[IPNetwork] = list(zone.networks)
        for a in zone.assets.values():
            nets.extend(a.networks)
        return collapse(nets)

    def endpoint_networks(self, ref: str) -> tuple[IPNetwork, ...]:
        """Networks of a flow endpoint reference: an asset's networks, else a zone's."""
        if ref in self._zones:
            return self.zone_networks(ref)
        return self.asset(ref).networks

    def is_safety_asset(self, asset: Asset) -> bool:
        """Explicit ``safety`` wins; else a safety role; else the zone's ``safety`` flag."""
        if asset.safety is not None:
            return asset.safety
        if asset.role in SAFETY_ROLES:
            return True
        return self.zone(asset.zone).safety

    def flows(self) -> tuple[tuple[Conduit, ConduitFlow], ...]:
        """Every (conduit, flow) pair, in file order."""
        return tuple((c, f) for c in self.conduits for f in c.flows)


def collapse(nets: list[IPNetwork] | tuple[IPNetwork, ...]) -> tuple[IPNetwork, ...]:
    """Minimal sorted CIDR cover of ``nets``, IPv4 first then IPv6."""
    v4 = [n for n in nets if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in nets if isinstance(n, ipaddress.IPv6Network)]
    return tuple(ipaddress.collapse_addresses(v4)) + tuple(ipaddress.collapse_addresses(v6))


@dataclass(frozen=True, slots=True)
class TopoDevice:
    """A firewall/router of the site and where its export lives."""

    id: str
    vendor: str | None
    """A ``parsers.registry.VENDORS`` name, or ``None`` to auto-detect."""
    config: Path
    """Absolute path of the (first) export; relative paths in the file are resolved against
    the topology file's directory."""
    interfaces: dict[str, str]
    """Export interface name (as the vendor writes it) -> policy zone id."""
    management: tuple[IPAddress, ...] = ()
    configs: tuple[Path, ...] = ()
    """Every export of the device in order (``config`` first): vendors that keep IPv4 and
    IPv6 apart (iptables-save / ip6tables-save) list both. Never empty after loading."""
    span: SourceSpan | None = field(default=None, compare=False, repr=False)

    def __hash__(self) -> int:  # by id: the dict fields are unhashable; equal ⇒ same id
        return hash(self.id)


@dataclass(frozen=True, slots=True)
class Route:
    """A static route on a device: traffic to ``destination`` leaves by ``interface``
    (or towards next hop ``via``). Without routes any loop-free path is assumed possible."""

    device: str
    destination: IPNetwork
    interface: str | None = None
    via: IPAddress | None = None
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BridgeHost:
    """A host that joins zones outside the firewalls' control or relays between them: a jump
    host, a dual-homed workstation. ``zones`` is resolved from ``addresses`` by the policy
    (file order, no duplicates); ``services`` are the policy services it exposes."""

    id: str
    addresses: tuple[IPAddress, ...]
    zones: tuple[str, ...]
    services: tuple[str, ...] = ()
    role: str | None = None
    asset: str | None = None
    """The policy asset this host is, when it is one."""
    description: str | None = None
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Topology:
    """A loaded, reference-checked topology file for one policy."""

    path: str = field(compare=False)
    devices: tuple[TopoDevice, ...]
    routes: tuple[Route, ...] = ()
    hosts: tuple[BridgeHost, ...] = ()
    policy_path: str | None = field(default=None, compare=False)
    """The ``policy:`` key resolved against the topology's directory, when present."""
    span: SourceSpan | None = field(default=None, compare=False, repr=False)

    def __hash__(self) -> int:
        return hash(tuple(d.id for d in self.devices))

    def device(self, device_id: str) -> TopoDevice:
        for d in self.devices:
            if d.id == device_id:
                return d
        raise KeyError(device_id)

    def zone_interfaces(self, zone_id: str) -> tuple[tuple[str, str], ...]:
        """(device id, interface) pairs attached to a zone."""
        return tuple(
            (d.id, i) for d in self.devices for i, z in d.interfaces.items() if z == zone_id
        )


__all__ = [
    "CONTROLS",
    "FORMAT_VERSION",
    "FOUNDATIONAL_REQUIREMENTS",
    "INTERNET_NETWORKS",
    "INTERNET_ZONE",
    "OPERATIONS",
    "SAFETY_ROLES",
    "SEGMENTATIONS",
    "ZONE_KINDS",
    "Asset",
    "BridgeHost",
    "Conduit",
    "ConduitFlow",
    "DeclaredDevice",
    "DmzTermination",
    "Endpoint",
    "GlobalRules",
    "IPAddress",
    "IPNetwork",
    "InternetEgress",
    "ManagementPlane",
    "Policy",
    "PolicyException",
    "RemoteAccess",
    "Route",
    "SafetyZones",
    "Service",
    "TopoDevice",
    "Topology",
    "Zone",
    "collapse",
    "sl_max",
    "sl_vector",
]
