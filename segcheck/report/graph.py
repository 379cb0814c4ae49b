"""The zone reachability graph: Graphviz DOT from a CheckResult, rendered with ``dot``.

Layout and encoding (readable without the legend, which is drawn anyway):

* **Ranks are Purdue levels.** One horizontal band per level present, highest level on top
  (internet/external 5, enterprise 4, DMZ 3.5, operations 3, supervisory 2, control 1, process
  0); safety zones form the bottom band. A zone spanning several levels sits at its highest.
  Zones without a level get one from their kind (external 5, it 4, dmz 3.5, mgmt 3, ot 2). The
  bands are ``rank=same`` subgraphs chained by invisible heavy edges; zone edges are
  ``constraint=false`` so reachability never reorders the levels.
* **Zones are nodes** filled by kind, safety zones with a double border; the label carries
  id, kind, levels, SL-T, the count of active findings, and (``assets=True``) the assets.
* **Edges are aggregated per ordered zone pair** (initiator → responder) with their services:
  - solid green: permitted and inside a conduit;
  - solid thick, coloured by the worst severity: permitted outside policy (a violation);
  - dashed: observed only (a capture shows it, no configured path: a bypass);
  - dotted grey, no arrow: a conduit that no rule implements;
  - thick magenta, separate overlay: a pivot path's hops (``Finding.path``).

Invariant: ``to_dot`` is a pure function of the result and its options and is byte-for-byte
deterministic — every collection is sorted by content, nothing depends on dict/set order,
time or environment. ``render`` shells out to ``dot``; when ``dot`` is missing,
``write_graph`` still writes the ``.dot`` file and raises ``GraphvizMissing`` saying how to
install graphviz (the CLI prints it; never a traceback).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segcheck.analysis.result import CheckResult, Finding, Severity
from segcheck.errors import SegcheckError, UsageError
from segcheck.outputs import write_output
from segcheck.report.summary import (
    as_list,
    assets_of,
    code_info,
    conduit_between,
    conduit_unimplemented,
    fmt_level,
    fmt_sl,
    sorted_findings,
    span_location,
    zone_id,
    zone_levels,
)

log = logging.getLogger(__name__)

FORMATS = ("dot", "svg", "png", "pdf")

SEVERITY_COLOURS: dict[Severity, str] = {
    Severity.CRITICAL: "#b2182b",
    Severity.HIGH: "#e66101",
    Severity.MEDIUM: "#c99700",
    Severity.LOW: "#8c6d31",
    Severity.INFO: "#5e6b78",
}
CONDUIT_COLOUR = "#1b7837"
OBSERVED_COLOUR = "#6a3d9a"
UNIMPLEMENTED_COLOUR = "#9e9e9e"
PIVOT_COLOUR = "#e7298a"

KIND_FILL = {"external": "#fde0dd", "it": "#deebf7", "dmz": "#fff7bc", "ot": "#e5f5e0",
             "mgmt": "#eeeeee", "device": "#d9d9d9"}
KIND_DEFAULT_LEVEL = {"external": 5.0, "it": 4.0, "dmz": 3.5, "mgmt": 3.0, "ot": 2.0}
LEVEL_TITLES = {5.0: "L5 Internet / external", 4.0: "L4 Enterprise", 3.5: "L3.5 Industrial DMZ",
                3.25: "Firewall management", 3.0: "L3 Site operations", 2.0: "L2 Supervisory",
                1.0: "L1 Control", 0.0: "L0 Process"}
SAFETY_BAND = -1.0
"""Band key of safety zones: below every Purdue level."""

NON_PATH_FAMILIES = frozenset({"hygiene", "governance"})
"""Finding families that do not make an edge a violation (rule hygiene, paperwork)."""

MAX_EDGE_SERVICES = 4
MAX_PER_ROW = 8
"""A Purdue band with more zones wraps onto further rows (same band, no new title), so the
drawing stays readable at 30+ zones even when most zones share one level."""
ANY_THRESHOLD = 40


class GraphvizMissing(UsageError):
    """``dot`` is not installed; the DOT file was written to ``dot_path`` instead."""

    def __init__(self, message: str, dot_path: Path | None = None) -> None:
        super().__init__(message)
        self.dot_path = dot_path


@dataclass
class _Edge:
    """What is known about one ordered zone pair (built, then frozen into DOT text)."""

    services: set[str] = field(default_factory=set)
    permitted: bool = False
    outside_policy: bool = False
    violations: list[Finding] = field(default_factory=list)
    observed: list[Finding] = field(default_factory=list)
    observed_flows: int = 0
    rules: set[str] = field(default_factory=set)


def _q(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _h(text: object) -> str:
    """Escape for a Graphviz HTML-like label."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _attrs(**attrs: object) -> str:
    parts = []
    for key in sorted(attrs):
        value = attrs[key]
        if value is None:
            continue
        if isinstance(value, _Html):
            parts.append(f"{key}=<{value.text}>")
        else:
            parts.append(f"{key}={_q(str(value))}")
    return "[" + ", ".join(parts) + "]"


