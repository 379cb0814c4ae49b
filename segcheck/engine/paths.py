"""Pivot paths: IT/external -> controllable host -> ... -> OT chains.

A *pivot host* is an asset of a DMZ zone or a bridging host of the topology (a jump host,
a dual-homed workstation; it sits in every zone it has an address in). A chain is

    start zone --(control service)--> h1 --(control service)--> h2 ... --(anything)--> target

where each arrow is a non-empty part of the reach matrix: from the start zone (or from the
previous host's addresses) to the next host's addresses, restricted for the hops *into* a
host to services that give control of it (``CONTROL_PORTS``: RDP, SSH, VNC, WinRM, SMB,
Telnet; for a bridging host that lists its services, only those of them). The last hop
is any permitted traffic from the host into an OT zone; a bridging host that itself sits in
the target zone needs no last hop (it *is* in OT).

Only shortest chains are reported, one per (start zone, target zone, host sequence), at most
``MAX_HOSTS`` hosts long. The result is independent of conduits: a chain made of approved
conduit flows is still a path an attacker holding one IT credential can walk (BRIEF.md §6.2).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from segcheck.engine.packetset import PacketSet
from segcheck.engine.reach import (
    AddressSpace,
    ReachMatrix,
    dst_set,
    networks_space,
    space_intersect,
    src_set,
)
from segcheck.model import ranges as R
from segcheck.model.packet import TCP
from segcheck.model.rules import Match

CONTROL_PORTS: tuple[tuple[int, R.Ranges], ...] = (
    (TCP, ((22, 23), (445, 445), (3389, 3389), (5900, 5900), (5985, 5986))),
)
"""Services that give interactive or administrative control of a host."""

MAX_HOSTS = 3


def control_set(ports: Iterable[tuple[int, R.Ranges]] = CONTROL_PORTS) -> PacketSet:
    return PacketSet.from_matches(
        [Match(protocols=R.single(p), dports=r) for p, r in ports])


@dataclass(frozen=True)
class PivotHost:
    id: str
    zones: tuple[str, ...]
    space: AddressSpace
    control: PacketSet
    """The control services an attacker can use to take the host over."""


@dataclass(frozen=True)
class Step:
    """One arrow of a chain: ``src`` (zone or host id) to ``dst`` over ``packets``."""

    src: str
    dst: str
    src_zone: str
    dst_zone: str
    packets: PacketSet


@dataclass(frozen=True)
class Chain:
    start: str
    target: str
    hosts: tuple[str, ...]
    steps: tuple[Step, ...]


def pivot_hosts(policy: Any, topology: Any, reach: ReachMatrix,
                service_ports: dict[str, tuple[tuple[int, R.Ranges], ...]]) -> list[PivotHost]:
    out: list[PivotHost] = []
    ctl = control_set()
    seen_assets: set[str] = set()
    for h in getattr(topology, "hosts", ()):
        space = networks_space(ipaddress.ip_network(a) for a in h.addresses)
        if h.services:
            ports = [p for s in h.services for p in service_ports.get(s, ())]
            exposed = control_set(ports) & ctl if ports else PacketSet.empty()
        else:
            exposed = ctl
        out.append(PivotHost(h.id, tuple(h.zones), space, exposed))
        if h.asset:
            seen_assets.add(h.asset)
    for zone in policy.zones:
        if zone.kind != "dmz":
            continue
        zspace = reach.spaces.get(zone.id, {})
        for asset in zone.assets.values():
            if asset.id in seen_assets:
                continue
            sp = space_intersect(networks_space(asset.networks), zspace)
            if sp:
                out.append(PivotHost(asset.id, (zone.id,), sp, ctl))
    return out


def chains(policy: Any, topology: Any, reach: ReachMatrix,
           service_ports: dict[str, tuple[tuple[int, R.Ranges], ...]],
           from_kinds: Iterable[str] = ("it", "external"),
           to_kinds: Iterable[str] = ("ot",)) -> list[Chain]:
    """Shortest pivot chains from every ``from_kinds`` zone to every ``to_kinds`` zone."""
    hosts = pivot_hosts(policy, topology, reach, service_ports)
    fk, tk = set(from_kinds), set(to_kinds)
    starts = [z.id for z in policy.zones if z.kind in fk]
    targets = [z.id for z in policy.zones if z.kind in tk]
    out: list[Chain] = []

    def into(src_zone_set: PacketSet, src_zone: str, h: PivotHost) -> tuple[str, PacketSet]:
        for y in h.zones:
            if y == src_zone:
                continue  # same-zone traffic never crosses a firewall we model
            part = reach.cell(src_zone, y) & src_zone_set & dst_set(h.space) & h.control
            if not part.is_empty():
                return y, part
        return "", PacketSet.empty()

    for z in starts:
        # BFS over hosts; each frontier entry: (host, zone used to reach it, steps)
        frontier: list[tuple[PivotHost, tuple[Step, ...]]] = []
        for h in hosts:
            if z in h.zones:
                # a bridging host on the start zone's own LAN: no firewall in between
                if len(h.zones) > 1:
                    part = reach.src_of(z) & dst_set(h.space) & h.control
                    if not part.is_empty():
                        frontier.append((h, (Step(z, h.id, z, z, part),)))
                continue
            y, part = into(reach.src_of(z), z, h)
            if y:
                frontier.append((h, (Step(z, h.id, z, y, part),)))
        found_targets: set[str] = set()
        depth = 1
        visited = {h.id for h, _ in frontier}
        while frontier and depth <= MAX_HOSTS:
            nxt: list[tuple[PivotHost, tuple[Step, ...]]] = []
            for h, steps in frontier:
                hosts_seq = tuple(s.dst for s in steps)
                hsrc = src_set(h.space)
                for t in targets:
                    if t in found_targets:
                        continue
                    if t in h.zones and len(h.zones) > 1:
                        out.append(Chain(z, t, hosts_seq, steps))
                        continue
                    for y in h.zones:
                        if y == t:
                            continue
                        part = reach.cell(y, t) & hsrc
                        if not part.is_empty():
                            out.append(Chain(z, t, hosts_seq, (*steps, Step(h.id, t, y, t, part))))
                            break
                for h2 in hosts:
                    if h2.id in visited:
                        continue
                    for y in h.zones:
                        y2, part = into(hsrc, y, h2)
                        if y2:
                            nxt.append((h2, (*steps, Step(h.id, h2.id, y, y2, part))))
                            break
            found_targets |= {c.target for c in out if c.start == z}
            visited |= {h.id for h, _ in nxt}
            frontier = nxt
            depth += 1
    return out
