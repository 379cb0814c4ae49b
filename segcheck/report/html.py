"""The HTML audit report: one self-contained file (inline CSS, JS and SVG; no network).

Sections follow BRIEF.md §5 (``summary.SECTIONS``): scope and provenance, summary (verdict,
P1–P9, counts by severity, INCOMPLETE banner), zone register, conduit register, zone × zone
matrix, reachability diagram (inline SVG from ``dot``, or a note when graphviz is missing),
rule → conduit traceability, IT → OT paths, remote access, observed vs policy, findings,
exception register, method and limitations.

Semantics of the derived tables (everything is computed from the CheckResult, nothing from
elsewhere):

* **Traceability.** A configured rule (device, file:line) that contributes to a permitted
  zone pair is *mapped* to every conduit flow whose ``implemented_by`` names the same
  file:line, and ``UNMAPPED`` otherwise. Shadowed and redundant rules come from their
  findings, with the covering rules. Rule hit counts need captures matched to rules; without
  them "unused" is reported as not assessed (never as "all used").
* **Paths.** Findings with hops (pivot chains, DMZ bypass, transit): every hop's rules; the
  session terminates at the last pivot host (or the target zone when there is none); the
  protocols are *disjoint* when no two consecutive device hops around a pivot host carry the
  same service label.
* **Interactivity** (inline JS, optional): findings filter by severity, zone and suppression;
  clicking a zone (register row, matrix header or diagram node) or a matrix cell filters the
  findings to it. Without JS every finding is visible. ``@media print`` shows everything,
  opens every ``<details>`` and hides the controls, for a clean PDF.

Deterministic: no timestamps; the same result (and graphviz version) gives the same bytes.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import jinja2
from markupsafe import Markup

from segcheck.analysis.result import CheckResult, Evidence, Finding, Severity
from segcheck.errors import SegcheckError
from segcheck.report import graph
from segcheck.report.summary import (
    SECTIONS,
    SEVERITY_ORDER,
    as_list,
    assets_of,
    code_info,
    conduit_between,
    fmt_level,
    fmt_sl,
    location,
    principle_verdicts,
    rel_path,
    severity_counts,
    sorted_findings,
    verdict,
    zone_id,
    zone_levels,
)

log = logging.getLogger(__name__)

PATH_FINDING_PREFIXES = ("SC-DMZ", "SC-PIVOT", "SC-REMOTE", "SC-SIS")
REMOTE_CODES = ("SC-REMOTE-NO-MFA",)


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("segcheck.report", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _ts(value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        return datetime.fromtimestamp(float(value), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return str(value)


def _ev_row(ev: Evidence, base: str | None) -> dict[str, Any]:
    return {"device": ev.device, "loc": f"{rel_path(ev.span.path, base)}:{ev.span.line}",
            "rule": ev.rule, "text": ev.span.text or "", "action": ev.action}


def _finding_view(f: Finding, n: int, base: str | None) -> dict[str, Any]:
    info = code_info(f.code)
    return {
        "n": n, "f": f, "sev": f.severity.value, "code": f.code, "title": f.title,
        "message": f.message, "src": f.src_zone or "", "dst": f.dst_zone or "",
        "zones": " ".join(sorted({z for z in (f.src_zone, f.dst_zone) if z})),
        "loc": location(f, base), "witness": str(f.witness) if f.witness else "",
        "evidence": [_ev_row(e, base) for e in f.evidence],
        "hops": [{"kind": h.kind, "name": h.name, "src": h.src_zone, "dst": h.dst_zone,
                  "service": h.service, "short": graph.short_service(h.service),
                  "rules": [_ev_row(e, base) for e in h.evidence]}
                 for h in f.path],
        "observed": f.observed, "observed_window": (
            f"{_ts(f.observed.first_seen)} – {_ts(f.observed.last_seen)}"
            if f.observed and f.observed.first_seen is not None else ""),
        "standards": sorted((k, ", ".join(v)) for k, v in f.standards.items() if v),
        "remediation": f.remediation or info.help, "object": f.object,
        "suppressed_by": f.suppressed_by or "", "about": info.full,
    }


def _zones(result: CheckResult) -> list[dict[str, Any]]:
    per: dict[str, list[Finding]] = defaultdict(list)
    for f in result.active_findings():
        for z in {f.src_zone, f.dst_zone} - {None}:
            per[str(z)].append(f)
    rows = []
    for r in sorted(result.zones, key=lambda r: (-graph.band_of(r), zone_id(r))):
        zid = zone_id(r)
        worst = max((f.severity for f in per[zid]), key=lambda s: s.rank, default=None)
        rows.append({
            "id": zid, "name": r.get("name") or zid, "kind": r.get("kind", ""),
            "levels": "/".join(fmt_level(x) for x in sorted(zone_levels(r))) or "—",
            "sl_t": fmt_sl(r.get("sl_t")), "safety": bool(r.get("safety")),
            "segmentation": r.get("segmentation") or "—",
            "cidrs": [str(c) for c in as_list(r.get("cidrs"))],
            "assets": [{"id": aid, "role": a.get("role") or "",
                        "networks": ", ".join(str(n) for n in as_list(
                            a.get("networks") or a.get("cidrs") or a.get("ips")))}
                       for aid, a in assets_of(r)],
            "findings": len(per[zid]), "worst": worst.value if worst else "",
            "implicit": bool(r.get("implicit")),
        })
    return rows


def _conduits(result: CheckResult, base: str | None) -> list[dict[str, Any]]:
    rows = []
    for c in sorted(result.conduits, key=lambda c: str(c.get("id", ""))):
        flows = []
        for fl in as_list(c.get("flows")):
            if not isinstance(fl, dict):
                continue
            impl = as_list(fl.get("implemented_by"))
            flows.append({
                "src": ", ".join(str(x) for x in as_list(fl.get("from"))),
                "dst": ", ".join(str(x) for x in as_list(fl.get("to"))),
                "services": ", ".join(str(x) for x in as_list(fl.get("services")
                                                               or fl.get("service"))),
                "operations": ", ".join(str(x) for x in as_list(fl.get("operations")))
                or "any",
                "controls": ", ".join(str(x) for x in as_list(fl.get("controls"))),
                "bidirectional": bool(fl.get("bidirectional")),
                "implemented": ([_impl_text(x, base) for x in impl]
                                if "implemented_by" in fl else None),
            })
        pair = conduit_between(c)
        gov = {k: c.get(k) or "" for k in ("justification", "owner", "approved_by", "ticket")}
        rows.append({
            "id": str(c.get("id", "")), "between": " ↔ ".join(pair) if pair else "",
            "a": pair[0] if pair else "", "b": pair[1] if pair else "",
            "sl_t": fmt_sl(c.get("sl_t")),
            "controls_required": ", ".join(str(x) for x in as_list(c.get("controls_required"))),
            "enforced_by": ", ".join(str(x) for x in as_list(c.get("enforced_by"))),
            "expires": str(c.get("expires") or ""), "flows": flows,
            "missing_governance": [k for k, v in gov.items() if not v], **gov,
        })
    return rows


def _impl_text(x: Any, base: str | None) -> str:
    if isinstance(x, dict):
        where = f"{rel_path(str(x.get('file', '')), base)}:{x.get('line', '')}"
        return f"{x.get('device', '')} {x.get('rule', '')} ({where})".strip()
    return str(x)


def _impl_keys(c: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(conduit id, file, line) for every rule a conduit's flows name as implementing them."""
    out = []
    cid = str(c.get("id", ""))
    sources = [*as_list(c.get("implemented_by"))]
    for fl in as_list(c.get("flows")):
        if isinstance(fl, dict):
            sources.extend(as_list(fl.get("implemented_by")))
    for x in sources:
        if isinstance(x, dict) and x.get("file") is not None:
            out.append((cid, str(x["file"]), int(x.get("line") or 0)))
        elif isinstance(x, str) and ":" in x:
            path, _, line = x.rpartition(":")
            if line.isdigit():
                out.append((cid, path, int(line)))
    return out


