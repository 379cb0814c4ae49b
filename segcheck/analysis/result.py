"""The result of ``segcheck check``: what every report format renders.

``CheckResult.to_json()`` is the DESIGN.md §4 ``check --format json`` contract; the other
formats (text, SARIF, JUnit, Markdown, HTML, graph) read the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from segcheck.model.packet import Packet
from segcheck.model.source import Diagnostic, SourceSpan, is_complete


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: critical 4 ... info 0."""
        return {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}[self.value]

    def at_least(self, threshold: str) -> bool:
        """Whether this severity meets ``--fail-on`` (``never`` is met by nothing)."""
        if threshold == "never":
            return False
        return self.rank >= Severity(threshold).rank


@dataclass(frozen=True, slots=True)
class Evidence:
    """One configured rule (or policy object) that makes a finding true."""

    device: str
    span: SourceSpan
    rule: str = ""
    """The rule's name, or its text when it has none."""
    action: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"device": self.device, "file": self.span.path, "line": self.span.line,
                "rule": self.rule, "text": self.span.text}


EVIDENCE_SHOWN = 25
"""Rules a JSON finding (``evidence``) or matrix cell (``rules``) spells out in full."""


def evidence_json(evidence: tuple[Evidence, ...], key: str) -> dict[str, Any]:
    """``{key: [...]}`` for a JSON finding or matrix cell, proportionate however many rules
    carry it: the first ``EVIDENCE_SHOWN`` in full (``{device, file, line, rule, text}``, in
    evidence order); when there are more, ``<key>_total`` counts them all and ``<key>_more``
    lists the rest compactly as ``{device, file, lines}`` (the rule text is the file's line),
    so no rule is lost but a pair carried by thousands of rules does not repeat each one's
    text in every finding."""
    out: dict[str, Any] = {key: [e.to_json() for e in evidence[:EVIDENCE_SHOWN]]}
    rest = evidence[EVIDENCE_SHOWN:]
    if rest:
        lines: dict[tuple[str, str], list[int]] = {}
        for e in rest:
            lines.setdefault((e.device, e.span.path), []).append(e.span.line)
        out[f"{key}_total"] = len(evidence)
        out[f"{key}_more"] = [{"device": d, "file": f, "lines": sorted(set(ls))}
                              for (d, f), ls in lines.items()]
    return out


@dataclass(frozen=True, slots=True)
class Observed:
    """Traffic evidence from captures: where it was seen, how much, which operations."""

    capture: str
    frames: tuple[int, ...]
    packets: int = 0
    app: str | None = None
    operations: tuple[tuple[str, int], ...] = ()
    first_seen: float | None = None
    last_seen: float | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"capture": self.capture, "frames": list(self.frames), "packets": self.packets,
                "app": self.app, "operations": dict(self.operations),
                "first_seen": self.first_seen, "last_seen": self.last_seen, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Hop:
    """One hop of a path: a device crossing (with its deciding rule) or a pivot host."""

    kind: str
    """``device`` (a firewall crossing) or ``host`` (a pivot: traffic terminates and restarts)."""
    name: str
    src_zone: str
    dst_zone: str
    evidence: tuple[Evidence, ...] = ()
    service: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "src_zone": self.src_zone,
                "dst_zone": self.dst_zone, "service": self.service,
                **evidence_json(self.evidence, "evidence")}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    """An ``SC-*`` code of BRIEF.md §4 (codes are added, never renamed)."""
    severity: Severity
    title: str
    message: str
    src_zone: str | None = None
    dst_zone: str | None = None
    witness: Packet | None = None
    """A concrete packet drawn from the offending set (None for policy-only findings)."""
    evidence: tuple[Evidence, ...] = ()
    observed: Observed | None = None
    standards: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """``iec62443``, ``attack_ics``, ``attack_enterprise``, ``d3fend``, ``cip`` -> references."""
    object: str = ""
    """What an exception names to suppress this finding, e.g. ``fw-ot:policy/37`` or ``C-06``."""
    remediation: str = ""
    path: tuple[Hop, ...] = ()
    """For path findings (pivots, DMZ bypass): every hop with its rule."""
    suppressed_by: str | None = None
    """The id of the exception that suppresses this finding, if any."""

    @property
    def key(self) -> tuple[str, str, str | None, str | None]:
        """Identity across runs (for ``diff``): code, object and zone pair."""
        return (self.code, self.object, self.src_zone, self.dst_zone)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "src_zone": self.src_zone,
            "dst_zone": self.dst_zone,
            "witness": self.witness.to_json() if self.witness else None,
            **evidence_json(self.evidence, "evidence"),
            "observed": self.observed.to_json() if self.observed else None,
            "standards": {k: list(v) for k, v in self.standards.items()},
            "object": self.object,
            "remediation": self.remediation,
            "path": [h.to_json() for h in self.path],
            "suppressed_by": self.suppressed_by,
        }


