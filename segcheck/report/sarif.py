"""SARIF 2.1.0 (OASIS, errata 01) for code-scanning UIs such as GitHub's.

Shape and semantics:

* One ``run``; ``tool.driver.rules`` holds one reportingDescriptor per ``SC-*`` code present,
  sorted by code, with name, short/full description, ``help`` (text + markdown remediation)
  and ``properties``: ``tags`` (``security``, the check family, the standards references of
  its findings such as ``iec62443/SR 5.2`` or ``attack-ics/T0886``), ``precision`` and
  ``security-severity`` (GitHub's numeric scale: the worst severity among its findings).
* Each finding is one ``result``: ``ruleId``/``ruleIndex``, ``level`` from severity
  (critical/high → error, medium → warning, low/info → note), the message with its zone pair
  and witness packet, ``locations`` at the firewall file and line of the first evidence
  (``artifactLocation.uri`` relative to the working directory with ``uriBaseId``
  ``%SRCROOT%``; ``region.startLine`` and the rule text as ``snippet``), the remaining
  evidence as ``relatedLocations``, path findings (pivots, DMZ bypass) as a ``codeFlow`` with
  one thread-flow location per hop, and ``partialFingerprints`` derived from ``Finding.key``
  so code-scanning tracks a finding across runs even when line numbers move.
* A finding without evidence is located at the policy file (line 1) so every result has a
  location (GitHub rejects results without one).
* Suppressed findings keep their result and carry ``suppressions`` (kind ``external``: the
  exception lives in the policy file, status ``accepted``, justification naming it).
* ``invocations[0].executionSuccessful`` is false when the analysis is *incomplete*; every
  diagnostic becomes a ``toolExecutionNotification`` with its file and line, so incomplete
  parses are said loudly in the code-scanning UI too.
* Output is deterministic: findings in ``finding_order``, keys in a fixed order, no
  timestamps.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from segcheck.analysis.result import CheckResult, Evidence, Finding, Severity
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.report.summary import code_info, rel_path, sorted_findings

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/segcheck/segcheck"
FINGERPRINT_KEY = "segcheckFindingKey/v1"
SRCROOT = "%SRCROOT%"

LEVELS: dict[Severity, str] = {
    Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
    Severity.LOW: "note", Severity.INFO: "note",
}
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0", Severity.INFO: "0.0",
}
"""GitHub's scale: > 9.0 critical, 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low."""

DIAGNOSTIC_LEVELS: dict[Level, str] = {
    Level.ERROR: "error", Level.UNSUPPORTED: "error", Level.WARNING: "warning",
    Level.INFO: "note",
}


def _uri(path: str, base: str | os.PathLike[str] | None) -> tuple[str, bool]:
    """(URI, relative?) — relative paths are percent-encoded POSIX paths; others file URIs."""
    rel = rel_path(path, base)
    if Path(rel).is_absolute():
        return Path(rel).as_uri(), False
    return quote(rel, safe="/-._~"), True


def _artifact(path: str, base: str | os.PathLike[str] | None) -> dict[str, Any]:
    uri, relative = _uri(path, base)
    return {"uri": uri, "uriBaseId": SRCROOT} if relative else {"uri": uri}


def _physical(span: SourceSpan, base: str | os.PathLike[str] | None) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": max(span.line, 1)}
    if span.col:
        region["startColumn"] = span.col
    if span.text:
        region["snippet"] = {"text": span.text}
    return {"artifactLocation": _artifact(span.path, base), "region": region}


RELATED_SHOWN = 24
"""Evidence rules located per result besides the primary location (a pair carried by
thousands of rules would otherwise repeat each one in every result: code-scanning viewers
show a handful, and GitHub caps the locations of an upload)."""


def _evidence_location(ev: Evidence, base: str | os.PathLike[str] | None,
                       loc_id: int | None = None) -> dict[str, Any]:
    loc: dict[str, Any] = {}
    if loc_id is not None:
        loc["id"] = loc_id
    loc["physicalLocation"] = _physical(ev.span, base)
    loc["message"] = {"text": f"{ev.device}: {ev.rule or ev.span.text or ''} "
                              f"({ev.action or 'rule'})".replace("  ", " ")}
    loc["logicalLocations"] = [{"name": ev.rule or f"line {ev.span.line}",
                                "fullyQualifiedName": f"{ev.device}/{ev.rule}" if ev.rule
                                else ev.device, "kind": "member"}]
    return loc


def _tags(code: str, findings: list[Finding], family: str) -> list[str]:
    refs = sorted({f"{std}/{ref}" for f in findings for std, items in f.standards.items()
                   for ref in items})
    return ["security", "network-segmentation", family, *refs]


def _rule(code: str, result: CheckResult, findings: list[Finding]) -> dict[str, Any]:
    info = code_info(code, result.findings)
    worst = max((f.severity for f in findings), key=lambda s: s.rank)
    remediation = info.help or next((f.remediation for f in findings if f.remediation), "")
    standards = sorted({f"{std}: {ref}" for f in findings for std, items in f.standards.items()
                        for ref in items})
    md = [f"**{info.short}**", "", info.full, "", f"**Remediation:** {remediation}"]
    if standards:
        md += ["", "**Standards:** " + "; ".join(standards)]
    return {
        "id": code,
        "name": info.name,
        "shortDescription": {"text": info.short},
        "fullDescription": {"text": info.full},
        "help": {"text": f"{info.full} Remediation: {remediation}"
                         + (f" Standards: {'; '.join(standards)}." if standards else ""),
                 "markdown": "\n".join(md)},
        "defaultConfiguration": {"level": LEVELS[worst]},
        "properties": {"tags": _tags(code, findings, info.family),
                       "precision": "high" if info.family != "observed" else "medium",
                       "security-severity": SECURITY_SEVERITY[worst],
                       "problem.severity": worst.value},
    }