TRACE_ROWS = 500
"""Above this many rules the traceability table groups rules that share device, zone pairs,
conduits and policy status into one row listing their locations (nothing is dropped)."""


def _traceability(result: CheckResult, base: str | None) -> dict[str, Any]:
    by_rule: dict[tuple[str, int], dict[str, Any]] = {}
    for cell in result.matrix:
        if cell.src_zone == cell.dst_zone:
            continue
        for ev in cell.rules:
            key = (ev.span.path, ev.span.line)
            row = by_rule.setdefault(key, {"ev": _ev_row(ev, base), "pairs": set(),
                                           "conduits": set(), "outside": False})
            row["pairs"].add(f"{cell.src_zone} → {cell.dst_zone}")
            row["outside"] |= not cell.allowed_by_policy
    for c in result.conduits:
        for cid, path, line in _impl_keys(c):
            if (path, line) in by_rule:
                by_rule[(path, line)]["conduits"].add(cid)
    rules = [{**v, "pairs": sorted(v["pairs"]), "conduits": sorted(v["conduits"])}
             for _, v in sorted(by_rule.items())]
    groups: list[dict[str, Any]] = []
    if len(rules) > TRACE_ROWS:  # proportionate: one row per set of rules sharing every fact
        by: dict[tuple[Any, ...], dict[str, Any]] = {}
        for r in rules:
            gkey = (r["ev"]["device"], tuple(r["pairs"]), tuple(r["conduits"]), r["outside"])
            g = by.setdefault(gkey, {"device": gkey[0], "pairs": r["pairs"],
                                    "conduits": r["conduits"], "outside": r["outside"],
                                    "locs": []})
            g["locs"].append(r["ev"]["loc"])
        groups = list(by.values())
    hygiene = [_finding_view(f, 0, base) for f in sorted_findings(result.findings)
               if f.code in ("SC-SHADOWED", "SC-REDUNDANT")]
    unused = result.extra.get("unused_rules")
    return {"rules": rules, "groups": groups,
            "unmapped": sum(1 for r in rules if not r["conduits"]),
            "hygiene": hygiene, "unused": unused}


