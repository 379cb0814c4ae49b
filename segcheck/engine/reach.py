"""Zone-to-zone reachability through the topology: the exact ``ZoneMatrix``.

Semantics (what a cell means, and the invariants every finding relies on):

- Zones attach to device interfaces (``topology.devices[*].interfaces: iface -> zone``). A
  *path* from zone ``A`` to zone ``B`` is a loop-free sequence of device crossings
  ``(D1, i1 -> e1), (D2, i2 -> e2), ...`` where ``i1`` is attached to ``A``, ``e_k`` and
  ``i_{k+1}`` are attached to the same (transit) zone, ``e_last`` is attached to ``B``, and no
  device and no zone appears twice.
- A packet follows the path only if every crossing permits it: for the crossing of ``D``
  from ``i`` to ``e`` that is the intersection of ``permitted(f)`` over
  ``D.forward_filters(ctx_i, ctx_e)`` (a device with no applicable stage forwards
  everything, see ``segcheck.model.device``).
- ``cell(A, B)`` = the union over paths of the packets that pass every crossing, whose
  source address lies in ``A``'s address space and destination address in ``B``'s.
  Only connection-initiating (``new``) packets are considered; return traffic of a permitted
  connection is implied (the devices are assumed stateful), so ``cell(A, B)`` is "what ``A``
  may *initiate* towards ``B``".
- Without routes every loop-free path is assumed possible, so the matrix is a sound
  over-approximation ("may reach"); ``ReachMatrix.limitations`` says so. NAT is not applied
  here (parsers that model translation do so in the filters' address space).
- Management: ``local[(A, D)]`` is what ``A`` may initiate to device ``D`` itself (the
  ``local`` stages), with destination addresses restricted to the device's management and
  interface addresses when any are known.

Zone address spaces follow ``Policy.resolve``: an explicit asset address wins, then the
longest-prefix zone CIDR; so the implicit ``z-internet`` (0/0, ::/0) is everything no other
zone claims.

Contributions: for every cell and every path that carries part of it, the permitting rules of
each crossing whose *effective* set (the part of the rule that decides, ``filters.analyze``)
intersects the path's share of the cell. Those are the rules a reviewer must change to change
the cell, reported with their ``SourceSpan``s.

Cost: one ``analyze`` per (device, ingress, egress) actually used, cached; a depth-first
search per source zone over devices. Candidate contributing rules are pre-filtered with cheap
interval tests on their address boxes before any set intersection; the deciding rules of a
crossing are read off its classification in one walk (``native.py_leaves_within``). Cell
descriptions (``describe``/``services``) read one box cover per cell, memoised.
Measured on the 10-device x 10k-rule benchmark site (``benchmarks/site.py``, one core):
reach matrix ~2.5 s CPU of which ~1.4 s is the engine's ``analyze``.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from segcheck.engine import mdd, native
from segcheck.engine.filters import FilterAnalysis, analyze
from segcheck.engine.packetset import PacketSet, cover_rows, describe_match
from segcheck.model import ranges as R
from segcheck.model.device import Device
from segcheck.model.packet import PORT_PROTOCOLS
from segcheck.model.rules import Action, Filter, IfaceContext, IfaceMatch, Match, Rule

log = logging.getLogger(__name__)

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network
AddressSpace = dict[int, R.Ranges]
"""IP version -> normalized address ranges."""


# ---------------------------------------------------------------- address spaces


def _net_ranges(nets: Iterable[IPNet]) -> AddressSpace:
    out: AddressSpace = {}
    by: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for n in nets:
        by[n.version].append(R.network_range(n))
    for v, items in by.items():
        r = R.normalize(items)
        if r:
            out[v] = r
    return out


def space_minus(a: AddressSpace, b: AddressSpace) -> AddressSpace:
    out: AddressSpace = {}
    for v, ra in a.items():
        top = (1 << R.ADDRESS_BITS[v]) - 1
        rb = b.get(v, ())
        r = R.intersect(ra, R.complement(rb, top)) if rb else ra
        if r:
            out[v] = r
    return out


def space_union(a: AddressSpace, b: AddressSpace) -> AddressSpace:
    out = dict(a)
    for v, rb in b.items():
        out[v] = R.normalize(list(out.get(v, ())) + list(rb))
    return out


def space_intersect(a: AddressSpace, b: AddressSpace) -> AddressSpace:
    out: AddressSpace = {}
    for v, ra in a.items():
        r = R.intersect(ra, b.get(v, ()))
        if r:
            out[v] = r
    return out


def networks_space(nets: Iterable[IPNet]) -> AddressSpace:
    """The address space covered by ``nets`` (both families)."""
    return _net_ranges(nets)


def zone_spaces(policy: Any) -> dict[str, AddressSpace]:
    """Each zone's effective address space, consistent with ``Policy.resolve``.

    The most specific *asset* network containing an address wins; otherwise the most
    specific *zone* CIDR. CIDRs nest or are disjoint, so "more specific and overlapping"
    means "contained".
    """
    zone_nets: list[tuple[IPNet, str]] = []
    asset_nets: list[tuple[IPNet, str]] = []
    for zone in policy.zones:
        zone_nets.extend((n, zone.id) for n in zone.networks)
        for asset in zone.assets.values():
            asset_nets.extend((n, zone.id) for n in asset.networks)

    def carve(net: IPNet, owner: str, table: list[tuple[IPNet, str]],
              also: list[IPNet]) -> AddressSpace:
        inner = [m for m, z in table
                 if z != owner and m.version == net.version and m.prefixlen > net.prefixlen
                 and m.subnet_of(net)]  # type: ignore[arg-type]
        return space_minus(_net_ranges([net]), _net_ranges(inner + also))

    out: dict[str, AddressSpace] = {}
    for zone in policy.zones:
        others_assets = [n for n, z in asset_nets if z != zone.id]
        space: AddressSpace = {}
        for net, z in asset_nets:
            if z == zone.id:
                space = space_union(space, carve(net, z, asset_nets, []))
        for net in zone.networks:
            space = space_union(space, carve(net, zone.id, zone_nets, others_assets))
        out[zone.id] = space
    return out


def src_set(space: AddressSpace) -> PacketSet:
    """All packets whose source address lies in ``space``."""
    return PacketSet.from_matches(
        [Match(family=v, src=r) for v, r in sorted(space.items()) if r]
    )


def dst_set(space: AddressSpace) -> PacketSet:
    """All packets whose destination address lies in ``space``."""
    return PacketSet.from_matches(
        [Match(family=v, dst=r) for v, r in sorted(space.items()) if r]
    )


# ---------------------------------------------------------------- result shapes


@dataclass(frozen=True, slots=True)
class Crossing:
    """One device crossing on a path: ``device`` entered on ``ingress``, left on ``egress``
    (``egress`` None: the packet is addressed to the device itself)."""

    device: str
    ingress: str
    egress: str | None
    src_zone: str
    dst_zone: str | None


@dataclass(frozen=True, slots=True)
class Contribution:
    """A rule that lets part of a cell through one crossing."""

    device: str
    filter: str
    index: int
    """The rule's position in the (unspecialized) device filter."""
    rule: Rule


