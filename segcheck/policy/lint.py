"""Policy and topology lint: semantic problems of a well-formed file, as ``Diagnostic``s.

Each diagnostic has a stable ``code`` (``lint.*``) and the span of the object at fault.
``ERROR`` means the policy is ambiguous or contradicts itself, so an analysis built on it
could be wrong (``segcheck validate`` exits 2); ``WARNING`` is a governance gap the analysis
can still work with (exit 0).

Codes (level: what):

- ``lint.duplicate-id`` (error): a zone/asset/conduit/exception/device/host id used twice;
  an id shared by a zone and an asset makes flow endpoints ambiguous.
- ``lint.address-in-two-zones`` (error): an address claimed by two zones (CIDRs or asset
  addresses). Nesting inside an ``external`` zone is refinement (longest prefix), not a
  conflict.
- ``lint.asset-outside-zone`` (warning): an asset address outside its zone's CIDRs (it still
  resolves to that zone).
- ``lint.flow-outside-conduit`` (error): a flow endpoint's zone is not one of the conduit's
  ``between`` zones, or both ends of a flow sit in the same zone.
- ``lint.ot-zone-without-sl`` (error): an OT zone with no ``sl_t`` (ZCR 5 not done).
- ``lint.safety-zone-mixed`` (error): safety and non-safety assets share a zone (ZCR 3).
- ``lint.safety-zone-unmarked`` (warning): a zone of safety assets lacks ``safety: true``.
- ``lint.conduit-sl-below-zone`` (warning): conduit SL-T below its zones' SL-T (per FR) with
  no ``compensating`` controls; only when ``global_rules.conduit_sl_ge_zone_sl``.
- ``lint.conduit-expired`` / ``lint.exception-expired`` (warning): past ``expires``.
- ``lint.exception-too-long`` (warning): longer than ``max_exception_days`` (counted from
  ``created``, else from today), or no expiry at all.
- ``lint.unknown-finding-code`` (warning): an exception names a code segcheck does not emit.
- ``lint.unknown-device`` (warning): ``enforced_by`` names a device the topology lacks.
- ``lint.zone-unattached`` (warning): a zone no device interface or bridging host touches.
- ``lint.management-outside-plane`` (warning): a device management address outside
  ``management_plane.only_from``.

"Today" is a parameter so results are reproducible (tests, audits of a past date).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.policy.loader import FINDING_CODE
from segcheck.policy.model import (
    FOUNDATIONAL_REQUIREMENTS,
    IPNetwork,
    Policy,
    Topology,
    Zone,
    sl_vector,
)
from segcheck.policy.yamlnodes import suggest

FINDING_CODES = (
    "SC-PATH-UNAUTH", "SC-DMZ-BYPASS", "SC-DMZ-TRANSIT", "SC-ANY-RULE", "SC-BROAD-PORTS",
    "SC-SHADOWED", "SC-REDUNDANT", "SC-EGRESS-INTERNET", "SC-REMOTE-NO-MFA", "SC-SIS-REACH",
    "SC-DIRECTION", "SC-MGMT-EXPOSED", "SC-IPV6-GAP", "SC-OBS-BYPASS", "SC-OBS-DANGEROUS-OP",
    "SC-OBS-DISCOVERY", "SC-EXC-EXPIRED", "SC-NO-JUSTIFICATION",
)
"""The BRIEF.md §4 codes; an exception naming another code gets a warning (codes may be
added by the analysis, so this is not an error)."""


def _diag(level: Level, code: str, message: str, span: SourceSpan | None) -> Diagnostic:
    return Diagnostic(level=level, message=message, span=span, code=code)


def lint_policy(policy: Policy, *, today: date | None = None) -> tuple[Diagnostic, ...]:
    """Every lint diagnostic of ``policy``, errors and warnings, in file order per check."""
    today = today or date.today()
    out: list[Diagnostic] = []
    out += _duplicates(policy)
    out += _zone_overlaps(policy)
    out += _assets_outside(policy)
    out += _flows(policy)
    out += _zones(policy)
    out += _conduit_sl(policy)
    out += _dates(policy, today)
    return tuple(out)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.level is Level.ERROR for d in diagnostics)


def _duplicates(policy: Policy) -> Iterator[Diagnostic]:
    def dups(kind: str, items: Iterable[tuple[str, SourceSpan | None]]) -> Iterator[Diagnostic]:
        seen: dict[str, SourceSpan | None] = {}
        for ident, span in items:
            if ident in seen:
                first = seen[ident]
                where = f" (first at line {first.line})" if first else ""
                yield _diag(Level.ERROR, "lint.duplicate-id",
                            f"duplicate {kind} id {ident!r}{where}", span)
            else:
                seen[ident] = span

    zones = [z for z in policy.zones if not z.implicit]
    yield from dups("zone", ((z.id, z.span) for z in zones))
    yield from dups("asset", ((a.id, a.span) for z in zones for a in z.assets.values()))
    zone_ids = {z.id for z in zones}
    for z in zones:
        for a in z.assets.values():
            if a.id in zone_ids:
                yield _diag(Level.ERROR, "lint.duplicate-id",
                            f"asset id {a.id!r} is also a zone id: flow endpoints naming it are "
                            "ambiguous", a.span)
    yield from dups("conduit", ((c.id, c.span) for c in policy.conduits))
    yield from dups("exception", ((e.id, e.span) for e in policy.exceptions))
    yield from dups("device", ((d.id, d.span) for d in policy.devices))


def _claims(zone: Zone) -> list[tuple[IPNetwork, str, SourceSpan | None]]:
    """(network, what, span) a zone claims: its CIDRs and its assets' networks."""
    out: list[tuple[IPNetwork, str, SourceSpan | None]] = [
        (n, f"CIDR {n}", zone.span) for n in zone.networks
    ]
    for a in zone.assets.values():
        out += [(n, f"asset {a.id!r} ({n})", a.span) for n in a.networks]
    return out