@dataclass(frozen=True, slots=True)
class _Html:
    text: str


DEVICE_BAND = 3.25
"""Band of firewall management planes (pseudo-zones ``device:<id>`` that findings such as
SC-MGMT-EXPOSED name as their destination): between the DMZ and site operations."""


def band_of(row: dict[str, Any]) -> float:
    """The band (Purdue level) a zone is drawn in; safety zones: ``SAFETY_BAND``."""
    if row.get("safety"):
        return SAFETY_BAND
    if row.get("kind") == "device":
        return DEVICE_BAND
    levels = zone_levels(row)
    if levels:
        return max(levels)
    return KIND_DEFAULT_LEVEL.get(str(row.get("kind", "")), 2.0)


def _band_title(band: float) -> str:
    if band == SAFETY_BAND:
        return "Safety (SIS)"
    return LEVEL_TITLES.get(band, f"L{fmt_level(band)}")


def _worst(findings: Iterable[Finding]) -> Severity | None:
    sevs = [f.severity for f in findings]
    return max(sevs, key=lambda s: s.rank) if sevs else None


def _node_id(zone: str) -> str:
    return f"zone:{zone}"


def _collect_edges(result: CheckResult, zones: set[str]) -> dict[tuple[str, str], _Edge]:
    edges: dict[tuple[str, str], _Edge] = {}

    def edge(a: str, b: str) -> _Edge:
        return edges.setdefault((a, b), _Edge())

    for cell in result.matrix:
        if cell.src_zone == cell.dst_zone or not (cell.permitted or cell.services):
            continue
        e = edge(cell.src_zone, cell.dst_zone)
        e.permitted = True
        e.services.update(cell.services)
        e.outside_policy |= not cell.allowed_by_policy
        e.rules.update(span_location(r.span) for r in cell.rules)
    for f in result.active_findings():
        a, b = f.src_zone, f.dst_zone
        if not a or not b or a == b or f.severity is Severity.INFO or _is_pivot(f):
            continue
        family = code_info(f.code, result.findings).family
        if family in NON_PATH_FAMILIES:
            continue
        if family == "observed":
            edge(a, b).observed.append(f)
        else:
            edge(a, b).violations.append(f)
    for flow in result.flows:
        a, b = str(flow.get("src_zone") or ""), str(flow.get("dst_zone") or "")
        if a and b and a != b:
            edge(a, b).observed_flows += 1
    return {k: v for k, v in edges.items() if k[0] in zones and k[1] in zones}


def _services_label(services: set[str]) -> str:
    """Port services first, then other protocols; a set covering (nearly) every protocol is
    "any" (the analysis lists up to ``ANY_THRESHOLD`` labels and cuts the rest)."""
    if "any" in services or len(services) >= ANY_THRESHOLD:
        return "any"
    ordered = sorted(s for s in services if s != "?")
    ordered.sort(key=lambda x: ("/" not in x, x))
    if len(ordered) > MAX_EDGE_SERVICES:
        return ", ".join(ordered[:MAX_EDGE_SERVICES]) + f" +{len(ordered) - MAX_EDGE_SERVICES}"
    return ", ".join(ordered)


def _is_pivot(f: Finding) -> bool:
    """A multi-hop finding through a host: drawn as a pivot overlay, not as a direct edge."""
    return any(h.kind == "host" for h in f.path)


