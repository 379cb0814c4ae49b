"""What every auditor/CI format says the same way: the view model shared by SARIF, JUnit,
Markdown, HTML and the graph.

Semantics and invariants:

* **Ordering is total and content-based** (``finding_order``): severity (worst first), code,
  zone pair, object, first evidence location, message. Two runs over the same result render
  byte-identical output, whatever order the analysis produced findings in.
* **Active vs suppressed**: a finding with ``suppressed_by`` is never counted as a failure, but
  it is always shown (marked) — hiding it would hide the exception register's effect.
* **Principles P1–P9** (BRIEF.md §1.5) are judged only from the codes that test them
  (``PRINCIPLES``). ``fail`` = an active finding of such a code; ``pass`` = none and the
  analysis is complete; ``unverified`` = none but the analysis is incomplete (an unparsed
  ``deny`` could turn a pass into a fail); ``not assessed`` = segcheck has no check for it.
  An analysis may override the verdicts with ``result.extra["principles"]``.
* ``CODES`` describes each ``SC-*`` code for rule metadata (SARIF ``rules``, HTML help). A code
  missing from the table still renders, described by its findings' titles.
* ``SECTIONS`` is the audit report's table of contents (BRIEF.md §5); the Markdown summary
  uses a subset of the same ids and titles, in the same order, so the two stay in step.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from segcheck.analysis.result import CheckResult, Finding, Severity
from segcheck.model.source import Diagnostic, SourceSpan

SEVERITY_ORDER: tuple[Severity, ...] = (
    Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO,
)


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """Static description of one finding code."""

    name: str
    """PascalCase rule name (SARIF ``rule.name``)."""
    short: str
    full: str
    help: str
    """How to fix it (remediation guidance, plain text)."""
    family: str
    """``segmentation``, ``hygiene``, ``governance`` or ``observed`` (JUnit suites, filters)."""


CODES: dict[str, CodeInfo] = {
    "SC-PATH-UNAUTH": CodeInfo(
        "UnauthorizedZonePath", "Traffic permitted outside every conduit",
        "The firewalls let connections be initiated between two zones for packets that no "
        "conduit flow of the policy allows (IEC 62443-3-3 SR 5.1/5.2; CIP-005 R1.3).",
        "Remove or narrow the permitting rule to the conduit's sources, destinations and "
        "services, or add the flow to a conduit with a justification and owner.",
        "segmentation"),
    "SC-DMZ-BYPASS": CodeInfo(
        "DmzBypass", "IT/external traffic reaches OT without terminating in a DMZ",
        "A connection from an IT or external zone can reach an OT zone directly, without a "
        "DMZ host receiving it and starting a new session (P3).",
        "Deny the direct path; publish the data through a DMZ broker (historian mirror, jump "
        "host, remote-access gateway) with separate sessions on each side.",
        "segmentation"),
    "SC-DMZ-TRANSIT": CodeInfo(
        "DmzProtocolTransit", "The same protocol enters and leaves a DMZ host",
        "A DMZ host accepts a protocol from IT and may use the same protocol towards OT, so "
        "one compromised credential crosses the DMZ end to end (P4: disjoint protocols).",
        "Use different protocols on each side of the DMZ (e.g. HTTPS in, RDP out via a "
        "hardened jump host with MFA), or remove one of the two permits.",
        "segmentation"),
    "SC-ANY-RULE": CodeInfo(
        "AnyRule", "Cross-zone rule with 'any' source, destination or service",
        "A permit between zones leaves source, destination or service unrestricted (P2: every "
        "permit names specific addresses and ports).",
        "Replace 'any' with the conduit's named assets and services.", "segmentation"),
    "SC-BROAD-PORTS": CodeInfo(
        "BroadPortRange", "Port range wider than the policy allows",
        "A permit opens a destination port range wider than global_rules.max_port_span.",
        "Narrow the range to the ports the application needs, or record a time-limited "
        "exception with compensating controls (e.g. OPC DA -> OPC UA migration).",
        "segmentation"),
    "SC-SHADOWED": CodeInfo(
        "ShadowedRule", "Rule never matches: earlier rules with another action cover it",
        "Every packet this rule matches is decided earlier by rules with a different action, "
        "so the rule has no effect and reviewers may believe it protects something.",
        "Move the rule above the covering rules, or delete it and fix the covering rule.",
        "hygiene"),
    "SC-REDUNDANT": CodeInfo(
        "RedundantRule", "Rule is redundant: earlier rules with the same action cover it",
        "Every packet this rule matches is already decided the same way by earlier rules.",
        "Delete the rule (keep the rule base minimal and reviewable).", "hygiene"),
    "SC-EGRESS-INTERNET": CodeInfo(
        "InternetEgress", "OT or DMZ zone can initiate traffic to the internet",
        "An OT or DMZ zone may open connections to external addresses (incl. DNS), a C2 and "
        "exfiltration channel (P6).",
        "Deny OT/DMZ egress to external zones; route updates through the approved proxy "
        "conduit; resolve names internally.", "segmentation"),
    "SC-REMOTE-NO-MFA": CodeInfo(
        "RemoteAccessWithoutMfa", "Remote access bypasses the MFA gateway",
        "Remote or vendor access reaches the plant without terminating on the remote-access "
        "gateway that enforces MFA and session recording (P9).",
        "Terminate remote access on the remote-access gateway only; deny direct paths.",
        "segmentation"),
    "SC-SIS-REACH": CodeInfo(
        "SafetySystemReachable", "Safety instrumented system reachable beyond its conduit",
        "Traffic can reach the safety zone outside the conduits the policy allows for it "
        "(IEC 62443-3-2 ZCR 3; Triton-style attacks on safety logic).",
        "Deny every path into the safety zone except the read-only conduit flow.",
        "segmentation"),
    "SC-DIRECTION": CodeInfo(
        "WrongInitiator", "A conduit's responder can initiate connections",
        "The rules let the responding side of a conduit flow open connections, e.g. the DMZ "
        "mirror pulling from the OT historian instead of the historian pushing.",
        "Restrict the rule to the policy's initiator; rely on stateful return traffic.",
        "segmentation"),
    "SC-MGMT-EXPOSED": CodeInfo(
        "ManagementExposed", "Firewall management reachable outside the management zone",
        "A firewall's management plane is reachable from a zone other than the management "
        "network (P7): whoever controls the firewall controls every conduit.",
        "Restrict management access to the management zone's named stations.",
        "segmentation"),
    "SC-IPV6-GAP": CodeInfo(
        "Ipv6Gap", "IPv6 permits more than IPv4 between two zones",
        "The IPv6 rule set lets through traffic between a zone pair that the IPv4 rule set "
        "blocks (dual-stack hosts prefer IPv6).",
        "Mirror the IPv4 policy in the IPv6 rule set, or drop IPv6 at the boundary.",
        "segmentation"),
    "SC-OBS-BYPASS": CodeInfo(
        "ObservedBypass", "Observed traffic with no modelled path",
        "A capture shows traffic between zones that the configured firewalls cannot carry: "
        "a dual-homed host or an unmodelled device bridges them.",
        "Find and remove the bridge (second NIC, unmanaged switch, VPN); then re-capture.",
        "observed"),
    "SC-OBS-DANGEROUS-OP": CodeInfo(
        "ObservedDangerousOperation", "Observed write/program/control operation",
        "A capture shows an ICS operation (write, program download, control) the conduit does "
        "not allow.",
        "Restrict the conduit with DPI to the allowed operations; investigate the source.",
        "observed"),
    "SC-OBS-DISCOVERY": CodeInfo(
        "ObservedDiscovery", "Observed ICS discovery traffic",
        "A capture shows ICS discovery (ListIdentity, Modbus FC 43, BACnet Who-Is, "
        "interrogation) across zones.",
        "Block discovery across conduits; investigate the source.", "observed"),
    "SC-PIVOT-PATH": CodeInfo(
        "PivotPath", "Pivot chain from IT/external to OT through exposed hosts",
        "Each hop of a chain IT -> host -> ... -> OT is permitted and every intermediate host "
        "exposes a service that gives control of it (RDP, SSH, VNC, WinRM, SMB), so one "
        "compromised credential walks into OT.",
        "Break the chain: restrict the control services on the pivot hosts to named admin "
        "stations, require MFA on them, and use disjoint protocols across the DMZ.",
        "segmentation"),
    "SC-EXC-EXPIRED": CodeInfo(
        "ExpiredException", "Exception has expired",
        "A policy exception is past its expiry date; it no longer suppresses its finding.",
        "Fix the finding, or renew the exception with a new approval and expiry.",
        "governance"),
    "SC-NO-JUSTIFICATION": CodeInfo(
        "MissingJustification", "Conduit or exception lacks governance fields",
        "A conduit or exception has no justification, owner or approval (CIP-005 R1.3 "
        "requires a documented reason for every permitted access).",
        "Record justification, owner, approver and ticket in the policy.", "governance"),
    "SC-CONDUIT-UNIMPLEMENTED": CodeInfo(
        "ConduitNotImplemented", "Conduit flow that no rule implements",
        "A flow the policy allows is not permitted by any rule; the conduit may be stale or "
        "the firewall incomplete.",
        "Remove the stale conduit flow from the policy, or add the missing rule.", "governance"),
}


def code_info(code: str, findings: tuple[Finding, ...] = ()) -> CodeInfo:
    """The description of ``code``; unknown codes are described from their findings."""
    if code in CODES:
        return CODES[code]
    catalogued = _catalogue().get(code)
    if catalogued is not None:
        title, remediation = catalogued
        name = "".join(p.capitalize() for p in code.removeprefix("SC-").split("-")) or code
        family = "observed" if code.startswith("SC-OBS-") else "segmentation"
        return CodeInfo(name, title, title, remediation, family)
    title = next((f.title for f in findings if f.code == code and f.title), code)
    name = "".join(part.capitalize() for part in code.removeprefix("SC-").split("-")) or code
    family = "observed" if code.startswith("SC-OBS-") else "segmentation"
    return CodeInfo(name, title, title, next((f.remediation for f in findings
                                              if f.code == code and f.remediation), ""), family)


def _catalogue() -> dict[str, tuple[str, str]]:
    """code -> (title, remediation) from the analysis' standards catalogue, when present."""
    try:
        from segcheck.analysis.standards import catalogue
    except ImportError:  # the analysis package is optional for rendering
        return {}
    return {c: (i.title, i.remediation) for c, i in catalogue().items()}


