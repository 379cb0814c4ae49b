"""``check --format text``: the terminal report a reviewer reads first.

Layout: a verdict banner (INCOMPLETE said loudly first when diagnostics make the analysis
incomplete), counts by severity, principles P1-P9, then each finding with its witness packet,
evidence ``file:line`` and rule text, path hops, remediation and standards; then the zone
matrix and the method's limitations. Suppressed findings are listed after the active ones,
marked with their exception.
"""

from __future__ import annotations

from segcheck.analysis.result import EVIDENCE_SHOWN, CheckResult, Finding
from segcheck.report.summary import (
    SEVERITY_ORDER,
    incomplete_diagnostics,
    principle_verdicts,
    rel_path,
    severity_counts,
    sorted_findings,
)


def _finding(f: Finding, out: list[str]) -> None:
    pair = f" {f.src_zone} -> {f.dst_zone}" if f.src_zone or f.dst_zone else ""
    mark = f"  [suppressed by {f.suppressed_by}]" if f.suppressed_by else ""
    out.append(f"[{f.severity.value.upper()}] {f.code}{pair}: {f.title}{mark}")
    out.append(f"    {f.message}")
    if f.object:
        out.append(f"    object:   {f.object}")
    if f.witness is not None:
        out.append(f"    witness:  {f.witness}")
    for e in f.evidence[:EVIDENCE_SHOWN]:
        text = f"  {e.span.text}" if e.span.text else ""
        out.append(f"    evidence: {e.device} {rel_path(e.span.path)}:{e.span.line}{text}")
    if len(f.evidence) > EVIDENCE_SHOWN:  # the rest by location only (lossless, proportionate)
        rest = f.evidence[EVIDENCE_SHOWN:]
        out.append(f"    evidence: ... and {len(rest)} more rule(s): " + ", ".join(
            f"{e.device} {rel_path(e.span.path)}:{e.span.line}" for e in rest))
    for k, h in enumerate(f.path, 1):
        rules = ", ".join(f"{rel_path(e.span.path)}:{e.span.line}" for e in h.evidence)
        what = f"{h.kind} {h.name}" + (f" ({h.service})" if h.service else "")
        out.append(f"    hop {k}: {what} {h.src_zone} -> {h.dst_zone}"
                   + (f" via {rules}" if rules else ""))
    if f.observed is not None:
        o = f.observed
        frames = ",".join(str(x) for x in o.frames[:10])
        out.append(f"    observed: {o.capture} frames {frames} ({o.packets} packets) {o.detail}")
    if f.remediation:
        out.append(f"    fix:      {f.remediation}")
    refs = "; ".join(f"{k}: {', '.join(v)}" for k, v in f.standards.items() if v)
    if refs:
        out.append(f"    refs:     {refs}")


def render(result: CheckResult) -> str:
    out: list[str] = []
    bad = incomplete_diagnostics(result)
    if bad:
        out.append("!" * 78)
        out.append(f"!! INCOMPLETE ANALYSIS: {len(bad)} input problem(s) were not understood;")
        out.append("!! verdicts that depend on them may be wrong (a skipped deny opens a path).")
        out.extend(f"!!   {d}" for d in bad[:20])
        out.append("!" * 78)
    suc = result.extra.get("suc")
    out.append(f"segcheck {result.version} check" + (f" — {suc}" if suc else ""))
    counts = severity_counts(result)
    out.append("findings: " + ", ".join(
        f"{s.value} {a}" + (f" (+{b} suppressed)" if b else "")
        for s, (a, b) in counts.items()))
    out.append("principles: " + "  ".join(
        f"{v.principle.id} {v.status}" for v in principle_verdicts(result)))
    out.append("")
    active = [f for f in sorted_findings(result.findings) if f.suppressed_by is None]
    suppressed = [f for f in sorted_findings(result.findings) if f.suppressed_by is not None]
    for sev in SEVERITY_ORDER:
        group = [f for f in active if f.severity is sev]
        for f in group:
            _finding(f, out)
            out.append("")
    if suppressed:
        out.append("Suppressed by exceptions:")
        for f in suppressed:
            _finding(f, out)
            out.append("")
    if not result.findings:
        out.append("No findings.")
        out.append("")
    out.append("Zone matrix (what each zone may initiate):")
    for c in result.matrix:
        flag = "" if c.allowed_by_policy else "   <-- outside conduits"
        out.append(f"  {c.src_zone} -> {c.dst_zone}: {c.permitted}{flag}")
    if not result.matrix:
        out.append("  (no cross-zone traffic permitted)")
    others = [d for d in result.diagnostics if not d.level.makes_incomplete]
    if others:
        out.append("")
        out.append("Diagnostics:")
        out.extend(f"  {d}" for d in others[:50])
    if result.limitations:
        out.append("")
        out.append("Limitations:")
        out.extend(f"  - {x}" for x in result.limitations)
    if bad:
        out.append("")
        out.append("RESULT INCOMPLETE — see the diagnostics above.")
    return "\n".join(out) + "\n"