@dataclass(frozen=True)
class PathShare:
    """The part of a cell that follows one path."""

    crossings: tuple[Crossing, ...]
    packets: PacketSet


@dataclass(frozen=True)
class Cell:
    src: str
    dst: str
    """A zone id, or ``device:<id>`` for management cells."""
    permitted: PacketSet
    paths: tuple[PathShare, ...]


@dataclass(frozen=True)
class HopAnalysis:
    """The filters one crossing applies, analysed (specialized to the interface pair)."""

    device: str
    ingress: str
    egress: str | None
    permitted: PacketSet
    filters: tuple[tuple[str, Filter, FilterAnalysis, tuple[int, ...]], ...]
    """(filter name, specialized filter, its analysis, original index of each kept rule)."""


@dataclass
class ReachMatrix:
    spaces: dict[str, AddressSpace]
    cells: dict[tuple[str, str], Cell]
    local: dict[tuple[str, str], Cell]
    """(source zone, device id) -> what the zone may initiate to the device itself."""
    hops: dict[tuple[str, str, str | None], HopAnalysis]
    devices: Mapping[str, Device] = field(default_factory=dict)
    route_space: dict[tuple[str, str], AddressSpace] = field(default_factory=dict)
    """(device, egress) -> destinations routed out of that interface (devices with routes)."""
    limitations: list[str] = field(default_factory=list)
    _src_cache: dict[str, PacketSet] = field(default_factory=dict)
    _dst_cache: dict[str, PacketSet] = field(default_factory=dict)
    _contrib_cache: dict[tuple[str, str, bool], tuple[Contribution, ...]] = field(
        default_factory=dict)
    _facts_cache: dict[PacketSet, tuple[str, tuple[tuple[int, R.Ranges], ...]]] = field(
        default_factory=dict)
    _prepared: dict[str, dict[str, tuple[Filter, _Prepared]]] = field(default_factory=dict)
    """device -> filter name -> (filter, ``prepare(filter)``): specialization work shared by
    the device's interface pairs."""

    def hop(self, device: str, ingress: str, egress: str | None) -> HopAnalysis:
        """The analysed crossing (cached); routes restrict ``permitted`` to routed dsts."""
        key = (device, ingress, egress)
        if key not in self.hops:
            h = hop_analysis(self.devices[device], ingress, egress,
                             self._prepared.setdefault(device, {}))
            if egress is not None and (device, egress) in self.route_space:
                h = replace(h, permitted=h.permitted & dst_set(self.route_space[(device, egress)]))
            self.hops[key] = h
        return self.hops[key]

    def cell(self, src: str, dst: str) -> PacketSet:
        c = self.cells.get((src, dst))
        return c.permitted if c is not None else PacketSet.empty()

    def describe(self, ps: PacketSet) -> str:
        """``ps.summary()``, memoised, reading the set's box cover once (shared with
        ``services``) and describing only the boxes the summary shows."""
        return self._facts(ps)[0]

    def services(self, ps: PacketSet) -> list[tuple[int, R.Ranges]]:
        """``ps.protocols_and_ports()``, memoised (see ``describe``)."""
        return list(self._facts(ps)[1])

    def _facts(self, ps: PacketSet) -> tuple[str, tuple[tuple[int, R.Ranges], ...]]:
        got = self._facts_cache.get(ps)
        if got is None:
            if ps.node_count(cap=64) < 64:  # small: the engine's own renderings
                got = (ps.summary(), tuple(ps.protocols_and_ports()))
            else:
                got = _facts_of(ps)
            self._facts_cache[ps] = got
        return got

    def between(self, src_zone: str, dst_zone: str, src_space: AddressSpace | None = None,
                dst_space: AddressSpace | None = None) -> PacketSet:
        """What ``src_space`` (default: the whole source zone) may initiate to ``dst_space``
        (default: the whole destination zone): the zone cell restricted to those addresses,
        e.g. to named assets. Spaces must lie inside their zones' effective spaces."""
        out = self.cell(src_zone, dst_zone)
        if src_space is not None:
            out = out & src_set(src_space)
        if dst_space is not None:
            out = out & dst_set(dst_space)
        return out

    def src_of(self, zone: str) -> PacketSet:
        if zone not in self._src_cache:
            self._src_cache[zone] = src_set(self.spaces.get(zone, {}))
        return self._src_cache[zone]

    def dst_of(self, zone: str) -> PacketSet:
        if zone not in self._dst_cache:
            self._dst_cache[zone] = dst_set(self.spaces.get(zone, {}))
        return self._dst_cache[zone]

    def _zone_boxes(self, src: str, dst: str | None) -> list[Match]:
        """Boxes covering src-zone x dst-zone addresses (a cheap rule prefilter)."""
        s_sp = self.spaces.get(src, {})
        d_sp = self.spaces.get(dst, {}) if dst is not None else None
        out = []
        for v, rs in s_sp.items():
            if d_sp is None:
                out.append(Match(family=v, src=rs))
            elif d_sp.get(v):
                out.append(Match(family=v, src=rs, dst=d_sp[v]))
        return out

    def contributions(self, src: str, dst: str, offending: PacketSet | None = None,
                      *, local: bool = False) -> list[Contribution]:
        """The permitting rules, on every crossing of every path, that carry part of
        ``offending`` (default: the whole cell) from ``src`` to ``dst``."""
        cell = (self.local if local else self.cells).get((src, dst))
        if cell is None:
            return []
        if offending is not None and offending == cell.permitted:
            offending = None  # the whole cell (the same rules): share the cached answer
        key = (src, dst, local)
        if offending is None and key in self._contrib_cache:
            return list(self._contrib_cache[key])
        out: list[Contribution] = []
        seen: set[tuple[str, str, int]] = set()
        for share in cell.paths:
            part = share.packets if offending is None else share.packets & offending
            if part.is_empty():
                continue
            boxes = self._zone_boxes(src, None if local else dst)
            for cr in share.crossings:
                hop = self.hops[(cr.device, cr.ingress, cr.egress)]
                for c in hop_contributions(hop, part, boxes):
                    ckey = (c.device, c.filter, c.index)
                    if ckey not in seen:
                        seen.add(ckey)
                        out.append(c)
        if offending is None:
            self._contrib_cache[key] = tuple(out)
        return out