@dataclass(frozen=True, slots=True)
class Principle:
    id: str
    title: str
    codes: tuple[str, ...]
    """Codes whose active findings fail this principle (empty: not assessed)."""


PRINCIPLES: tuple[Principle, ...] = (
    Principle("P1", "Base policy is deny-all, inbound and outbound",
              ("SC-PATH-UNAUTH", "SC-DIRECTION")),
    Principle("P2", "Every permit names specific IPs and ports, statefully",
              ("SC-ANY-RULE", "SC-BROAD-PORTS")),
    Principle("P3", "No direct L4/5 ↔ L0–3 traffic: everything terminates in the DMZ",
              ("SC-DMZ-BYPASS", "SC-OBS-BYPASS")),
    Principle("P4", "Disjoint protocols on the two sides of the DMZ", ("SC-DMZ-TRANSIT",)),
    Principle("P5", "Traffic leaving OT/DMZ carries only that zone's source addresses", ()),
    Principle("P6", "No internet access from OT (or the DMZ outside approved conduits)",
              ("SC-EGRESS-INTERNET",)),
    Principle("P7", "Firewall management only from the management network",
              ("SC-MGMT-EXPOSED",)),
    Principle("P8", "Non-IP traffic is dropped", ()),
    Principle("P9", "Remote access through an intermediary with MFA", ("SC-REMOTE-NO-MFA",)),
)


