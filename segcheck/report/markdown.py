"""Markdown for pull-request comments (GitHub/GitLab flavoured).

Sections are a subset of the HTML audit report's (``summary.SECTIONS``), with the same titles
in the same order — scope, summary, findings, exceptions, method — so the comment and the
report read alike. Layout: a verdict headline; an INCOMPLETE banner (a GitHub alert block)
when any input line was not understood; the severity table and the P1–P9 table; the top
findings with ``file:line``; every finding's evidence inside a collapsed ``<details>``.

Invariants: deterministic (``finding_order``; no timestamps); table cells are escaped (``|``,
newlines); the whole comment stays under ``MAX_CHARS`` (GitHub's comment limit is 65,536) by
dropping per-finding details from the end and saying how many were dropped.
"""

from __future__ import annotations

from segcheck.analysis.result import EVIDENCE_SHOWN, CheckResult, Finding
from segcheck.report.summary import (
    SECTION_TITLES,
    SEVERITY_ORDER,
    incomplete_diagnostics,
    location,
    principle_verdicts,
    rel_path,
    severity_counts,
    sorted_findings,
    span_location,
    verdict,
)

MAX_CHARS = 60_000
TOP_FINDINGS = 10
ICONS = {"critical": "🟥", "high": "🟧", "medium": "🟨", "low": "🟫", "info": "⬜"}
STATUS_ICONS = {"pass": "✅ pass", "fail": "❌ fail", "unverified": "⚠️ unverified",
                "not assessed": "➖ not assessed"}