SUMMARY_PARTS = 4
"""Boxes a summary spells out (the engine's ``PacketSet.summary`` shows as many)."""


def _facts_of(ps: PacketSet) -> tuple[str, tuple[tuple[int, R.Ranges], ...]]:
    """Summary text and per-protocol destination ports from one box cover of ``ps``, with
    the same meaning as ``PacketSet.summary`` / ``protocols_and_ports``."""
    if ps.is_empty():
        return "nothing", ()
    u = ps.universe_of
    cover = cover_rows(u, ps.node)  # to_matches' boxes as fields: only 4 become Matches
    text = "; ".join(describe_match(Match(**m), u)  # type: ignore[arg-type]
                     for m in cover[:SUMMARY_PARTS])
    if len(cover) > SUMMARY_PARTS:
        text += f"; (+{len(cover) - SUMMARY_PARTS} more)"
    everything = R.single(0, (1 << u.port_bits) - 1)
    all_protos: R.Ranges | None = None
    acc: dict[int, list[tuple[int, int]]] = {}
    for m in cover:
        protos: R.Ranges | None = m["protocols"]  # type: ignore[assignment]
        if protos is None:
            if all_protos is None:
                all_protos = R.normalize((p, p) for p in u.protocol_list())
            protos = all_protos
        for lo, hi in protos:
            for proto in range(lo, hi + 1):
                got = acc.setdefault(proto, [])
                if proto in PORT_PROTOCOLS:
                    got.extend(m["dports"] or everything)  # type: ignore[arg-type]
    # one normalize per protocol (the union of its boxes' ports), not one per box
    return text, tuple(sorted((proto, R.normalize(ivs)) for proto, ivs in acc.items()))


