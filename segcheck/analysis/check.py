"""``check``: the whole analysis of one site, as a ``CheckResult``.

Steps: load the site (``site.load_site``), compute the reach matrix (``engine.reach``), turn
the conduits into packet sets (``conduits.allowed``), run the config-side checks
(``findings.Analyzer``), the pivot-path search (``engine.paths``) and, with captures, the
observed-traffic checks (``analysis.observed``, when present); then apply exceptions and
assemble the registers every report format renders.

Exceptions: an exception suppresses exactly the findings whose (code, object) equal its
(finding, object), while it has not expired (``expires >= today``). Suppressed findings stay
in the result with ``suppressed_by`` set; an expired exception suppresses nothing and is
itself a finding (SC-EXC-EXPIRED).
"""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from segcheck import __version__
from segcheck.analysis.conduits import Allowed, allowed
from segcheck.analysis.findings import Analyzer, evidence_of
from segcheck.analysis.result import CheckResult, Evidence, Finding, Hop, InputFile, MatrixCell
from segcheck.analysis.rulechecks import decides, earlier_status
from segcheck.analysis.site import Site, load_site, sha256
from segcheck.analysis.standards import info, standards_for
from segcheck.engine import paths
from segcheck.engine.reach import ReachMatrix, compute, may_meet
from segcheck.gcpause import collector_paused
from segcheck.model.packet import PORT_PROTOCOLS, protocol_name
from segcheck.model.rules import Action
from segcheck.model.source import Diagnostic

log = logging.getLogger(__name__)


@dataclass
class Analysis:
    """Everything ``check``, ``diff`` and ``explain`` need beyond the rendered result."""

    site: Site
    reach: ReachMatrix
    allowed: Allowed
    result: CheckResult


def pivot_findings(site: Site, reach: ReachMatrix, attack_version: str | None) -> list[Finding]:
    policy = site.policy
    term = policy.global_rules.dmz_termination
    from_kinds = term.from_kinds if term else ("it", "external")
    to_kinds = term.to_kinds if term else ("ot",)
    svc_ports = {name: s.ports for name, s in policy.services.items()}
    out: list[Finding] = []
    ci = info("SC-PIVOT-PATH")
    for ch in paths.chains(policy, site.topology, reach, svc_ports, from_kinds, to_kinds):
        hops: list[Hop] = []
        evidence: list[Evidence] = []
        for k, st in enumerate(ch.steps):
            if k:
                hops.append(Hop("host", st.src, st.src_zone, st.src_zone))
            ev = [evidence_of(c) for c in reach.contributions(st.src_zone, st.dst_zone,
                                                              st.packets)] \
                if st.src_zone != st.dst_zone else []
            evidence.extend(e for e in ev if e not in evidence)
            hops.append(Hop("device", ",".join(sorted({e.device for e in ev})) or "(same LAN)",
                            st.src_zone, st.dst_zone, tuple(ev), reach.describe(st.packets)))
        chain = " -> ".join((ch.start, *ch.hosts, ch.target))
        out.append(Finding(
            code="SC-PIVOT-PATH", severity=ci.severity, title=ci.title,
            message=f"pivot chain {chain}: each hop is permitted and every pivot host exposes "
                    "a control service",
            src_zone=ch.start, dst_zone=ch.target, witness=ch.steps[0].packets.sample(),
            evidence=tuple(evidence), standards=standards_for("SC-PIVOT-PATH", attack_version),
            object=chain, remediation=ci.remediation, path=tuple(hops)))
    return out


def observed(site: Site, reach: ReachMatrix, captures: Sequence[str]) -> tuple[
        list[Finding], list[dict[str, Any]], list[str]]:
    """Capture-side findings via ``analysis.observed`` (the capture engineer's module), and
    the observed flows (DESIGN.md §4 ``flows`` shape, zones resolved) for the report."""
    if not captures:
        return [], [], []
    try:
        mod = importlib.import_module("segcheck.analysis.observed")
        flows_mod = importlib.import_module("segcheck.capture.flows")
    except ModuleNotFoundError as exc:
        if exc.name not in ("segcheck.analysis.observed", "segcheck.capture.flows"):
            raise
        return [], [], ["Captures were given but capture analysis is not available in this "
                        "build; observed traffic was not checked."]
    findings: list[Finding] = []
    rows: list[dict[str, Any]] = []
    for cap in captures:
        flows = flows_mod.extract_flows([cap], workers=1).flows
        findings.extend(mod.observed_findings(site.policy, flows, cap, reach))
        for f in flows:
            src = site.policy.resolve(f.src)
            dst = site.policy.resolve(f.dst)
            rows.append(f.to_json(src[0] if src else None, dst[0] if dst else None))
    return findings, rows, []