def short_service(service: str) -> str:
    """``tcp/3389 from 10.0.0.0/8 to ...`` -> ``tcp/3389`` (hop labels stay short)."""
    head = service.split(" from ", 1)[0].split(" to ", 1)[0].strip()
    return head if len(head) <= 24 else head[:23] + "…"


def _codes_worst_first(findings: list[Finding]) -> list[str]:
    worst: dict[str, int] = {}
    for f in findings:
        worst[f.code] = max(worst.get(f.code, -1), f.severity.rank)
    return sorted(worst, key=lambda c: (-worst[c], c))


def _edge_line(a: str, b: str, e: _Edge) -> str | None:
    label = _services_label(e.services)
    worst_v = _worst(e.violations)
    eid = f"edge:{a}->{b}"
    tooltip_rules = "; ".join(sorted(e.rules)[:8])
    if worst_v is not None or (e.permitted and e.outside_policy):
        sev = worst_v or Severity.MEDIUM
        codes = _codes_worst_first(e.violations)
        extra = f"\n⚠ {codes[0]}" + (f" +{len(codes) - 1}" if len(codes) > 1 else "") \
            if codes else "\n⚠ outside policy"
        if e.observed or e.observed_flows:
            extra += " · observed"
        return (f"  {_q(_node_id(a))} -> {_q(_node_id(b))} "
                + _attrs(id=eid, color=SEVERITY_COLOURS[sev], fontcolor=SEVERITY_COLOURS[sev],
                         penwidth="2.6", style="solid", label=(label + extra).strip(),
                         constraint="false", weight="1",
                         tooltip=f"{a} → {b}: permitted outside policy ({sev.value}); "
                                 f"{', '.join(codes)} {tooltip_rules}".strip(),
                         **{"class": f"violation sev-{sev.value}"}) + ";")
    if e.permitted:
        return (f"  {_q(_node_id(a))} -> {_q(_node_id(b))} "
                + _attrs(id=eid, color=CONDUIT_COLOUR, fontcolor=CONDUIT_COLOUR, penwidth="1.4",
                         style="solid", label=label, constraint="false", weight="1",
                         tooltip=f"{a} → {b}: permitted, inside a conduit. {tooltip_rules}",
                         **{"class": "conduit"}) + ";")
    if e.observed or e.observed_flows:
        obs_sev = _worst(e.observed)
        colour = SEVERITY_COLOURS[obs_sev] if obs_sev else OBSERVED_COLOUR
        codes = _codes_worst_first(e.observed)
        cls = "observed" + (f" sev-{obs_sev.value}" if obs_sev else "")
        return (f"  {_q(_node_id(a))} -> {_q(_node_id(b))} "
                + _attrs(id=eid, color=colour, fontcolor=colour, penwidth="2.0",
                         style="dashed", label="observed" + (f"\n⚠ {codes[0]}" if codes else ""),
                         constraint="false", weight="1",
                         tooltip=f"{a} → {b}: observed in captures, no configured path "
                                 f"(bypass). {', '.join(codes)}".strip(),
                         **{"class": cls}) + ";")
    return None


def _unimplemented_conduits(result: CheckResult, zones: set[str],
                            edges: dict[tuple[str, str], _Edge]) -> list[tuple[str, str, str]]:
    """(zone a, zone b, conduit id) for conduits that no rule implements: an explicitly empty
    ``implemented_by``, or (without that field) no permitted space either way."""
    out = []
    for row in result.conduits:
        pair = conduit_between(row)
        if pair is None or pair[0] not in zones or pair[1] not in zones:
            continue
        a, b = pair
        said = conduit_unimplemented(row)
        if said is None:
            unimplemented = not any(edges.get(k, _Edge()).permitted for k in ((a, b), (b, a)))
        else:
            unimplemented = said
        if unimplemented:
            out.append((a, b, str(row.get("id", ""))))
    return sorted(out)