def hop_contributions(hop: HopAnalysis, part: PacketSet,
                      boxes: list[Match] | None = None) -> list[Contribution]:
    """The permitting rules of one crossing whose effective sets meet ``part``.

    ``boxes``, when given, must cover ``part``: rules whose matches overlap none of them are
    skipped without a set operation.
    """
    out: list[Contribution] = []
    for fname, _flt, fa, kept in hop.filters:
        fast = _deciders(fa, part)
        if fast is not None:
            for idx in sorted(fast):
                ra = fa.rules[idx]
                if ra.rule.action is Action.PERMIT:
                    out.append(Contribution(hop.device, fname, kept[idx], ra.rule))
            continue
        for ra in fa.rules:
            rule = ra.rule
            if rule.action is not Action.PERMIT or ra.status == "disabled":
                continue
            if boxes is not None and not may_meet(rule, boxes):
                continue
            if (ra.effective & part).is_empty():
                continue
            out.append(Contribution(hop.device, fname, kept[ra.index], rule))
    return out


def _deciders(fa: FilterAnalysis, part: PacketSet) -> set[int] | None:
    """Indices of the rules that decide some packet of ``part`` (= whose effective set meets
    it), read off the filter's first-match classification diagram in one walk.

    Uses the engine's classification kept by ``analyze`` (``RuleAnalysis._shared``), which the
    engine does not publish yet; returns None (callers fall back to one intersection per rule)
    when that internal shape is not there or the universes differ.
    """
    if not fa.rules:
        return set()
    shared = getattr(fa.rules[0], "_shared", None)
    c = getattr(shared, "classification", None)
    u = getattr(shared, "universe", None)
    if c is None or u is None or part.universe_of is not u:
        return None
    try:
        leaves = native.py_leaves_within(u, c, part.node)
    except (AttributeError, TypeError):  # pragma: no cover - engine internals changed
        return None
    return {mdd.leaf_rule(t) for t in leaves if t != mdd.UNDECIDED}