def fingerprint(f: Finding) -> str:
    """Stable identity of a finding across runs: SHA-256 of its ``key``."""
    return hashlib.sha256(json.dumps(list(f.key)).encode()).hexdigest()


def _message(f: Finding) -> str:
    parts = [f"[{f.severity.value}] {f.title}."]
    if f.message:
        parts.append(f.message)
    if f.src_zone or f.dst_zone:
        parts.append(f"Zones: {f.src_zone or '?'} → {f.dst_zone or '?'}.")
    if f.witness is not None:
        parts.append(f"Witness: {f.witness}.")
    if f.observed is not None:
        frames = ", ".join(str(n) for n in f.observed.frames[:10])
        parts.append(f"Observed in {f.observed.capture} (frames {frames}).")
    if f.remediation:
        parts.append(f"Remediation: {f.remediation}")
    return " ".join(parts)


def _code_flow(f: Finding, base: str | os.PathLike[str] | None) -> dict[str, Any]:
    locations = []
    for i, hop in enumerate(f.path):
        text = (f"hop {i + 1}: {hop.kind} {hop.name} {hop.src_zone} → {hop.dst_zone}"
                + (f" ({hop.service})" if hop.service else ""))
        loc: dict[str, Any] = {"message": {"text": text}}
        if hop.evidence:
            loc["physicalLocation"] = _physical(hop.evidence[0].span, base)
        locations.append({"location": loc, "nestingLevel": 0, "executionOrder": i + 1})
    return {"message": {"text": f"path of {f.code}"},
            "threadFlows": [{"locations": locations}]}


def _result(f: Finding, rule_index: int, result: CheckResult,
            base: str | os.PathLike[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": rule_index,
        "level": LEVELS[f.severity],
        "message": {"text": _message(f)},
    }
    if f.evidence:
        out["locations"] = [_evidence_location(f.evidence[0], base)]
        if len(f.evidence) > 1:
            out["relatedLocations"] = [
                _evidence_location(ev, base, i)
                for i, ev in enumerate(f.evidence[1:RELATED_SHOWN + 1], start=1)]
        if len(f.evidence) > RELATED_SHOWN + 1:
            out["message"]["text"] += (
                f" Carried by {len(f.evidence)} rules; the first {RELATED_SHOWN + 1} are "
                "located here, the JSON report lists them all.")
    else:
        policy = next((i.path for i in result.inputs if i.kind == "policy"), None)
        path = policy or (result.inputs[0].path if result.inputs else "segcheck")
        loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": _artifact(path, base),
                                                    "region": {"startLine": 1}}}
        loc["logicalLocations"] = [{"name": f.object or f.code, "kind": "object"}]
        out["locations"] = [loc]
    if f.path:
        out["codeFlows"] = [_code_flow(f, base)]
    out["partialFingerprints"] = {FINGERPRINT_KEY: fingerprint(f)}
    props: dict[str, Any] = {"severity": f.severity.value,
                             "security-severity": SECURITY_SEVERITY[f.severity]}
    if f.src_zone:
        props["src_zone"] = f.src_zone
    if f.dst_zone:
        props["dst_zone"] = f.dst_zone
    if f.object:
        props["object"] = f.object
    if f.witness is not None:
        props["witness"] = f.witness.to_json()
    if f.standards:
        props["standards"] = {k: list(v) for k, v in sorted(f.standards.items())}
    if f.observed is not None:
        props["observed"] = f.observed.to_json()
    out["properties"] = props
    if f.suppressed_by is not None:
        out["suppressions"] = [{"kind": "external", "status": "accepted",
                                "justification": f"policy exception {f.suppressed_by}"}]
    return out


def _notification(d: Diagnostic, base: str | os.PathLike[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "level": DIAGNOSTIC_LEVELS.get(d.level, "note"),
        "message": {"text": f"{d.level.value}: {d.message}"
                            + (" (analysis incomplete)" if d.level.makes_incomplete else "")},
        "descriptor": {"id": d.code or f"segcheck.{d.level.value}"},
    }
    if d.span is not None:
        out["locations"] = [{"physicalLocation": _physical(d.span, base)}]
    return out


def to_sarif(result: CheckResult, *, base: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict. Paths are made relative to ``base`` (default cwd)."""
    findings = sorted_findings(result.findings)
    codes = sorted({f.code for f in findings})
    by_code = {c: [f for f in findings if f.code == c] for c in codes}
    index = {c: i for i, c in enumerate(codes)}
    artifacts = []
    for inp in sorted(result.inputs, key=lambda i: (i.kind, i.path)):
        art: dict[str, Any] = {"location": _artifact(inp.path, base)}
        if inp.sha256:
            art["hashes"] = {"sha-256": inp.sha256}
        if inp.kind:
            art["properties"] = {"kind": inp.kind}
        artifacts.append(art)
    notifications = [_notification(d, base) for d in result.diagnostics]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "segcheck",
            "semanticVersion": result.version,
            "version": result.version,
            "informationUri": INFORMATION_URI,
            "rules": [_rule(c, result, by_code[c]) for c in codes],
        }},
        "invocations": [{
            "executionSuccessful": result.complete,
            "toolExecutionNotifications": notifications,
        }],
        "artifacts": artifacts,
        "results": [_result(f, index[f.code], result, base) for f in findings],
        "columnKind": "unicodeCodePoints",
        "properties": {"complete": result.complete,
                       "limitations": list(result.limitations)},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(result: CheckResult) -> str:
    return json.dumps(to_sarif(result), indent=2, ensure_ascii=False) + "\n"