@dataclass(frozen=True, slots=True)
class PrincipleVerdict:
    principle: Principle
    status: str
    """``pass``, ``fail``, ``unverified`` or ``not assessed``."""
    findings: int
    """Active findings that fail it."""


def principle_verdicts(result: CheckResult) -> tuple[PrincipleVerdict, ...]:
    override: dict[str, Any] = result.extra.get("principles") or {}
    active = result.active_findings()
    out = []
    for p in PRINCIPLES:
        n = sum(1 for f in active if f.code in p.codes)
        if p.id in override:
            status = str(override[p.id])
        elif not p.codes:
            status = "not assessed"
        elif n:
            status = "fail"
        else:
            status = "pass" if result.complete else "unverified"
        out.append(PrincipleVerdict(p, status, n))
    return tuple(out)


def finding_order(f: Finding) -> tuple[Any, ...]:
    ev = f.evidence[0].span if f.evidence else None
    return (-f.severity.rank, f.code, f.src_zone or "", f.dst_zone or "", f.object,
            ev.path if ev else "", ev.line if ev else 0, f.message)


def sorted_findings(findings: tuple[Finding, ...] | list[Finding]) -> list[Finding]:
    return sorted(findings, key=finding_order)


def severity_counts(result: CheckResult) -> dict[Severity, tuple[int, int]]:
    """Severity -> (active, suppressed), every severity present (zero when none)."""
    counts = {s: [0, 0] for s in SEVERITY_ORDER}
    for f in result.findings:
        counts[f.severity][0 if f.suppressed_by is None else 1] += 1
    return {s: (a, b) for s, (a, b) in counts.items()}


def verdict(result: CheckResult, fail_on: str = "high") -> str:
    """``FAIL`` when an active finding meets ``fail_on``; else ``PASS``; ``INCOMPLETE`` wins
    over ``PASS`` (never over ``FAIL``: a proven violation stays proven)."""
    if any(f.severity.at_least(fail_on) for f in result.active_findings()):
        return "FAIL"
    return "PASS" if result.complete else "INCOMPLETE"