def _pivots(result: CheckResult, zones: set[str]) -> tuple[list[str], set[tuple[str, str]]]:
    """DOT lines of pivot overlays (one edge per zone pair, listing the pivot paths that use
    it), and the (zone, host) pairs of pivot hosts. Paths are numbered in finding order."""
    hops: dict[tuple[str, str], dict[str, set[Any]]] = {}
    hosts: set[tuple[str, str]] = set()
    n = 0
    for f in sorted_findings(result.active_findings()):
        if not _is_pivot(f):
            continue
        n += 1
        for hop in f.path:
            if hop.kind == "host":
                hosts.add((hop.src_zone, hop.name))
                continue
            if hop.src_zone == hop.dst_zone or hop.src_zone not in zones \
                    or hop.dst_zone not in zones:
                continue
            entry = hops.setdefault((hop.src_zone, hop.dst_zone),
                                    {"paths": set(), "services": set(), "via": set()})
            entry["paths"].add(n)
            if hop.service:
                entry["services"].add(short_service(hop.service))
            entry["via"].add(f.object or f.code)
    lines = []
    for (a, b), entry in sorted(hops.items()):
        nums = sorted(entry["paths"])
        shown = ",".join(str(x) for x in nums[:6]) + ("…" if len(nums) > 6 else "")
        label = f"pivot {shown}"
        if entry["services"]:
            label += ": " + _services_label(entry["services"])
        lines.append(
            f"  {_q(_node_id(a))} -> {_q(_node_id(b))} "
            + _attrs(id=f"pivot:{a}->{b}", color=PIVOT_COLOUR, fontcolor=PIVOT_COLOUR,
                     penwidth="3.5", style="bold", arrowhead="vee", constraint="false",
                     label=label,
                     tooltip="pivot paths: " + "; ".join(sorted(entry["via"]))[:600],
                     **{"class": "pivot"}) + ";")
    return lines, hosts


def _zone_label(row: dict[str, Any], findings: list[Finding], pivot_hosts: list[str],
                assets: bool) -> _Html:
    zid = zone_id(row)
    kind = str(row.get("kind", ""))
    levels = "/".join(fmt_level(x) for x in sorted(zone_levels(row)))
    meta = " · ".join(x for x in (kind + (" · SAFETY" if row.get("safety") else ""),
                                  f"L{levels}" if levels else "",
                                  f"SL-T {fmt_sl(row.get('sl_t'))}" if row.get("sl_t") else "")
                      if x)
    rows = [f'<TR><TD><B>{_h(zid)}</B></TD></TR>']
    name = str(row.get("name") or "")
    if name and name != zid:
        rows.append(f'<TR><TD><FONT POINT-SIZE="9">{_h(name)}</FONT></TD></TR>')
    rows.append(f'<TR><TD><FONT POINT-SIZE="9">{_h(meta)}</FONT></TD></TR>')
    worst = _worst(findings)
    if worst is not None:
        rows.append(f'<TR><TD><FONT POINT-SIZE="9" COLOR="{SEVERITY_COLOURS[worst]}">'
                    f'⚠ {len(findings)} finding{"s" if len(findings) != 1 else ""} '
                    f'(worst {worst.value})</FONT></TD></TR>')
    rows.extend(f'<TR><TD><FONT POINT-SIZE="9" COLOR="{PIVOT_COLOUR}">pivot via '
                f'{_h(host)}</FONT></TD></TR>' for host in pivot_hosts)
    if assets:
        for aid, info in assets_of(row):
            role = str(info.get("role") or "")
            rows.append(f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="8">▪ {_h(aid)}'
                        f'{" (" + _h(role) + ")" if role else ""}</FONT></TD></TR>')
    return _Html('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
                 + "".join(rows) + "</TABLE>")


