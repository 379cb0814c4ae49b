"""What the policy allows, as exact packet sets: services, endpoints, conduit flows.

Invariants:

- ``service_set(s)`` is every packet of the service's protocols with a destination port (or
  ICMP type) in its ranges, from any address to any address, either family.
- An endpoint's address space is its networks *as resolved* (``Policy.resolve``): an asset's
  networks within its zone's effective space, a zone's effective space.
- ``FlowSpace.packets`` = src in a source endpoint x dst in a destination endpoint x one of
  the services; with ``bidirectional`` the reverse is a separate ``FlowSpace`` marked
  ``reverse``. ``Allowed.pair(a, b)`` is the union of every flow space from zone ``a`` to
  zone ``b``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from segcheck.engine.packetset import PacketSet
from segcheck.engine.reach import (
    AddressSpace,
    dst_set,
    networks_space,
    space_intersect,
    src_set,
)
from segcheck.model import ranges as R
from segcheck.model.packet import ICMP, ICMPV6, PORT_PROTOCOLS
from segcheck.model.rules import Match


def port_matches(ports: Iterable[tuple[int, R.Ranges]]) -> list[Match]:
    """Matches for (protocol, ranges) pairs as ``Service.ports`` and
    ``PacketSet.protocols_and_ports`` give them (ports, ICMP types, or nothing)."""
    out: list[Match] = []
    for proto, rng in ports:
        full = rng == ((0, R.PORT_MAX),) or not rng
        if proto in PORT_PROTOCOLS:
            out.append(Match(protocols=R.single(proto), dports=None if full else rng))
        elif proto in (ICMP, ICMPV6):
            fam = 4 if proto == ICMP else 6
            types = R.intersect(rng, ((0, R.ICMP_MAX),))
            out.append(Match(family=fam, protocols=R.single(proto),
                             icmp_types=None if full or types == ((0, R.ICMP_MAX),) else types))
        else:
            out.append(Match(protocols=R.single(proto)))
    return out


def ports_set(ports: Iterable[tuple[int, R.Ranges]]) -> PacketSet:
    return PacketSet.from_matches(port_matches(ports))


def service_set(policy: Any, name: str) -> PacketSet:
    return ports_set(policy.services[name].ports)


@dataclass(frozen=True)
class FlowSpace:
    conduit: Any
    flow: Any
    index: int
    """Position of the flow in its conduit."""
    src_zone: str
    dst_zone: str
    src_ref: str
    dst_ref: str
    packets: PacketSet
    reverse: bool = False

    @property
    def label(self) -> str:
        return f"{self.conduit.id}#{self.index + 1}"


@dataclass
class Allowed:
    flows: list[FlowSpace]

    def pair(self, a: str, b: str, *, conduits: Iterable[str] | None = None) -> PacketSet:
        only = None if conduits is None else set(conduits)
        out = PacketSet.empty()
        for fs in self.flows:
            if fs.src_zone == a and fs.dst_zone == b and (only is None or fs.conduit.id in only):
                out = out | fs.packets
        return out

    def has_conduit(self, a: str, b: str) -> bool:
        return any({fs.src_zone, fs.dst_zone} == {a, b} for fs in self.flows)


def endpoint_space(ep: Any, spaces: dict[str, AddressSpace]) -> AddressSpace:
    zone_space = spaces.get(ep.zone, {})
    if ep.asset is None:
        return zone_space
    return space_intersect(networks_space(ep.networks), zone_space)


def allowed(policy: Any, spaces: dict[str, AddressSpace]) -> Allowed:
    """Every conduit flow as exact packet sets, per (source endpoint, destination endpoint)."""
    out: list[FlowSpace] = []
    for conduit in policy.conduits:
        for k, flow in enumerate(conduit.flows):
            svc = PacketSet.empty()
            for name in flow.services:
                svc = svc | service_set(policy, name)
            for s in flow.sources:
                ss = endpoint_space(s, spaces)
                for d in flow.destinations:
                    ds = endpoint_space(d, spaces)
                    fwd = src_set(ss) & dst_set(ds) & svc
                    out.append(FlowSpace(conduit, flow, k, s.zone, d.zone, s.ref, d.ref, fwd))
                    if flow.bidirectional:
                        rev = src_set(ds) & dst_set(ss) & svc
                        out.append(FlowSpace(conduit, flow, k, d.zone, s.zone, d.ref, s.ref,
                                             rev, reverse=True))
    return Allowed(out)
