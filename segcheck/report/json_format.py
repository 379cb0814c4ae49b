"""``check --format json``: the DESIGN.md §4 JSON contract (``CheckResult.to_json``).

Deterministic: keys in contract order, findings in ``summary.finding_order``, two-space
indent, trailing newline. Suppressed findings are kept (with ``suppressed_by``).
"""

from __future__ import annotations

import json
from dataclasses import replace

from segcheck.analysis.result import CheckResult
from segcheck.report.summary import sorted_findings


def render(result: CheckResult) -> str:
    ordered = replace(result, findings=tuple(sorted_findings(result.findings)))
    return json.dumps(ordered.to_json(), indent=2, ensure_ascii=False, default=str) + "\n"