def _overlap(a: R.Ranges | None, b: R.Ranges | None) -> bool:
    if a is None or b is None:
        return True
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i][1] < b[j][0]:
            i += 1
        elif b[j][1] < a[i][0]:
            j += 1
        else:
            return True
    return False


def _box_meets(m: Match, b: Match) -> bool:
    if m.family is not None and b.family is not None and m.family != b.family:
        return False
    return (_overlap(m.src, b.src) and _overlap(m.dst, b.dst)
            and _overlap(m.protocols, b.protocols) and _overlap(m.dports, b.dports))


def may_meet(rule: Rule, boxes: list[Match]) -> bool:
    """Cheap necessary condition (interval overlap per field) for the rule's matches to
    meet one of ``boxes``; the exact test follows on the survivors."""
    return any(_box_meets(m, b) for m in rule.matches for b in boxes)


# ---------------------------------------------------------------- computation


def kept_indices(flt: Filter, ingress: IfaceContext, egress: IfaceContext) -> tuple[int, ...]:
    """Original indices of the rules ``flt.specialize(ingress, egress)`` keeps (same test)."""
    return tuple(
        k for k, rule in enumerate(flt.rules)
        if any(m.iface_ok(ingress, egress) for m in rule.matches)
    )


_Cond = tuple[tuple[IfaceMatch, ...], tuple[IfaceMatch, ...]]
_Entry = tuple[Rule, tuple[tuple[int, Match], ...], tuple[tuple[int, Match], ...]] | Rule
_Prepared = tuple[tuple[_Cond, ...], tuple[_Entry, ...], dict[tuple[int, ...], list[int]]]
"""(distinct interface conditions; per rule: the rule itself when it has no interface
condition, else (rule, (condition id, interface-free match) per match, the same per
exclude); rule indices by the condition ids of their matches — a pair visits only the rules
one of whose match conditions it satisfies)."""


def prepare(flt: Filter) -> _Prepared:
    """The per-filter part of ``specialize_kept``, done once however many interface pairs the
    filter is specialized to: every match's interface condition (numbered, so a pair tests
    each distinct condition once) and its interface-free form."""
    ids: dict[_Cond, int] = {((), ()): 0}
    setdefault = ids.setdefault

    def conds(ms: tuple[Match, ...]) -> tuple[tuple[int, Match], ...]:
        out = []
        for m in ms:
            if m.in_iface or m.out_iface:
                out.append((setdefault((m.in_iface, m.out_iface), len(ids)), m.without_ifaces()))
            else:
                out.append((0, m))
        return tuple(out)

    rules: list[_Entry] = []
    by_conds: dict[tuple[int, ...], list[int]] = {}
    for k, rule in enumerate(flt.rules):
        ms, xs = rule.matches, rule.excludes
        if len(ms) == 1 and not xs:  # the common shape, tested without a generator
            m = ms[0]
            if m.in_iface or m.out_iface:
                c = setdefault((m.in_iface, m.out_iface), len(ids))
                rules.append((rule, ((c, m.without_ifaces()),), ()))
                by_conds.setdefault((c,), []).append(k)
            else:
                rules.append(rule)
                by_conds.setdefault((0,), []).append(k)
        elif any(m.in_iface or m.out_iface for m in (*ms, *xs)):
            mconds = conds(ms)
            rules.append((rule, mconds, conds(xs)))
            by_conds.setdefault(tuple(sorted({c for c, _ in mconds})), []).append(k)
        else:
            rules.append(rule)
            if ms:  # a rule that matches nothing is dropped, as by specialize
                by_conds.setdefault((0,), []).append(k)
    return tuple(ids), tuple(rules), by_conds