def _zone_overlaps(policy: Policy) -> Iterator[Diagnostic]:
    zones = [z for z in policy.zones if not z.implicit]
    for i, za in enumerate(zones):
        for zb in zones[i + 1:]:
            reported = False
            for na, wa, _ in _claims(za):
                for nb, wb, sb in _claims(zb):
                    if reported or na.version != nb.version or not na.overlaps(nb):
                        continue
                    # Nesting inside an external catch-all (internet, vendor /16) is refinement.
                    if na.prefixlen < nb.prefixlen and za.kind == "external":
                        continue
                    if nb.prefixlen < na.prefixlen and zb.kind == "external":
                        continue
                    witness = (na if na.prefixlen >= nb.prefixlen else nb).network_address
                    yield _diag(
                        Level.ERROR, "lint.address-in-two-zones",
                        f"address {witness} is in zone {za.id!r} ({wa}) and in zone "
                        f"{zb.id!r} ({wb})", sb,
                    )
                    reported = True


def _assets_outside(policy: Policy) -> Iterator[Diagnostic]:
    for z in policy.zones:
        if not z.networks:
            continue
        for a in z.assets.values():
            for n in a.networks:
                if not any(n.version == c.version and n.subnet_of(c)  # type: ignore[arg-type]
                           for c in z.networks):
                    yield _diag(
                        Level.WARNING, "lint.asset-outside-zone",
                        f"asset {a.id!r} address {n} is outside the CIDRs of zone {z.id!r} "
                        f"({', '.join(map(str, z.networks))}); it still belongs to {z.id!r}",
                        a.span,
                    )


def _flows(policy: Policy) -> Iterator[Diagnostic]:
    for c in policy.conduits:
        for f in c.flows:
            bad = [e.ref for e in f.sources + f.destinations if e.zone not in c.between]
            if bad:
                yield _diag(
                    Level.ERROR, "lint.flow-outside-conduit",
                    f"flow endpoint(s) {', '.join(map(repr, bad))} of conduit {c.id!r} are not "
                    f"in its zones {c.between[0]!r}/{c.between[1]!r}", f.span,
                )
                continue
            same = sorted({s.zone for s in f.sources} & {d.zone for d in f.destinations})
            if same:
                yield _diag(
                    Level.ERROR, "lint.flow-outside-conduit",
                    f"flow of conduit {c.id!r} has sources and destinations in the same zone "
                    f"{same[0]!r}: a conduit flow crosses between its two zones", f.span,
                )


def _zones(policy: Policy) -> Iterator[Diagnostic]:
    for z in policy.zones:
        if z.kind == "ot" and z.sl_t is None:
            yield _diag(Level.ERROR, "lint.ot-zone-without-sl",
                        f"OT zone {z.id!r} has no sl_t (target security level)", z.span)
        if not z.assets:
            continue
        safety = [a.id for a in z.assets.values() if policy.is_safety_asset(a)]
        other = [a.id for a in z.assets.values() if not policy.is_safety_asset(a)]
        if safety and other:
            yield _diag(
                Level.ERROR, "lint.safety-zone-mixed",
                f"zone {z.id!r} mixes safety assets ({', '.join(safety)}) with non-safety "
                f"assets ({', '.join(other)}); safety functions need their own zone (ZCR 3)",
                z.span,
            )
        elif safety and not z.safety:
            yield _diag(Level.WARNING, "lint.safety-zone-unmarked",
                        f"zone {z.id!r} holds only safety assets but lacks 'safety: true'",
                        z.span)