def _cell(text: object) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`" if text else ""


def _zones(f: Finding) -> str:
    return f"{f.src_zone or '?'} → {f.dst_zone or '?'}" if (f.src_zone or f.dst_zone) else "—"


def _details(f: Finding) -> str:
    sup = f" — suppressed by {f.suppressed_by}" if f.suppressed_by else ""
    lines = ["<details>",
             f"<summary>{ICONS[f.severity.value]} <b>{f.code}</b> {_html(f.title)} "
             f"({_html(_zones(f))}){_html(sup)}</summary>", ""]
    if f.message:
        lines += [f.message, ""]
    if f.witness is not None:
        lines.append(f"- **Witness:** {_code(str(f.witness))}")
    for ev in f.evidence[:EVIDENCE_SHOWN]:
        lines.append(f"- **Evidence:** {_code(span_location(ev.span))} "
                     f"{ev.device} {_code(ev.rule)} {_code(ev.span.text or '')}".rstrip())
    if len(f.evidence) > EVIDENCE_SHOWN:  # the rest by location only (lossless, proportionate)
        rest = f.evidence[EVIDENCE_SHOWN:]
        lines.append(f"- **Evidence:** … and {len(rest)} more rule(s): "
                     + ", ".join(_code(span_location(ev.span)) for ev in rest))
    for i, hop in enumerate(f.path, start=1):
        rules = ", ".join(_code(span_location(e.span)) for e in hop.evidence)
        lines.append(f"- **Hop {i}:** {hop.kind} {hop.name}: {hop.src_zone} → {hop.dst_zone}"
                     f"{' ' + _code(hop.service) if hop.service else ''} {rules}".rstrip())
    if f.observed is not None:
        frames = ", ".join(str(n) for n in f.observed.frames[:20])
        lines.append(f"- **Observed:** {_code(f.observed.capture)} frames {frames} "
                     f"({f.observed.packets} packets)")
    for std, refs in sorted(f.standards.items()):
        lines.append(f"- **{std}:** {', '.join(refs)}")
    if f.remediation:
        lines.append(f"- **Remediation:** {f.remediation}")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(result: CheckResult, *, fail_on: str = "high") -> str:
    findings = sorted_findings(result.findings)
    active = [f for f in findings if f.suppressed_by is None]
    suc = result.extra.get("suc")
    verdict_text = verdict(result, fail_on)
    icon = {"FAIL": "❌", "PASS": "✅", "INCOMPLETE": "⚠️"}[verdict_text]
    out = [f"## {icon} segcheck: {verdict_text}" + (f" — {suc}" if suc else ""), ""]
    counts = severity_counts(result)
    worst = result.worst()
    out.append(f"{len(active)} active finding(s)"
               + (f", worst **{worst.value}**" if worst else "")
               + f"; {len(findings) - len(active)} suppressed by exceptions. "
               + f"segcheck {result.version}, fail-on `{fail_on}`.")
    out.append("")
    diags = incomplete_diagnostics(result)
    if diags:
        out += ["> [!CAUTION]",
                f"> **INCOMPLETE ANALYSIS** — {len(diags)} input line(s) were not understood. "
                "Verdicts may be wrong: a skipped `deny` turns *blocked* into *open*.", ">"]
        out += [f"> - {_code(span_location(d.span) if d.span else '-')} {d.message}"
                for d in diags[:10]]
        if len(diags) > 10:
            out.append(f"> - … and {len(diags) - 10} more")
        out.append("")

    out += [f"### {SECTION_TITLES['scope']}", "", "<details><summary>"
            f"{len(result.inputs)} input file(s)</summary>", "",
            "| Kind | File | SHA-256 |", "|---|---|---|"]
    out += [f"| {_cell(i.kind)} | {_code(rel_path(i.path))} | {_code(i.sha256[:16])}… |"
            for i in result.inputs]
    out += ["", "</details>", ""]

    out += [f"### {SECTION_TITLES['summary']}", "", "| Severity | Active | Suppressed |",
            "|---|---:|---:|"]
    for sev in SEVERITY_ORDER:
        a, s = counts[sev]
        out.append(f"| {ICONS[sev.value]} {sev.value} | {a} | {s} |")
    out += ["", "| DMZ rule | Status | Active findings |", "|---|---|---:|"]
    out += [f"| **{v.principle.id}** {_cell(v.principle.title)} | {STATUS_ICONS[v.status]} | "
            f"{v.findings} |" for v in principle_verdicts(result)]
    out.append("")

    out += [f"### {SECTION_TITLES['findings']}", ""]
    if not findings:
        out += ["No findings.", ""]
    else:
        top = active[:TOP_FINDINGS]
        out += [f"Top {len(top)} of {len(active)} active finding(s):", "",
                "| Severity | Code | Zones | Location | Finding |", "|---|---|---|---|---|"]
        out += [f"| {ICONS[f.severity.value]} {f.severity.value} | {_code(f.code)} | "
                f"{_cell(_zones(f))} | {_code(location(f))} | {_cell(f.title)} |" for f in top]
        out.append("")
    head = "\n".join(out)

    tail = []
    suppressed = [f for f in findings if f.suppressed_by is not None]
    tail += [f"### {SECTION_TITLES['exceptions']}", ""]
    if suppressed:
        tail += ["| Exception | Suppresses | Object |", "|---|---|---|"]
        tail += [f"| {_code(f.suppressed_by or '')} | {_code(f.code)} | {_code(f.object)} |"
                 for f in suppressed]
    else:
        tail.append("No finding is suppressed by an exception.")
    tail += ["", f"### {SECTION_TITLES['method']}", ""]
    tail += [f"- {x}" for x in result.limitations] or ["- (no limitations recorded)"]
    tail.append("")
    tail_text = "\n".join(tail)

    details = [_details(f) for f in findings]
    budget = MAX_CHARS - len(head) - len(tail_text) - 400
    kept: list[str] = []
    for d in details:
        if budget - len(d) < 0:
            break
        kept.append(d)
        budget -= len(d)
    block = ""
    if details:
        block = "<details><summary>All findings with evidence</summary>\n\n" + "".join(kept)
        if len(kept) < len(details):
            block += (f"\n*… {len(details) - len(kept)} more finding(s) omitted to fit the "
                      "comment; see the HTML report or SARIF.*\n")
        block += "\n</details>\n\n"
    return head + "\n" + block + tail_text
