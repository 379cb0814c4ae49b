"""``check --format json``: the DESIGN.md §4 JSON contract (``CheckResult.to_json``).

Deterministic: keys in contract order, findings in ``summary.finding_order``, trailing
newline. Suppressed findings are kept (with ``suppressed_by``).

Layout: two-space indentation down to the entries of the top-level lists; an entry of a
*row list* (``ROW_LISTS``: the rule traceability, observed flows — one entry per rule or
flow, so tens of thousands of them on a large site) is written compactly on one line. The
document is the same JSON value either way (``json.loads`` gives equal objects); one row a
line keeps a large report greppable and lets the C encoder write it (the indenting encoder
is pure Python, several times slower on a 10k-rule site).
"""

from __future__ import annotations

import json
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
    return _INDENTED.encode(value).replace("\n", "\n" + "  " * depth)


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