@dataclass(frozen=True, slots=True)
class MatrixCell:
    """What the configuration lets ``src_zone`` initiate towards ``dst_zone``."""

    src_zone: str
    dst_zone: str
    permitted: str
    """Human summary of the permitted packet set ("" when nothing is permitted)."""
    services: tuple[str, ...] = ()
    """Short service labels ("tcp/502", "udp/53", "icmp", "any") for graphs and tables."""
    rules: tuple[Evidence, ...] = ()
    allowed_by_policy: bool = True
    """False when part of the permitted set lies outside every conduit."""

    def to_json(self) -> dict[str, Any]:
        return {"src_zone": self.src_zone, "dst_zone": self.dst_zone,
                "services": list(self.services), "permitted": self.permitted,
                **evidence_json(self.rules, "rules"),
                "allowed_by_policy": self.allowed_by_policy}


@dataclass(frozen=True, slots=True)
class InputFile:
    path: str
    sha256: str
    kind: str = ""
    """policy, topology, config, capture."""

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "kind": self.kind}


@dataclass(frozen=True)
class CheckResult:
    version: str
    inputs: tuple[InputFile, ...]
    diagnostics: tuple[Diagnostic, ...]
    zones: tuple[dict[str, Any], ...]
    """Zone register rows (id, name, kind, purdue_levels, sl_t, safety, cidrs, assets)."""
    matrix: tuple[MatrixCell, ...]
    findings: tuple[Finding, ...]
    conduits: tuple[dict[str, Any], ...] = ()
    """Conduit register rows (id, between, flows, sl_t, controls, governance, implemented_by)."""
    flows: tuple[dict[str, Any], ...] = ()
    """Observed flows (DESIGN.md §4 ``flows`` shape), when captures were given."""
    limitations: tuple[str, ...] = ()
    """Method notes for the report: assumptions made (no routes: "may reach"; NAT; ...)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return is_complete(self.diagnostics)

    def active_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppressed_by is None)

    def worst(self) -> Severity | None:
        active = self.active_findings()
        return max((f.severity for f in active), key=lambda s: s.rank) if active else None

    def to_json(self) -> dict[str, Any]:
        return {
            "segcheck": self.version,
            "complete": self.complete,
            "inputs": [i.to_json() for i in self.inputs],
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "zones": list(self.zones),
            "conduits": list(self.conduits),
            "matrix": [c.to_json() for c in self.matrix],
            "findings": [f.to_json() for f in self.findings],
            "flows": list(self.flows),
            "limitations": list(self.limitations),
            **self.extra,
            **({"traceability": traceability_json(self.extra["traceability"])}
               if "traceability" in self.extra else {}),
        }


def _frozen(value: Any) -> Any:
    """A hashable stand-in for a JSON value (lists -> tuples), equal iff the values are."""
    if isinstance(value, list):  # (a list display: faster than a generator for short lists)
        return tuple([_frozen(v) if isinstance(v, (list, dict)) else v for v in value])
    if isinstance(value, dict):
        return ("__dict__", *sorted((k, _frozen(v)) for k, v in value.items()))
    return value


TRACE_GROUP_KEYS = ("device", "filter", "file", "action", "status", "conduits", "zones", "note")
"""What the rules of one JSON traceability group share (everything a row says but its line)."""


def traceability_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rule -> conduit traceability for JSON, grouped: one entry per set of rules that
    share every fact (``TRACE_GROUP_KEYS``), with their ``lines`` (ascending) and, for
    rules that have a vendor name, ``names`` (line -> name). Lossless — a rule's text is its
    file's line — and proportionate: a 100k-rule site is a few hundred groups, not 100k
    rows each repeating its rule text and file path. Groups are ordered by their first rule
    (device, file, line); in-memory rows (``CheckResult.extra``) stay one per rule."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        get = row.get
        key = (get("device"), get("filter"), get("file"), get("action"), get("status"),
               _frozen(get("conduits")), _frozen(get("zones")),
               get("note"))  # TRACE_GROUP_KEYS, lists made hashable
        g = groups.get(key)
        if g is None:
            g = groups[key] = {k: row[k] for k in TRACE_GROUP_KEYS if k in row}
            g["lines"] = [row["line"]]
        else:
            g["lines"].append(row["line"])
        if get("name"):
            g.setdefault("names", {})[str(row["line"])] = row["name"]
    out = list(groups.values())
    for g in out:
        g["lines"].sort()
    out.sort(key=lambda g: (g["device"], g["file"], g["lines"][0]))
    return out
