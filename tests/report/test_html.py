"""HTML audit report, checked without a browser: sections in order, self-contained, escaped,
deterministic, loud when incomplete, graph inline or a note when dot is missing."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from segcheck.report import html
from segcheck.report.summary import SECTIONS
from tests.report.fixtures import generated, riverbend


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if a.get("id"):
            self.ids.append(str(a["id"]))


def _parse(text: str) -> _Collect:
    p = _Collect()
    p.feed(text)
    p.close()
    return p


@pytest.fixture(scope="module")
def report() -> str:
    return html.render(riverbend())


def test_every_section_in_order(report: str) -> None:
    ids = [i for i in _parse(report).ids if i.startswith("sec-")]
    assert ids == [f"sec-{s}" for s, _ in SECTIONS]
    for n, (_, title) in enumerate(SECTIONS, start=1):
        assert f"<h2>{n}. {html.jinja2.utils.markupsafe.escape(title)}</h2>" in report


def test_self_contained(report: str) -> None:
    p = _parse(report)
    for tag, a in p.tags:
        assert not (tag == "link" and a.get("rel") == "stylesheet")
        assert not (tag == "script" and a.get("src")), a
        assert not (tag == "img" and a.get("src", "").startswith("http"))  # type: ignore[union-attr]
    assert not re.search(r"""(src|href)=["']https?://""", report)
    assert "@import" not in report
    assert "<style>" in report
    assert "<script>" in report


def test_content(report: str) -> None:
    r = riverbend()
    assert 'id="incomplete-banner"' in report
    assert "fw-ot.conf:300" in report
    assert report.count('class="finding ') == len(r.findings)
    assert report.count('data-suppressed="true"') == 1
    for i in r.inputs:
        assert i.sha256 in report
    assert "2025-11-24 16:00:00 UTC" in report  # capture window from the observed evidence
    assert "UNMAPPED" in report
    assert 'id="observed-findings"' in report
    assert 'id="observed-flows"' in report
    assert "jump-01: tcp/3389" in report  # the transit path is not disjoint
    assert "EXC-2026-014" in report
    assert "EXC-2025-003" in report
    assert "expired" in report
    for lim in r.limitations:
        assert html.jinja2.utils.markupsafe.escape(lim) in report
    # matrix: a red cell with its findings for z-scada -> z-sis
    cell = re.search(r'<td class="cell (\w+)[^"]*" data-src="z-scada" data-dst="z-sis"', report)
    assert cell is not None
    assert cell.group(1) == "viol"


def test_complete_result_has_no_banner() -> None:
    text = html.render(riverbend(complete=True))
    assert 'id="incomplete-banner"' not in text
    assert "<th>Analysis complete</th><td>yes</td>" in text


def test_escapes_untrusted_text() -> None:
    r = riverbend()
    f = replace(r.findings[0], title="<script>alert(1)</script>", message="a & b <b>")
    text = html.render(replace(r, findings=(f,)), graph_svg=False)
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_deterministic() -> None:
    r = riverbend()
    assert html.render(r) == html.render(replace(r, findings=tuple(reversed(r.findings))))


def test_graph_inline_or_note(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    if html.graph.dot_available():
        text = html.render(generated(30))
        assert '<div class="graph" id="graph"><svg' in text
        assert text.count('class="node zone') == 30
    monkeypatch.setenv("PATH", "/nonexistent")
    text = html.render(riverbend())
    assert 'id="graph-missing"' in text
    assert "apt-get install graphviz" in text