def _legend() -> str:
    def row(colour: str, glyph: str, text: str) -> str:
        return (f'<TR><TD ALIGN="LEFT"><FONT COLOR="{colour}"><B>{glyph}</B></FONT></TD>'
                f'<TD ALIGN="LEFT">{_h(text)}</TD></TR>')

    sev = "".join(f'<FONT COLOR="{SEVERITY_COLOURS[s]}">■ {s.value}</FONT> '
                  for s in Severity if s is not Severity.INFO)
    rows = [
        '<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Legend</B></TD></TR>',
        row(CONDUIT_COLOUR, "━━━▶", "permitted, inside a conduit"),
        row(SEVERITY_COLOURS[Severity.CRITICAL], "━━━▶",
            "permitted outside policy (violation), coloured by severity:"),
        f'<TR><TD></TD><TD ALIGN="LEFT">{sev}</TD></TR>',
        row(OBSERVED_COLOUR, "╍╍╍▶", "observed only: no configured path (bypass)"),
        row(UNIMPLEMENTED_COLOUR, "┈┈┈┈", "conduit that no rule implements"),
        row(PIVOT_COLOUR, "━━━▷", "pivot path hop (through a DMZ or bridging host)"),
        '<TR><TD COLSPAN="2" ALIGN="LEFT"><FONT POINT-SIZE="8">Arrows point from initiator '
        'to responder; return traffic is implied (stateful).</FONT></TD></TR>',
    ]
    return ("  legend " + _attrs(
        shape="plaintext", id="legend", style="filled", fillcolor="#ffffff",
        label=_Html('<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="2" CELLPADDING="2" '
                    'COLOR="#888888">' + "".join(rows) + "</TABLE>")) + ";")


def _pseudo_zones(result: CheckResult) -> list[dict[str, Any]]:
    """Nodes for ``device:<id>`` endpoints (firewall management planes) that findings or
    matrix cells name but the zone register does not."""
    known = {zone_id(z) for z in result.zones}
    names = {z for f in result.findings for z in (f.src_zone, f.dst_zone)}
    names |= {z for c in result.matrix for z in (c.src_zone, c.dst_zone)}
    return [{"id": n, "name": f"{n.split(':', 1)[1]} management plane", "kind": "device"}
            for n in sorted(x for x in names if x and x.startswith("device:") and x not in known)]


def _zone_node(r: dict[str, Any], per_zone: dict[str, list[Finding]],
               pivot_hosts: set[tuple[str, str]], assets: bool) -> str:
    zid = zone_id(r)
    hosts = sorted(h for z, h in pivot_hosts if z == zid)
    kind = str(r.get("kind", ""))
    return (f"{_q(_node_id(zid))} "
            + _attrs(id=f"zone-{zid}", label=_zone_label(r, per_zone[zid], hosts, assets),
                     fillcolor=KIND_FILL.get(kind, "#ffffff"),
                     peripheries="2" if r.get("safety") else None,
                     shape="box3d" if kind == "device" else None,
                     style="filled" if kind == "device" else None,
                     color=PIVOT_COLOUR if hosts else "#333333",
                     penwidth="3" if hosts else None,
                     tooltip=f"{zid}: " + ", ".join(str(c) for c in as_list(r.get("cidrs"))),
                     **{"class": f"zone kind-{kind}"}) + ";")


def to_dot(result: CheckResult, *, assets: bool = False) -> str:
    """The DOT text of the reachability graph (deterministic: see module docstring)."""
    rows = sorted([*(dict(z) for z in result.zones), *_pseudo_zones(result)],
                  key=lambda r: (-band_of(r), zone_id(r)))
    zones = {zone_id(r) for r in rows}
    edges = _collect_edges(result, zones)
    pivot_lines, pivot_hosts = _pivots(result, zones)
    per_zone: dict[str, list[Finding]] = {z: [] for z in zones}
    for f in result.active_findings():
        for z in {f.src_zone, f.dst_zone}:
            if z in per_zone:
                per_zone[z].append(f)

    out = [
        f"// segcheck {result.version} zone reachability graph (generated; do not edit)",
        "digraph segcheck {",
        '  graph [fontname="Helvetica", fontsize="11", rankdir="TB", newrank="true", '
        'nodesep="0.35", ranksep="0.9", splines="true", outputorder="edgesfirst", '
        'pad="0.3", labelloc="t", label=' + _q(_title(result)) + "];",
        '  node [fontname="Helvetica", fontsize="11", shape="box", style="rounded,filled", '
        'penwidth="1.2", margin="0.12,0.06"];',
        '  edge [fontname="Helvetica", fontsize="9", arrowsize="0.8"];',
    ]
    bands = sorted({band_of(r) for r in rows}, reverse=True)
    chain: list[str] = []
    for band in bands:
        members = [r for r in rows if band_of(r) == band]
        base = f"band:{fmt_level(band) if band != SAFETY_BAND else 'safety'}"
        for k in range(0, len(members), MAX_PER_ROW):
            bid = base if k == 0 else f"{base}#{k // MAX_PER_ROW + 1}"
            chain.append(bid)
            out.append(f"  subgraph {_q('rank ' + bid)} {{")
            out.append('    rank="same";')
            out.append(f"    {_q(bid)} " + _attrs(
                shape="plaintext", style="", fontsize="10", fontcolor="#555555", id=bid,
                label=_band_title(band) if k == 0 else "") + ";")
            out.extend("    " + _zone_node(r, per_zone, pivot_hosts, assets)
                       for r in members[k:k + MAX_PER_ROW])
            out.append("  }")
    for a, b in zip(chain, [*chain[1:], "legend"], strict=False):  # no zones: no chain
        out.append(f"  {_q(a)} -> {_q(b)} " + _attrs(style="invis", weight="100") + ";")
    out.append(_legend())
    for (a, b) in sorted(edges):
        line = _edge_line(a, b, edges[(a, b)])
        if line:
            out.append(line)
    for a, b, cid in _unimplemented_conduits(result, zones, edges):
        out.append(f"  {_q(_node_id(a))} -> {_q(_node_id(b))} "
                   + _attrs(id=f"conduit:{cid}", color=UNIMPLEMENTED_COLOUR,
                            fontcolor=UNIMPLEMENTED_COLOUR, style="dotted", dir="none",
                            penwidth="1.6", label=f"{cid} (no rule)", constraint="false",
                            tooltip=f"conduit {cid} between {a} and {b}: no rule implements it",
                            **{"class": "unimplemented"}) + ";")
    out.extend(pivot_lines)
    out.append("}")
    return "\n".join(out) + "\n"