def service_tokens(service: str) -> set[str]:
    """``tcp/443,3389 from … to …`` -> {"tcp/443", "tcp/3389"}; "any" -> {"any"}. Used to
    judge whether two hops share a protocol (ranges compare as written: a conservative
    approximation that can miss an overlap between two different ranges)."""
    head = graph.short_service(service).rstrip("…").strip()
    out: set[str] = set()
    for part in head.replace(";", " ").split():
        proto, _, ports = part.partition("/")
        if not ports:
            out.add(proto.rstrip(","))
            continue
        out.update(f"{proto}/{p}" for p in ports.split(",") if p)
    return out


def _shared(a: str, b: str) -> set[str]:
    ta, tb = service_tokens(a), service_tokens(b)
    if "any" in ta:
        return tb or {"any"}
    if "any" in tb:
        return ta
    return ta & tb


def _paths(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for v in views:
        if not v["hops"]:
            continue
        hosts = [h["name"] for h in v["hops"] if h["kind"] == "host"]
        same = []
        hops = v["hops"]
        for i, h in enumerate(hops):
            if h["kind"] != "host":
                continue
            before = next((x for x in reversed(hops[:i]) if x["kind"] != "host"), None)
            after = next((x for x in hops[i + 1:] if x["kind"] != "host"), None)
            if before and after and before["service"] and after["service"]:
                common = _shared(before["service"], after["service"])
                if common:
                    same.append(f"{h['name']}: {', '.join(sorted(common))}")
        out.append({**v, "terminates": hosts[-1] if hosts else f"{v['dst']} (no DMZ host)",
                    "disjoint": "n/a (no pivot host)" if not hosts else (
                        "no — same protocol on both sides (" + "; ".join(same) + ")"
                        if same else "yes")})
    return out


def _observed(result: CheckResult, conduits: list[dict[str, Any]]) -> dict[str, Any]:
    cells = {(c.src_zone, c.dst_zone): c for c in result.matrix}
    flows = []
    seen_pairs: set[frozenset[str]] = set()
    for fl in sorted(result.flows, key=lambda x: (str(x.get("src_zone")), str(x.get("dst_zone")),
                                                  str(x.get("src")), str(x.get("dst")),
                                                  str(x.get("dport")))):
        a, b = str(fl.get("src_zone") or "?"), str(fl.get("dst_zone") or "?")
        seen_pairs.add(frozenset((a, b)))
        cell = cells.get((a, b))
        status = ("same zone" if a == b else "no configured path" if cell is None
                  else "outside policy" if not cell.allowed_by_policy else "in conduit")
        ops = fl.get("operations") or {}
        flows.append({
            "src": fl.get("src", ""), "dst": fl.get("dst", ""), "a": a, "b": b,
            "service": f"{fl.get('proto', '')}/{fl.get('dport', '')}".rstrip("/"),
            "app": fl.get("app") or "", "packets": fl.get("packets", ""),
            "ops": ", ".join(f"{k} {v}" for k, v in sorted(ops.items())) if isinstance(
                ops, dict) else str(ops),
            "window": f"{_ts(fl.get('first_seen'))} – {_ts(fl.get('last_seen'))}",
            "frames": ", ".join(str(x) for x in as_list(fl.get("frames"))[:5]),
            "status": status,
        })
    unused = [c["id"] for c in conduits if result.flows and c["a"] and
              frozenset((c["a"], c["b"])) not in seen_pairs]
    return {"flows": flows, "unused_conduits": unused, "has_captures": bool(result.flows) or any(
        i.kind == "capture" for i in result.inputs)}


def _matrix(result: CheckResult, zones: list[dict[str, Any]]) -> dict[str, Any]:
    ids = [z["id"] for z in zones]
    worst: dict[tuple[str, str], Severity] = {}
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for f in result.active_findings():
        if f.src_zone and f.dst_zone:
            k = (f.src_zone, f.dst_zone)
            counts[k] += 1
            if k not in worst or f.severity.rank > worst[k].rank:
                worst[k] = f.severity
    cells = {(c.src_zone, c.dst_zone): c for c in result.matrix}
    rows = []
    for a in ids:
        row = []
        for b in ids:
            c = cells.get((a, b))
            permitted = bool(c and (c.permitted or c.services))
            w = worst.get((a, b))
            cls = ("self" if a == b else "viol" if permitted and c and not c.allowed_by_policy
                   else "ok" if permitted else "none")
            label = ", ".join(c.services[:3]) + (" …" if len(c.services) > 3 else "") \
                if c and c.services else ("permitted" if permitted else "")
            row.append({"a": a, "b": b, "cls": cls, "label": label, "sev": w.value if w else "",
                        "n": counts.get((a, b), 0),
                        "title": (f"{a} → {b}: {c.permitted}" if c and c.permitted
                                  else f"{a} → {b}: nothing permitted")
                        + (f"; {counts[(a, b)]} active finding(s), worst {w.value}"
                           if w else "")})
        rows.append({"zone": a, "cells": row})
    return {"ids": ids, "rows": rows}


EXCEPTION_FIELDS = ("id", "finding", "object", "justification", "compensating", "owner",
                    "approved_by", "created", "expires")


def _exception_row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(EXCEPTION_FIELDS, "")
    row.update(suppresses=0, status="active")
    for k, v in values.items():
        row[k] = ", ".join(map(str, v)) if isinstance(v, list | tuple) else (
            v if isinstance(v, int) else str(v or ""))
    return row


def _exceptions(result: CheckResult, findings: list[Finding]) -> list[dict[str, Any]]:
    """Exception register rows: ``result.extra["exceptions"]`` when the analysis supplies the
    policy's exceptions, completed from the findings they suppress and SC-EXC-EXPIRED."""
    rows: dict[str, dict[str, Any]] = {}
    given = result.extra.get("exceptions")
    if isinstance(given, list | tuple):
        for e in given:
            if isinstance(e, dict) and e.get("id"):
                rows[str(e["id"])] = _exception_row(
                    **{k: v for k, v in e.items() if k in EXCEPTION_FIELDS or k == "status"})
    for f in findings:
        if f.suppressed_by:
            rows.setdefault(f.suppressed_by, _exception_row(
                id=f.suppressed_by, finding=f.code, object=f.object))["suppresses"] += 1
        if f.code == "SC-EXC-EXPIRED" and f.object:
            rows.setdefault(f.object, _exception_row(id=f.object, justification=f.message))[
                "status"] = "expired"
    return [rows[k] for k in sorted(rows)]


def _remote(result: CheckResult, zones: list[dict[str, Any]],
            conduits: list[dict[str, Any]], views: list[dict[str, Any]]) -> dict[str, Any]:
    external = {z["id"] for z in zones if z["kind"] == "external"}
    gateways = [{"zone": z["id"], **a} for z in zones for a in z["assets"]
                if "remote" in str(a["role"]) or "jump" in str(a["role"])]
    return {"conduits": [c for c in conduits if {c["a"], c["b"]} & external],
            "gateways": gateways,
            "findings": [v for v in views if v["code"] in REMOTE_CODES]}


def _captures(result: CheckResult) -> list[dict[str, Any]]:
    windows: dict[str, list[float]] = defaultdict(list)
    for f in result.findings:
        if f.observed is not None:
            for t in (f.observed.first_seen, f.observed.last_seen):
                if t is not None:
                    windows[f.observed.capture].append(t)
    flow_times = [float(t) for fl in result.flows for t in (fl.get("first_seen"),
                                                            fl.get("last_seen"))
                  if isinstance(t, int | float)]
    out = []
    caps = [i for i in result.inputs if i.kind == "capture"]
    for i in caps:
        ts = windows.get(i.path) or (flow_times if len(caps) == 1 else [])
        out.append({"path": i.path, "from": _ts(min(ts)) if ts else "",
                    "to": _ts(max(ts)) if ts else ""})
    return out


def context(result: CheckResult, *, fail_on: str = "high", svg: str | None = None,
            base: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The template's view model (also handy for tests)."""
    b = str(base) if base is not None else None
    findings = sorted_findings(result.findings)
    views = [_finding_view(f, n, b) for n, f in enumerate(findings, start=1)]
    zones = _zones(result)
    conduits = _conduits(result, b)
    counts = severity_counts(result)
    diags = [{"level": d.level.value, "message": d.message, "code": d.code,
              "where": (f"{rel_path(d.span.path, b)}:{d.span.line}"
                        + (f":{d.span.col}" if d.span.col else "")) if d.span else "",
              "incomplete": d.level.makes_incomplete} for d in result.diagnostics]
    return {
        "r": result, "suc": result.extra.get("suc") or "", "version": result.version,
        "verdict": verdict(result, fail_on), "fail_on": fail_on, "complete": result.complete,
        "sections": SECTIONS,
        "inputs": [{"kind": i.kind, "path": rel_path(i.path, b), "sha256": i.sha256}
                   for i in sorted(result.inputs, key=lambda i: (i.kind, i.path))],
        "captures": _captures(result),
        "diagnostics": diags,
        "incomplete": [d for d in diags if d["incomplete"]],
        "principles": principle_verdicts(result),
        "severities": [{"sev": s.value, "active": counts[s][0], "suppressed": counts[s][1]}
                       for s in SEVERITY_ORDER],
        "zones": zones, "conduits": conduits, "matrix": _matrix(result, zones),
        "svg": Markup(svg) if svg else None,
        "trace": _traceability(result, b), "paths": _paths(views),
        "remote": _remote(result, zones, conduits, views),
        "observed": _observed(result, conduits),
        "findings": views, "exceptions": _exceptions(result, findings),
        "obs_findings": [v for v in views if v["observed"] is not None
                         or code_info(v["code"]).family == "observed"],
        "limitations": list(result.limitations),
        "attack_version": result.extra.get("attack_version") or "",
        "today": result.extra.get("today") or "",
        "baseline": result.extra.get("baseline"),
        "codes": sorted({f.code for f in findings}),
    }


def render(result: CheckResult, *, fail_on: str = "high", graph_svg: bool = True) -> str:
    """The report as one HTML document. ``graph_svg=False`` skips running ``dot``."""
    svg = None
    if graph_svg:
        try:
            svg = graph.svg_inline(result)
        except SegcheckError as exc:  # graphviz failed: the report says so instead
            log.warning("graph not embedded: %s", exc)
    return _env().get_template("report.html.j2").render(**context(result, fail_on=fail_on,
                                                                  svg=svg))
