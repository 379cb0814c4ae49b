"""JUnit XML for CI test-report widgets (GitLab, Jenkins, Azure, GitHub test reporters).

Shape (the common "Jenkins/Ant" dialect every parser reads):

* ``<testsuites name="segcheck" tests failures errors skipped>`` containing, in order:
  - ``segcheck.analysis``: one testcase ``complete`` — an ``<error type="incomplete">`` listing
    the diagnostics when the analysis is incomplete (so CI can never mistake an incomplete
    run for a clean one), passing otherwise;
  - ``segcheck.principles``: one testcase per DMZ principle P1–P9 — ``failure`` when it
    fails, ``skipped`` when not assessed or unverified;
  - one suite per (check family, zone pair) with findings, named
    ``<family>: <src> -> <dst>`` (or ``<family>: policy`` without a pair), holding one
    testcase per (finding code × object): ``failure`` for every active finding (message =
    title, type = code, body = evidence/witness/remediation), ``skipped`` for suppressed
    ones (message names the exception).
* Suite ``<properties>`` carry ``complete`` and the tool version; the root's first suite
  has the diagnostics in ``<system-err>``.
* No timestamps or hostnames; ``time="0"``: output is deterministic for the same result.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from segcheck.analysis.result import EVIDENCE_SHOWN, CheckResult, Finding
from segcheck.report.summary import (
    code_info,
    diagnostic_text,
    incomplete_diagnostics,
    location,
    principle_verdicts,
    sorted_findings,
    span_location,
)


def _suite(parent: ET.Element, name: str, result: CheckResult) -> ET.Element:
    suite = ET.SubElement(parent, "testsuite", {"name": name})
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", {"name": "complete",
                                      "value": "true" if result.complete else "false"})
    ET.SubElement(props, "property", {"name": "segcheck.version", "value": result.version})
    return suite


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", {"classname": classname, "name": name, "time": "0"})


def _finding_body(f: Finding) -> str:
    lines = [f.message]
    if f.src_zone or f.dst_zone:
        lines.append(f"zones: {f.src_zone or '?'} -> {f.dst_zone or '?'}")
    if f.witness is not None:
        lines.append(f"witness: {f.witness}")
    lines.extend(f"evidence: {span_location(ev.span)} {ev.device} {ev.rule}: "
                 f"{ev.span.text or ''}".rstrip() for ev in f.evidence[:EVIDENCE_SHOWN])
    if len(f.evidence) > EVIDENCE_SHOWN:  # the rest by location only (lossless, proportionate)
        rest = f.evidence[EVIDENCE_SHOWN:]
        lines.append(f"evidence: ... and {len(rest)} more rule(s): "
                     + ", ".join(f"{span_location(ev.span)} {ev.device}" for ev in rest))
    for i, hop in enumerate(f.path, start=1):
        rules = ", ".join(span_location(ev.span) for ev in hop.evidence)
        lines.append(f"hop {i}: {hop.kind} {hop.name} {hop.src_zone} -> {hop.dst_zone} "
                     f"{hop.service} {rules}".rstrip())
    if f.observed is not None:
        lines.append(f"observed: {f.observed.capture} frames "
                     + ", ".join(str(n) for n in f.observed.frames[:20]))
    if f.remediation:
        lines.append(f"remediation: {f.remediation}")
    refs = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(f.standards.items()))
    if refs:
        lines.append(f"standards: {refs}")
    return "\n".join(lines)


def _finalize(suite: ET.Element) -> tuple[int, int, int, int]:
    cases = suite.findall("testcase")
    counts = (len(cases),
              sum(1 for c in cases if c.find("failure") is not None),
              sum(1 for c in cases if c.find("error") is not None),
              sum(1 for c in cases if c.find("skipped") is not None))
    for key, value in zip(("tests", "failures", "errors", "skipped"), counts, strict=True):
        suite.set(key, str(value))
    suite.set("time", "0")
    return counts


def to_xml(result: CheckResult) -> ET.Element:
    root = ET.Element("testsuites", {"name": "segcheck"})

    analysis = _suite(root, "segcheck.analysis", result)
    case = _case(analysis, "segcheck.analysis", "complete")
    if not result.complete:
        diags = incomplete_diagnostics(result)
        err = ET.SubElement(case, "error", {
            "type": "incomplete",
            "message": f"INCOMPLETE: {len(diags)} input line(s) not understood; verdicts may "
                       "be wrong (a skipped deny turns blocked into open)"})
        err.text = "\n".join(diagnostic_text(d) for d in diags)
    if result.diagnostics:
        ET.SubElement(analysis, "system-err").text = "\n".join(
            diagnostic_text(d) for d in result.diagnostics)

    principles = _suite(root, "segcheck.principles", result)
    for v in principle_verdicts(result):
        case = _case(principles, "segcheck.principles", f"{v.principle.id} {v.principle.title}")
        if v.status == "fail":
            ET.SubElement(case, "failure", {
                "type": v.principle.id,
                "message": f"{v.findings} active finding(s) of "
                           f"{', '.join(v.principle.codes)}"})
        elif v.status != "pass":
            ET.SubElement(case, "skipped", {"message": v.status})

    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in sorted_findings(result.findings):
        family = code_info(f.code, result.findings).family
        pair = f"{f.src_zone or '?'} -> {f.dst_zone or '?'}" \
            if (f.src_zone or f.dst_zone) else "policy"
        groups[(family, pair)].append(f)
    for (family, pair), findings in sorted(groups.items()):
        suite = _suite(root, f"{family}: {pair}", result)
        classname = f"segcheck.{family}.{pair.replace(' -> ', '.to.')}"
        seen: dict[str, int] = {}
        for f in findings:
            name = f"{f.code} {f.object or location(f) or '-'}"
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name} #{seen[name]}"
            case = _case(suite, classname, name)
            where = location(f)
            if where:
                case.set("file", where.rsplit(":", 1)[0])
                case.set("line", where.rsplit(":", 1)[1])
            if f.suppressed_by is not None:
                ET.SubElement(case, "skipped",
                              {"message": f"suppressed by exception {f.suppressed_by}"})
            else:
                fail = ET.SubElement(case, "failure", {
                    "type": f.code,
                    "message": f"[{f.severity.value}] {f.title}" + (f" ({where})" if where
                                                                    else "")})
                fail.text = _finding_body(f)

    totals = [0, 0, 0, 0]
    for suite in root.findall("testsuite"):
        for i, n in enumerate(_finalize(suite)):
            totals[i] += n
    for key, value in zip(("tests", "failures", "errors", "skipped"), totals, strict=True):
        root.set(key, str(value))
    root.set("time", "0")
    return root


def render(result: CheckResult) -> str:
    root = to_xml(result)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"
