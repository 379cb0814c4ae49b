"""Report formats: name -> module. Each module exposes ``render(result: CheckResult) -> str``.

``check --format NAME`` looks the name up here; a test checks the table is exhaustive
(every name renders a result) — pip-audit's ``test_to_format_is_exhaustive`` habit.
"""

from __future__ import annotations

import importlib

from segcheck.analysis.result import CheckResult
from segcheck.errors import UsageError

FORMATS: dict[str, str] = {
    "text": "segcheck.report.text",
    "json": "segcheck.report.json_format",
    "sarif": "segcheck.report.sarif",
    "junit": "segcheck.report.junit",
    "markdown": "segcheck.report.markdown",
    "html": "segcheck.report.html",
}


def render(result: CheckResult, fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    module = importlib.import_module(FORMATS[fmt])
    text: str = module.render(result)
    return text
