"""``check --format json``: the DESIGN.md §4 JSON contract (``CheckResult.to_json``).

Deterministic: keys in contract order, findings in ``summary.finding_order``, trailing
newline. Suppressed findings are kept (with ``suppressed_by``).

Layout: two-space indentation down to the entries of the top-level lists; an entry of a
*row list* (``ROW_LISTS``: the rule traceability, observed flows — one entry per rule or
flow, so tens of thousands of them on a large site) is written compactly on one line. The
document is the same JSON value either way (``json.loads`` gives equal objects); one row a
line keeps a large report greppable and lets the C encoder write it (the indenting encoder
is pure Python, several times slower on a 10k-rule site). The rest is written by
``_nested``: byte for byte what ``json.dumps(indent=2)`` writes, by joining strings rather
than through the encoder's generators.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from segcheck.analysis.result import CheckResult
from segcheck.report.summary import sorted_findings

ROW_LISTS = frozenset({"traceability", "flows"})
"""Top-level lists written one compact entry per line."""

_COMPACT = json.JSONEncoder(ensure_ascii=False, default=str, separators=(", ", ": "))
_INDENTED = json.JSONEncoder(ensure_ascii=False, default=str, indent=2)


def _indented(value: Any, depth: int) -> str:
    """``value`` indented as ``json.dumps(indent=2)`` would at nesting ``depth``."""
    return _nested(value, "  " * depth)


def _nested(value: Any, indent: str) -> str:
    """``_INDENTED.encode(value)`` with every line after the first prefixed by ``indent``:
    the same text, built by joining instead of through the encoder's generators. Lists,
    tuples, dicts with string keys and scalars are written here exactly as ``json`` writes
    them (its type tests in its order); a dict with another key is left to the encoder."""
    if isinstance(value, str):
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _COMPACT.encode(value)  # (repr, or NaN / Infinity)
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        inner = indent + "  "
        return "[\n" + ",\n".join([inner + _nested(v, inner) for v in value]) + "\n" + \
            indent + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = indent + "  "
        items = []
        for k, v in value.items():
            if not isinstance(k, str):
                return _INDENTED.encode(value).replace("\n", "\n" + indent)
            items.append(f"{inner}{_string(k)}: {_nested(v, inner)}")
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    return _nested(str(value), indent)  # the encoders' ``default=str``


_string: Callable[[str], str] = json.encoder.encode_basestring
"""A JSON string literal as the ``ensure_ascii=False`` encoders write it."""


def render(result: CheckResult) -> str:
    ordered = replace(result, findings=tuple(sorted_findings(result.findings)))
    doc = ordered.to_json()
    parts: list[str] = []
    for key, value in doc.items():
        head = f"  {json.dumps(key, ensure_ascii=False)}: "
        if isinstance(value, list) and value:
            entry = _COMPACT.encode if key in ROW_LISTS else (lambda v: _indented(v, 2))
            body = ",\n".join("    " + entry(v) for v in value)
            parts.append(f"{head}[\n{body}\n  ]")
        else:
            parts.append(head + _indented(value, 1))
    return "{\n" + ",\n".join(parts) + "\n}\n"