def object_aliases(obj: str) -> set[str]:
    """Spellings an exception may use for a finding's object.

    Rule objects are ``device:name``; vendors name rules "policy 37 (label)" (FortiGate) or
    "rule 12" — the BRIEF's exceptions write ``fw-ot:policy/37``. So ``device:kind N (label)``
    also answers to ``device:kind N`` and ``device:kind/N``. Nothing else is fuzzy: an
    exception still names one finding object exactly.
    """
    out = {obj}
    dev, sep, rest = obj.partition(":")
    if not sep:
        return out
    base = rest.split(" (", 1)[0].strip()
    out.add(f"{dev}:{base}")
    words = base.split()
    if len(words) == 2:
        out.add(f"{dev}:{words[0]}/{words[1]}")
    return out


def apply_exceptions(policy: Any, findings: list[Finding], today: date) -> list[Finding]:
    """Suppress the findings whose (code, object) an unexpired exception names."""
    live = {(e.finding, e.object): e.id for e in policy.exceptions
            if e.expires is None or e.expires >= today}
    out = []
    for f in findings:
        exc = next((live[(f.code, o)] for o in sorted(object_aliases(f.object))
                    if (f.code, o) in live), None)
        out.append(replace(f, suppressed_by=exc) if exc and f.code != "SC-EXC-EXPIRED" else f)
    return out


def zone_rows(policy: Any, reach: ReachMatrix) -> tuple[dict[str, Any], ...]:
    rows: list[dict[str, Any]] = []
    for z in policy.zones:
        rows.append({  # noqa: PERF401
            "id": z.id, "name": z.name or z.id, "kind": z.kind,
            "purdue_levels": list(z.purdue_levels), "sl_t": z.sl_t, "safety": z.safety,
            "segmentation": z.segmentation, "cidrs": [str(n) for n in z.networks],
            "implicit": z.implicit, "owner": z.owner, "description": z.description,
            "assets": [{"id": a.id, "role": a.role, "networks": [str(n) for n in a.networks],
                        "controls": list(a.controls)} for a in z.assets.values()],
            "file": z.span.path if z.span else None, "line": z.span.line if z.span else None,
        })
    return tuple(rows)


def conduit_rows(policy: Any, reach: ReachMatrix, allow: Allowed) -> tuple[dict[str, Any], ...]:
    rows = []
    for c in policy.conduits:
        flows = []
        for k, flow in enumerate(c.flows):
            implemented: list[dict[str, Any]] = []
            for fs in allow.flows:
                if fs.conduit is not c or fs.index != k:
                    continue
                part = fs.packets & reach.cell(fs.src_zone, fs.dst_zone)
                if part.is_empty():
                    continue
                for con in reach.contributions(fs.src_zone, fs.dst_zone, part):
                    ev = evidence_of(con).to_json()
                    if ev not in implemented:
                        implemented.append(ev)
            flows.append({
                "from": [s.ref for s in flow.sources], "to": [d.ref for d in flow.destinations],
                "services": list(flow.services),
                "operations": sorted(flow.operations) if flow.operations is not None else None,
                "controls": list(flow.controls), "bidirectional": flow.bidirectional,
                "implemented_by": implemented,
                "line": flow.span.line if flow.span else None,
            })
        rows.append({
            "id": c.id, "name": c.name, "between": list(c.between), "sl_t": c.sl_t,
            "controls_required": list(c.controls_required),
            "enforced_by": list(c.enforced_by), "justification": c.justification,
            "owner": c.owner, "approved_by": c.approved_by, "ticket": c.ticket,
            "expires": c.expires.isoformat() if c.expires else None, "flows": flows,
            "file": c.span.path if c.span else None, "line": c.span.line if c.span else None,
        })
    return tuple(rows)


