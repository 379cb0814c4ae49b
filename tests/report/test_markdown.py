"""Markdown PR comment: verdict, incomplete banner, tables, details; in step with HTML."""

from __future__ import annotations

import re
from dataclasses import replace

from segcheck.report import markdown
from segcheck.report.summary import SECTIONS
from tests.report.fixtures import riverbend


def test_sections_in_step_with_the_html_report() -> None:
    text = markdown.render(riverbend())
    headings = re.findall(r"^### (.+)$", text, flags=re.M)
    titles = [t for _, t in SECTIONS]
    assert headings == [t for t in titles if t in headings]
    assert headings == ["Scope and provenance", "Summary", "Findings", "Exception register",
                        "Method and limitations"]


def test_verdict_banner_tables_and_details() -> None:
    r = riverbend()
    text = markdown.render(r)
    assert text.startswith("## ❌ segcheck: FAIL — RBW-SCADA")
    assert "> [!CAUTION]" in text
    assert "INCOMPLETE ANALYSIS" in text
    assert "`topologies/configs/fw-ot.conf:300:" not in text  # col 0 -> path:line only
    assert "`topologies/configs/fw-ot.conf:300`" in text
    assert "| 🟥 critical | 3 | 0 |" in text
    assert "| 🟨 medium | 2 | 1 |" in text
    assert re.search(r"\| \*\*P3\*\* .* \| ❌ fail \| 2 \|", text)
    assert re.search(r"\| \*\*P5\*\* .* \| ➖ not assessed \| 0 \|", text)
    # top findings with file:line, most severe first
    rows = re.findall(r"^\| (?:🟥|🟧|🟨|🟫|⬜) (\w+) \| `(SC-[A-Z0-9-]+)` \|.*\| `([^`]*)` \|",
                      text, flags=re.M)
    assert rows[0][0] == "critical"
    assert ("critical", "SC-SIS-REACH", "topologies/configs/fw-ot.conf:40") in rows
    assert text.count("<details>") == len(r.findings) + 2
    assert text.count("</details>") == text.count("<details>")
    assert "suppressed by EXC-2026-014" in text


def test_complete_clean_pass_and_table_escaping() -> None:
    r = riverbend(complete=True)
    clean = replace(r, findings=())
    text = markdown.render(clean)
    assert text.startswith("## ✅ segcheck: PASS")
    assert "[!CAUTION]" not in text
    assert "No findings." in text
    f = replace(r.findings[0], title="a | b\nc")
    assert "a \\| b c" in markdown.render(replace(r, findings=(f,)))


def test_stays_under_comment_limit() -> None:
    r = riverbend()
    many = tuple(replace(f, object=f"{f.object}#{i}", message="x" * 400)
                 for i in range(400) for f in r.findings[:1])
    text = markdown.render(replace(r, findings=many))
    assert len(text) <= markdown.MAX_CHARS
    assert "more finding(s) omitted" in text