def _conduit_sl(policy: Policy) -> Iterator[Diagnostic]:
    if not policy.global_rules.conduit_sl_ge_zone_sl:
        return
    for c in policy.conduits:
        need: dict[str, int] = {}
        for zid in c.between:
            vec = sl_vector(policy.zone(zid).sl_t)
            for fr, level in (vec or {}).items():
                need[fr] = max(need.get(fr, 0), level)
        if not need or c.compensating:
            continue
        have = sl_vector(c.sl_t)
        if have is None:
            yield _diag(
                Level.WARNING, "lint.conduit-sl-below-zone",
                f"conduit {c.id!r} has no sl_t; its zones require up to "
                f"{max(need.values())} (declare sl_t or compensating controls)", c.span,
            )
            continue
        short = [f"{fr} {have[fr]} < {need[fr]}" for fr in FOUNDATIONAL_REQUIREMENTS
                 if fr in need and have[fr] < need[fr]]
        if short:
            yield _diag(
                Level.WARNING, "lint.conduit-sl-below-zone",
                f"conduit {c.id!r} sl_t is below its zones' sl_t ({', '.join(short)}) and "
                "declares no compensating controls", c.span,
            )


def _dates(policy: Policy, today: date) -> Iterator[Diagnostic]:
    for c in policy.conduits:
        if c.expires is not None and c.expires < today:
            yield _diag(Level.WARNING, "lint.conduit-expired",
                        f"conduit {c.id!r} expired on {c.expires}", c.span)
    limit = policy.global_rules.max_exception_days
    for e in policy.exceptions:
        if e.expires is not None and e.expires < today:
            yield _diag(Level.WARNING, "lint.exception-expired",
                        f"exception {e.id!r} expired on {e.expires} (today is {today}); it no "
                        "longer suppresses anything", e.span)
        if limit is not None:
            start = e.created or today
            if e.expires is None:
                yield _diag(Level.WARNING, "lint.exception-too-long",
                            f"exception {e.id!r} has no expiry (max_exception_days is {limit})",
                            e.span)
            elif (e.expires - start).days > limit:
                yield _diag(
                    Level.WARNING, "lint.exception-too-long",
                    f"exception {e.id!r} lasts {(e.expires - start).days} days "
                    f"({start} to {e.expires}), more than max_exception_days {limit}", e.span,
                )
        if FINDING_CODE.match(e.finding) and e.finding not in FINDING_CODES:
            yield _diag(Level.WARNING, "lint.unknown-finding-code",
                        f"exception {e.id!r} names unknown finding code {e.finding!r}"
                        f"{suggest(e.finding, FINDING_CODES)}", e.span)


def lint_topology(topology: Topology, policy: Policy) -> tuple[Diagnostic, ...]:
    """Lint of a topology against its policy (devices, hosts, zone attachment)."""
    return tuple(_topo_duplicates(topology)) + tuple(_topo_refs(topology, policy))


def _topo_duplicates(topology: Topology) -> Iterator[Diagnostic]:
    for kind, items in (("device", topology.devices), ("host", topology.hosts)):
        seen: set[str] = set()
        for x in items:
            if x.id in seen:
                yield _diag(Level.ERROR, "lint.duplicate-id", f"duplicate {kind} id {x.id!r}",
                            x.span)
            seen.add(x.id)


def _topo_refs(topology: Topology, policy: Policy) -> Iterator[Diagnostic]:
    device_ids = {d.id for d in topology.devices}
    for c in policy.conduits:
        for did in c.enforced_by:
            if did not in device_ids:
                yield _diag(
                    Level.WARNING, "lint.unknown-device",
                    f"conduit {c.id!r} is enforced_by {did!r}, which {topology.path} does not "
                    f"define{suggest(did, device_ids)}", c.span,
                )
    attached = {z for d in topology.devices for z in d.interfaces.values()}
    attached |= {z for h in topology.hosts for z in h.zones}
    for z in policy.zones:
        if z.id not in attached and not z.implicit:
            yield _diag(Level.WARNING, "lint.zone-unattached",
                        f"zone {z.id!r} is attached to no device interface or host in "
                        f"{topology.path}", z.span)
    plane = policy.global_rules.management_plane
    if plane is None or not plane.only_from:
        return
    for d in topology.devices:
        for addr in d.management:
            hit = policy.resolve(addr)
            zone = hit[0] if hit else None
            if zone not in plane.only_from:
                yield _diag(
                    Level.WARNING, "lint.management-outside-plane",
                    f"device {d.id!r} management address {addr} is in zone {zone!r}, not in "
                    f"management_plane.only_from ({', '.join(plane.only_from)})", d.span,
                )