def traceability(site: Site, reach: ReachMatrix, allow: Allowed) -> list[dict[str, Any]]:
    """Rule -> conduit flows (BRIEF.md §5.6, CIP-005 R1.3 "reason" evidence).

    One row per rule that appears on a crossing between two different zones: the conduit
    flows whose packet space its effective set meets (``UNMAPPED`` when none), its status
    (ok / shadowed / redundant / disabled over all its crossings) and the zone pairs of the
    crossings it sits on.
    """
    flow_boxes = [(fs, fs.packets.to_matches()) for fs in allow.flows if not fs.packets.is_empty()]
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    best: dict[tuple[str, str, int], int] = {}
    """Per row: the highest ``_STATUS_RANK`` of its statuses over its crossings."""
    news: dict[tuple[str, str, int], bool] = {}
    """Per row: whether the rule can see new packets (on the row's first crossing)."""
    permit = Action.PERMIT
    for td in site.topology.devices:
        if td.id not in site.devices:
            continue
        dev = td.id
        for i, zi in td.interfaces.items():
            for e, ze in td.interfaces.items():
                if e == i or zi == ze:
                    continue
                hop = reach.hop(dev, i, e)
                for fname, _spec, fa, kept in hop.filters:
                    # a permit's effective set lies inside its filter's permitted set: flows
                    # that miss the latter meet no rule of this filter (exact prefilter)
                    live = [(fs, boxes) for fs, boxes in flow_boxes
                            if not (fa.permitted & fs.packets).is_empty()]
                    for ra in fa.rules:
                        rule = ra.rule
                        if rule.synthetic:
                            continue
                        # redundancy w.r.t. a later rule is not an anomaly of this rule
                        rank = 3 if decides(ra) else _STATUS_RANK.get(earlier_status(ra)[0], 0)
                        # ``new``: whether this crossing's (specialized) rule can see new
                        # packets; computed at most once per rule and crossing
                        new = None
                        key = (dev, fname, kept[ra.index])
                        row = rows.get(key)
                        if row is None:
                            new = news[key] = any(m.matches_new() for m in rule.matches)
                            span = rule.span
                            row = rows[key] = {
                                "device": dev, "filter": fname, "file": span.path,
                                "line": span.line, "rule": rule.name or span.text,
                                "name": rule.name, "action": rule.action.value,
                                "conduits": [], "zones": [[zi, ze]]}
                            best[key] = rank
                        else:
                            if [zi, ze] not in row["zones"]:
                                row["zones"].append([zi, ze])
                            if rank > best[key]:
                                best[key] = rank
                        if rule.action is not permit or rank != 3 or not live:
                            continue
                        if new is None:
                            new = any(m.matches_new() for m in rule.matches)
                        if not new:
                            continue
                        conduits = row["conduits"]
                        for fs, boxes in live:
                            if fs.label in conduits or not may_meet(rule, boxes):
                                continue
                            if not (ra.effective & fs.packets).is_empty():
                                conduits.append(fs.label)
    out = []
    for key, row in rows.items():
        rank = best[key]
        row["status"] = _RANKED_STATUS[rank]
        if not news[key]:
            row["note"] = "matches return traffic only (conntrack state)"
        elif rank == 3 and row["action"] == "permit" and not row["conduits"]:
            row["conduits"] = ["UNMAPPED"]
        out.append(row)
    out.sort(key=_row_order)
    return out


_STATUS_RANK = {"ok": 3, "shadowed": 2, "redundant": 1}
"""A traceability row's status over its crossings is the best of them in this order; a rule
that is disabled (or anything else) on every crossing is ``disabled``."""
_RANKED_STATUS = ("disabled", "redundant", "shadowed", "ok")


def _row_order(row: dict[str, Any]) -> tuple[str, str, int]:
    return row["device"], row["file"], row["line"]


