"""The finding catalogue (``standards.yaml``): titles, severities, remediation, standards refs.

The mapping is data shipped in the package (never fetched at run time). ATT&CK for ICS
techniques that changed between versions carry ``min_version``/``max_version``; the
policy's pinned ``attack_version`` picks which ids are emitted (BRIEF.md §4: v19 replaced
T0855 with T1692.001).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from segcheck.analysis.result import Severity

STANDARD_KEYS = ("iec62443", "attack_ics", "attack_enterprise", "d3fend", "cip")


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    title: str
    severity: Severity
    remediation: str
    refs: dict[str, tuple[Any, ...]]


@cache
def catalogue() -> dict[str, CodeInfo]:
    """Every known finding code, from the packaged data file."""
    data = _data()
    out: dict[str, CodeInfo] = {}
    for code, entry in data["codes"].items():
        out[code] = CodeInfo(
            code=code,
            title=str(entry["title"]),
            severity=Severity(entry["severity"]),
            remediation=str(entry.get("remediation", "")),
            refs={k: tuple(entry.get(k) or ()) for k in STANDARD_KEYS},
        )
    return out


@cache
def _data() -> dict[str, Any]:
    text = resources.files("segcheck.analysis").joinpath("standards.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def default_attack_version() -> str:
    return str(_data().get("default_attack_version", "19"))


def _major(version: str | int | None) -> int:
    text = str(version if version is not None else default_attack_version()).strip().lstrip("v")
    head = text.split(".", 1)[0]
    return int(head) if head.isdigit() else int(default_attack_version())


@cache
def standards_for(code: str, attack_version: str | int | None = None) -> dict[str, tuple[str, ...]]:
    """The standards references of ``code`` for the pinned ATT&CK version."""
    info = catalogue().get(code)
    if info is None:
        return {}
    major = _major(attack_version)
    out: dict[str, tuple[str, ...]] = {}
    for key, items in info.refs.items():
        ids: list[str] = []
        for item in items:
            if isinstance(item, dict):
                lo = int(item.get("min_version", 0))
                hi = int(item.get("max_version", 10**6))
                if lo <= major <= hi:
                    ids.append(str(item["id"]))
            else:
                ids.append(str(item))
        out[key] = tuple(ids)
    return out


def info(code: str) -> CodeInfo:
    """The catalogue entry for ``code`` (KeyError for an unknown code: a bug)."""
    return catalogue()[code]
