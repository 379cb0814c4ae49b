"""The HTML report in a real browser: headless Debian Chromium driven by Playwright with the
system binary (no browser download). No console errors, every section present, the severity
and zone filters work (zone register, matrix cell, diagram node), print media hides the
controls; screenshots and a PDF go to tests/artifacts/ (gitignored) for review."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from segcheck.analysis.result import CheckResult
from segcheck.report import html
from segcheck.report.summary import SECTIONS
from tests.conftest import ROOT, require_oracle
from tests.report.fixtures import generated, riverbend

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "tests" / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        exe = shutil.which(name)
        if exe:
            return exe
    require_oracle("chromium is not installed (make test installs it via scripts/sysdeps.sh)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    exe = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_oracle("the playwright package is not installed (pip install -e '.[test]')")
        raise
    with tempfile.TemporaryDirectory(prefix="segcheck-chromium-") as profile, \
            sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=exe, args=FLAGS, headless=True,
            viewport={"width": 1400, "height": 1000})
        try:
            yield ctx
        finally:
            ctx.close()


def _open(browser: Any, result: CheckResult, name: str) -> tuple[Any, list[str]]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.html"
    path.write_text(html.render(result))
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("request", lambda r: errors.append(f"network request: {r.url}")
            if not r.url.startswith(("file:", "data:", "about:")) else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors


def _visible(page: Any) -> list[dict[str, str]]:
    out: list[dict[str, str]] = page.eval_on_selector_all(
        "article.finding",
        "els => els.filter(e => e.getClientRects().length > 0).map(e => "
        "({sev: e.dataset.severity, src: e.dataset.src, dst: e.dataset.dst, "
        "zones: e.dataset.zones}))")
    return out


def _check_report(page: Any, errors: list[str], result: CheckResult, name: str) -> None:
    n = len(result.findings)
    for sid, title in SECTIONS:
        sec = page.locator(f"#sec-{sid}")
        assert sec.count() == 1, sid
        assert title in sec.locator("h2").inner_text()
        assert sec.is_visible()
    assert len(_visible(page)) == n
    assert page.locator("#finding-count").inner_text() == f"{n} of {n} findings shown"
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)
    page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)

    # zone filter: the select, then a click in the zone register
    zone = max((z for f in result.findings for z in (f.src_zone, f.dst_zone) if z),
               key=lambda z: (sum(1 for f in result.findings if z in (f.src_zone, f.dst_zone)),
                              z))
    want = sum(1 for f in result.findings if zone in (f.src_zone, f.dst_zone))
    page.select_option("#zone-filter", zone)
    shown = _visible(page)
    assert len(shown) == want
    assert all(zone in s["zones"].split() for s in shown)
    page.click("#reset-filters")
    assert len(_visible(page)) == n
    sis = next(f for f in result.findings if f.severity.value == "critical" and f.dst_zone)
    page.click(f"#zone-row-{sis.dst_zone}")
    shown = _visible(page)
    assert shown
    assert all(sis.dst_zone in s["zones"].split() for s in shown)
    assert page.input_value("#zone-filter") == sis.dst_zone
    page.locator("#sec-findings").screenshot(path=str(ARTIFACTS / f"{name}-zone-filter.png"))

    # matrix cell -> that ordered pair's findings
    page.click(f'td.cell[data-src="{sis.src_zone}"][data-dst="{sis.dst_zone}"]')
    shown = _visible(page)
    assert shown
    assert all((s["src"], s["dst"]) == (sis.src_zone, sis.dst_zone) for s in shown)
    assert page.locator("#pair-chip").is_visible()

    # severity filter
    page.click("#reset-filters")
    page.uncheck("input[name=sev][value=critical]")
    shown = _visible(page)
    assert len(shown) == n - sum(1 for f in result.findings if f.severity.value == "critical")
    assert all(s["sev"] != "critical" for s in shown)
    page.click("#reset-filters")

    # the diagram's zone nodes are clickable
    if html.graph.dot_available():
        node = page.locator(f'#graph g[id="zone-{sis.dst_zone}"]')
        assert node.count() == 1
        node.click()
        assert page.input_value("#zone-filter") == sis.dst_zone
        page.click("#reset-filters")

    # print: controls hidden, every finding shown even when filtered on screen
    page.select_option("#zone-filter", zone)
    page.emulate_media(media="print")
    assert not page.locator("#filters").is_visible()
    assert len(_visible(page)) == n
    page.pdf(path=str(ARTIFACTS / f"{name}.pdf"))
    page.emulate_media(media="screen")
    assert errors == []


def test_riverbend_fixture_report(browser: Any) -> None:
    result = riverbend()
    page, errors = _open(browser, result, "report-riverbend-fixture")
    assert page.locator("#incomplete-banner").is_visible()
    _check_report(page, errors, result, "report-riverbend-fixture")
    page.close()


def test_30_zone_report(browser: Any) -> None:
    result = generated(30)
    page, errors = _open(browser, result, "report-30-zones")
    page.locator("#sec-diagram").screenshot(path=str(ARTIFACTS / "report-30-zones-diagram.png"))
    page.locator("#sec-matrix").screenshot(path=str(ARTIFACTS / "report-30-zones-matrix.png"))
    assert errors == []
    page.close()


def test_example_site_report(browser: Any, tmp_path: Path) -> None:
    """The misconfigured Riverbend site through the real analysis."""
    check = pytest.importorskip("segcheck.analysis.check")
    result = check.run_check(ROOT / "policies" / "riverbend.yaml",
                             ROOT / "topologies" / "riverbend-misconfigured.yaml").result
    assert result.findings
    page, errors = _open(browser, result, "report-riverbend-misconfigured")
    _check_report(page, errors, result, "report-riverbend-misconfigured")
    page.close()