def specialize_kept(flt: Filter, ingress: IfaceContext, egress: IfaceContext,
                    prepared: _Prepared | None = None) -> tuple[Filter, tuple[int, ...]]:
    """``flt.specialize(ingress, egress)`` and the original index of every rule it keeps, in
    one pass (the same per-match test as ``Filter.specialize``, evaluated once per distinct
    interface condition). ``prepared`` is ``prepare(flt)``, when the caller keeps it."""
    conds, rules, by_conds = prepared if prepared is not None else prepare(flt)
    ok = [all(m.matches(ingress) for m in ins) and all(m.matches(egress) for m in outs)
          for ins, outs in conds]
    # only rules with a match whose condition holds can be kept (a rule without matches
    # never is: it has no condition ids)
    candidates = sorted(itertools.chain.from_iterable(
        ks for cs, ks in by_conds.items() if any(ok[c] for c in cs)))
    out: list[Rule] = []
    kept: list[int] = []
    for k in candidates:
        entry = rules[k]
        if isinstance(entry, Rule):  # no interface condition: kept as it is
            out.append(entry)
            kept.append(k)
            continue
        rule, mconds, xconds = entry
        if len(mconds) == 1 and not xconds:  # one match (its condition holds: a candidate)
            out.append(rule.with_matches((mconds[0][1],), ()))
            kept.append(k)
            continue
        ms = tuple(m for c, m in mconds if ok[c])
        if not ms:
            continue
        out.append(rule.with_matches(ms, tuple(m for c, m in xconds if ok[c])))
        kept.append(k)
    return replace(flt, rules=tuple(out)), tuple(kept)


def hop_analysis(device: Device, ingress: str, egress: str | None,
                 prepared: dict[str, tuple[Filter, _Prepared]] | None = None) -> HopAnalysis:
    """Analyse the filters ``device`` applies from ``ingress`` to ``egress`` (None: local).
    ``prepared`` caches ``prepare`` per filter name of this device across calls."""
    ci = device.context(ingress)
    ce = device.context(egress) if egress is not None else IfaceContext()
    stages = device.forward if egress is not None else device.local
    filters = []
    permitted = PacketSet.universe()
    for st in stages:
        if not st.applies(ci, ce):
            continue
        base = device.filters[st.filter]
        prep = None
        if prepared is not None:
            got = prepared.get(st.filter)
            if got is None or got[0] is not base:
                got = prepared[st.filter] = (base, prepare(base))
            prep = got[1]
        spec, kept = specialize_kept(base, ci, ce, prep)
        fa = analyze(spec)
        filters.append((st.filter, spec, fa, kept))
        permitted = permitted & fa.permitted
    return HopAnalysis(device.name, ingress, egress, permitted, tuple(filters))


def route_spaces(topo_devs: Iterable[Any], devices: Mapping[str, Device],
                 routes: Iterable[Any], spaces: Mapping[str, AddressSpace],
                 ) -> dict[tuple[str, str], AddressSpace]:
    """Per (device, egress interface), the destinations the device routes out of it.

    Only devices that declare at least one route are restricted. Connected zones (the zone
    attached to an interface) come first; then static routes by longest prefix. A route
    given only by next hop picks the interface whose address network holds the next hop.
    """
    by_dev: dict[str, list[Any]] = {}
    for r in routes:
        by_dev.setdefault(r.device, []).append(r)
    out: dict[tuple[str, str], AddressSpace] = {}
    for td in topo_devs:
        rs = by_dev.get(td.id)
        if not rs:
            continue
        dev = devices[td.id]
        assigned: AddressSpace = {}
        for iface, zone in td.interfaces.items():
            sp = spaces.get(zone, {})
            out[(td.id, iface)] = dict(sp)
            assigned = space_union(assigned, sp)
        for r in sorted(rs, key=lambda r: -r.destination.prefixlen):
            iface = r.interface
            if iface is None and r.via is not None:
                for name, itf in dev.interfaces.items():
                    if any(r.via in a.network for a in itf.addresses):
                        iface = name
                        break
            if iface is None:
                continue
            part = space_minus(_net_ranges([r.destination]), assigned)
            out[(td.id, iface)] = space_union(out.get((td.id, iface), {}), part)
            assigned = space_union(assigned, part)
    return out