def _title(result: CheckResult) -> str:
    suc = result.extra.get("suc")
    incomplete = "" if result.complete else "  —  INCOMPLETE analysis (see diagnostics)"
    return f"segcheck {result.version}: zone reachability{' — ' + str(suc) if suc else ''}" \
           f"{incomplete}"


def dot_available() -> bool:
    return shutil.which("dot") is not None


def render(dot_text: str, fmt: str) -> bytes:
    """``dot -T<fmt>`` of ``dot_text``. Raises GraphvizMissing or SegcheckError."""
    if fmt not in FORMATS[1:]:
        raise UsageError(f"unknown graph format {fmt!r}; known: {', '.join(FORMATS)}")
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(_install_hint())
    try:
        proc = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode(), capture_output=True,
                              timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SegcheckError(f"running graphviz 'dot' failed: {exc}") from exc
    if proc.returncode != 0:
        raise SegcheckError("graphviz 'dot' failed: "
                            + proc.stderr.decode(errors="replace").strip()[:500])
    if proc.stderr:
        log.info("dot: %s", proc.stderr.decode(errors="replace").strip()[:500])
    return proc.stdout


def _install_hint() -> str:
    return ("graphviz's 'dot' program is not installed; install graphviz "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
            "Windows: winget install graphviz)")


def write_graph(result: CheckResult, path: str | Path, *, assets: bool = False) -> Path:
    """Write the graph to ``path``; the format is the suffix (.dot, .svg, .png, .pdf).

    Returns the path written. When ``dot`` is missing for a rendered format, writes the DOT
    text next to it (``FILE.dot``) and raises ``GraphvizMissing`` naming that file."""
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(f"graph file must end in one of {', '.join('.' + f for f in FORMATS)}: "
                         f"{target}")
    text = to_dot(result, assets=assets)
    if fmt == "dot":
        write_output(text, target)
        return target
    try:
        data = render(text, fmt)
    except GraphvizMissing:
        dot_path = target.with_suffix(".dot")
        write_output(text, dot_path)
        raise GraphvizMissing(f"{_install_hint()}. Wrote {dot_path} instead; render it with: "
                              f"dot -T{fmt} {dot_path} -o {target}", dot_path) from None
    write_output(data, target)
    return target


def svg_inline(result: CheckResult, *, assets: bool = False) -> str | None:
    """The graph as an ``<svg>`` element for embedding in HTML (no XML prolog or DOCTYPE),
    or None when ``dot`` is unavailable."""
    if not dot_available():
        return None
    svg = render(to_dot(result, assets=assets), "svg").decode()
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else None