def matrix_cells(reach: ReachMatrix, allow: Allowed) -> tuple[MatrixCell, ...]:
    cells = []
    for (a, b), cell in sorted(reach.cells.items()):
        if a == b or cell.permitted.is_empty():
            continue
        svcs: list[str] = []
        for proto, rng in reach.services(cell.permitted):
            if proto in PORT_PROTOCOLS and rng and rng != ((0, 65535),):
                svcs.extend(f"{protocol_name(proto)}/{lo}" if lo == hi
                            else f"{protocol_name(proto)}/{lo}-{hi}" for lo, hi in rng)
            else:
                svcs.append(protocol_name(proto) if proto in PORT_PROTOCOLS or proto else "any")
        rules = tuple(evidence_of(c) for c in reach.contributions(a, b))
        ok = (cell.permitted - allow.pair(a, b)).is_empty()
        cells.append(MatrixCell(a, b, reach.describe(cell.permitted), tuple(svcs[:50]), rules,
                                ok))
    return tuple(cells)


def analyse(site: Site, *, today: date | None = None, captures: Sequence[str] = ()) -> Analysis:
    today = today or date.today()
    policy = site.policy
    av = policy.attack_version
    reach = compute(policy, site.topology, site.devices)
    allow = allowed(policy, reach.spaces)
    analyzer = Analyzer(policy, site.topology, site.devices, reach, allow, today, av)
    findings = analyzer.run()
    findings += pivot_findings(site, reach, av)
    obs, flows, obs_notes = observed(site, reach, captures)
    findings += obs
    findings = apply_exceptions(policy, findings, today)
    findings.sort(key=lambda f: (-f.severity.rank, f.code, f.src_zone or "", f.dst_zone or "",
                                 f.object))
    inputs = list(site.inputs)
    inputs.extend(InputFile(str(cap), sha256(cap), "capture") for cap in captures)
    limitations = [*reach.limitations, *obs_notes]
    diags: tuple[Diagnostic, ...] = site.diagnostics
    if any(d.level.makes_incomplete for d in diags):
        limitations.insert(0, "INCOMPLETE: some configuration lines were not understood "
                              "(see diagnostics); verdicts that depend on them may be wrong.")
    result = CheckResult(
        version=__version__, inputs=tuple(inputs), diagnostics=diags,
        zones=zone_rows(policy, reach), matrix=matrix_cells(reach, allow),
        findings=tuple(findings), conduits=conduit_rows(policy, reach, allow),
        flows=tuple(flows), limitations=tuple(limitations),
        extra={"suc": policy.suc, "today": today.isoformat(),
               "attack_version": av or "19",
               "traceability": traceability(site, reach, allow)},
    )
    return Analysis(site, reach, allow, result)


GC_YOUNG_THRESHOLD = 200_000
"""Allocations between young-generation collections during a check (CPython's default is
700). A check allocates millions of small, acyclic, long-lived objects (rules, matches,
diagram nodes): with the default, the cyclic collector keeps rescanning them (~15-20 % of a
large site's CPU); at this threshold it runs a few hundred times less often, for no
measurable memory."""


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the young-generation GC threshold for the duration (restored afterwards)."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], GC_YOUNG_THRESHOLD), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


@contextmanager
def long_lived() -> Iterator[None]:
    """For loading what lives as long as the check (the parsed site): no cyclic collection
    while loading, and what was loaded is then frozen (``gc.freeze``), so later collections
    do not rescan it (measured ~1 s of a 10x10k-rule check). Unfrozen by ``run_check`` when
    the analysis is done. Only when nothing else froze objects (the freeze is global)."""
    if gc.get_freeze_count():
        yield
        return
    with collector_paused():
        yield
        gc.freeze()


def run_check(policy_path: str | Path, topology_path: str | Path, *,
              captures: Sequence[str] = (), today: date | None = None) -> Analysis:
    """Load (and lint: ``LintError`` on lint errors) the site, then ``analyse`` it."""
    frozen = gc.get_freeze_count()
    with fewer_collections():
        try:
            with long_lived():
                site = load_site(policy_path, topology_path, today=today)
            # The analysis makes almost no reference cycles (~1,000 objects on a 10x10k-rule
            # site: the engine's recursive closures are unlinked on return), so collections
            # would only rescan its growing heap (measured 1.2-1.5 s of that check). Its
            # objects are then frozen too, so that re-enabling the collector does not scan
            # them all as one young generation: the unfreeze below moves the site and the
            # analysis into the oldest generation unscanned, where a later full collection
            # (if the caller lives on) frees the few cycles.
            with collector_paused():
                analysis = analyse(site, today=today, captures=captures)
                if not frozen:
                    gc.freeze()
            return analysis
        finally:
            if not frozen:
                gc.unfreeze()