def device_addresses(device: Device, management: Iterable[Any] = ()) -> AddressSpace:
    nets: list[IPNet] = [ipaddress.ip_network(a) for a in management]
    for iface in device.interfaces.values():
        nets.extend(ipaddress.ip_network(a.ip) for a in iface.addresses)
    return _net_ranges(nets)


def compute(policy: Any, topology: Any, devices: Mapping[str, Device]) -> ReachMatrix:
    """The full matrix: every ordered zone pair and every (zone, device) management cell.

    ``devices`` maps topology device id -> parsed ``Device``; a topology device without an
    entry is skipped (and named in the limitations).
    """
    spaces = zone_spaces(policy)
    rm = ReachMatrix(spaces=spaces, cells={}, local={}, hops={}, devices=devices)
    topo_devs = [d for d in topology.devices if d.id in devices]
    missing = [d.id for d in topology.devices if d.id not in devices]
    if missing:
        rm.limitations.append(
            "devices not analysed (treated as blocking everything): " + ", ".join(missing))
    attach: dict[str, list[tuple[str, str]]] = {}
    for td in topo_devs:
        for iface, zone in td.interfaces.items():
            attach.setdefault(zone, []).append((td.id, iface))
    mgmt_dst = {
        td.id: device_addresses(devices[td.id], getattr(td, "management", ()))
        for td in topo_devs
    }
    iface_zone = {td.id: dict(td.interfaces) for td in topo_devs}

    routes = tuple(getattr(topology, "routes", ()))
    rm.route_space.update(route_spaces(topo_devs, devices, routes, spaces))
    hop = rm.hop

    acc: dict[tuple[str, str], list[PathShare]] = {}
    acc_local: dict[tuple[str, str], list[PathShare]] = {}

    def explore(a: str, dev: str, i: str, s: PacketSet, vdev: frozenset[str],
                vzone: frozenset[str], path: tuple[Crossing, ...]) -> None:
        zin = iface_zone[dev][i]
        # the device itself as destination
        lh = hop(dev, i, None)
        addr = mgmt_dst[dev]
        to_dev = s & lh.permitted
        if addr:
            to_dev = to_dev & dst_set(addr)
        if not to_dev.is_empty():
            cr = Crossing(dev, i, None, zin, None)
            acc_local.setdefault((a, dev), []).append(PathShare((*path, cr), to_dev))
        for e, z in iface_zone[dev].items():
            if e == i or z in vzone:
                continue
            h = hop(dev, i, e)
            s2 = s & h.permitted
            if s2.is_empty():
                continue
            cr = Crossing(dev, i, e, zin, z)
            npath = (*path, cr)
            arrive = s2 & rm.dst_of(z)
            if not arrive.is_empty():
                acc.setdefault((a, z), []).append(PathShare(npath, arrive))
            for dev2, j in attach.get(z, ()):
                if dev2 in vdev:
                    continue
                explore(a, dev2, j, s2, vdev | {dev2}, vzone | {z}, npath)

    for zone in policy.zones:
        a = zone.id
        start = rm.src_of(a)
        if start.is_empty():
            continue
        for dev, i in attach.get(a, ()):
            explore(a, dev, i, start, frozenset({dev}), frozenset({a}), ())

    for (a, b), shares in acc.items():
        total = PacketSet.empty()
        for sh in shares:
            total = total | sh.packets
        rm.cells[(a, b)] = Cell(a, b, total, tuple(shares))
    for (a, d), shares in acc_local.items():
        total = PacketSet.empty()
        for sh in shares:
            total = total | sh.packets
        rm.local[(a, d)] = Cell(a, f"device:{d}", total, tuple(shares))

    if routes:
        rm.limitations.append(
            "Static routes restrict which destinations leave each interface of a device that "
            "declares routes (longest prefix; a zone attached to an interface counts as a "
            "connected route); devices without routes may forward along any loop-free path.")
    else:
        rm.limitations.append(
            "Reachability is a sound over-approximation (\"may reach\"): no routes are "
            "declared, so every loop-free path of devices between two zones is assumed possible.")
    rm.limitations.append(
        "Only connection-initiating packets are analysed; return traffic of a permitted "
        "connection is assumed to be allowed (stateful devices).")
    rm.limitations.append(
        "Address translation is not applied between devices; zones are matched on "
        "pre-translation addresses as the parsers modelled them.")
    return rm