def incomplete_diagnostics(result: CheckResult) -> list[Any]:
    return [d for d in result.diagnostics if d.level.makes_incomplete]


def rel_path(path: str, base: str | os.PathLike[str] | None = None) -> str:
    """``path`` relative to ``base`` (default: the working directory) with ``/`` separators,
    when it lies below it; otherwise unchanged (absolute). Memoised per (path, base): a
    report names the same few files once per evidence rule."""
    return _rel_path(path, os.fspath(base) if base is not None else os.getcwd())


@functools.lru_cache(maxsize=4096)
def _rel_path(path: str, base: str) -> str:
    p = Path(path)
    if not p.is_absolute():
        return PurePosixPath(*p.parts).as_posix() if p.parts else path
    root = Path(base)
    try:
        return PurePosixPath(*p.relative_to(root).parts).as_posix()
    except ValueError:
        return p.as_posix()


def span_location(span: SourceSpan, base: str | os.PathLike[str] | None = None) -> str:
    """``path:line[:col]`` with the path relative to ``base`` (default cwd) when below it."""
    col = f":{span.col}" if span.col else ""
    return f"{rel_path(span.path, base)}:{span.line}{col}"


def diagnostic_text(d: Diagnostic, base: str | os.PathLike[str] | None = None) -> str:
    """Like ``str(Diagnostic)`` but with a relative path."""
    where = f"{span_location(d.span, base)}: " if d.span else ""
    return f"{where}{d.level.value}: {d.message}" + (f" [{d.code}]" if d.code else "")


def location(f: Finding, base: str | os.PathLike[str] | None = None) -> str:
    """``file:line`` of the first evidence, or ``""``."""
    if not f.evidence:
        return ""
    span = f.evidence[0].span
    return f"{rel_path(span.path, base)}:{span.line}"


def zone_id(row: dict[str, Any]) -> str:
    return str(row.get("id", ""))


def zone_levels(row: dict[str, Any]) -> tuple[float, ...]:
    raw = row.get("purdue_levels", row.get("purdue_level", ()))
    if raw is None:
        return ()
    if isinstance(raw, int | float):
        return (float(raw),)
    return tuple(float(x) for x in raw)


def fmt_level(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def fmt_sl(sl: Any) -> str:
    if sl is None or sl == "":
        return "—"
    if isinstance(sl, dict):
        return " ".join(f"{k}:{v}" for k, v in sl.items())
    return str(sl)


def conduit_between(row: dict[str, Any]) -> tuple[str, str] | None:
    b = row.get("between")
    if isinstance(b, list | tuple) and len(b) == 2:
        return str(b[0]), str(b[1])
    return None


def assets_of(row: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A zone row's assets as sorted (id, info) pairs; rows carry either a list of
    ``{"id", "role", "networks", ...}`` or a mapping id -> info."""
    raw = row.get("assets") or ()
    if isinstance(raw, dict):
        items = [(str(k), dict(v) if isinstance(v, dict) else {}) for k, v in raw.items()]
    else:
        items = [(str(a.get("id", "")), dict(a)) for a in raw if isinstance(a, dict)]
    return sorted(items)


def conduit_unimplemented(row: dict[str, Any]) -> bool | None:
    """True when no rule implements any flow of the conduit row, False when some rule does,
    None when the row does not say (no ``implemented_by`` on the row or its flows)."""
    flows = [f for f in as_list(row.get("flows")) if isinstance(f, dict)]
    if "implemented_by" in row:
        return not as_list(row.get("implemented_by"))
    marked = [f for f in flows if "implemented_by" in f]
    if not marked:
        return None
    return not any(as_list(f.get("implemented_by")) for f in marked)


def as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


SECTIONS: tuple[tuple[str, str], ...] = (
    ("scope", "Scope and provenance"),
    ("summary", "Summary"),
    ("zones", "Zone register"),
    ("conduits", "Conduit register"),
    ("matrix", "Zone × zone matrix"),
    ("diagram", "Reachability diagram"),
    ("traceability", "Rule → conduit traceability"),
    ("paths", "IT → OT paths"),
    ("remote", "Remote access"),
    ("observed", "Observed vs policy"),
    ("findings", "Findings"),
    ("exceptions", "Exception register"),
    ("method", "Method and limitations"),
)
"""The audit report's sections (BRIEF.md §5), in order: (anchor id, title)."""

SECTION_TITLES = dict(SECTIONS)
