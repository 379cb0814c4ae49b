"""JUnit XML: parses with xml.etree, counts add up, one testcase per finding code × object."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from segcheck.report import junit
from tests.report.fixtures import riverbend


def _root(**kw: bool) -> ET.Element:
    return ET.fromstring(junit.render(riverbend(**kw)))


def test_parses_and_counts_add_up() -> None:
    root = _root()
    assert root.tag == "testsuites"
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        assert int(suite.get("failures", "-1")) == sum(c.find("failure") is not None
                                                       for c in cases)
        assert int(suite.get("skipped", "-1")) == sum(c.find("skipped") is not None
                                                      for c in cases)
        for k in totals:
            totals[k] += int(suite.get(k, "0"))
        assert suite.find("properties/property[@name='complete']") is not None
    assert {k: int(root.get(k, "-1")) for k in totals} == totals


def test_every_finding_is_a_testcase() -> None:
    r = riverbend()
    root = _root()
    finding_cases = [c for s in root.findall("testsuite")
                     if s.get("name", "").split(":")[0] not in ("segcheck.analysis",
                                                                "segcheck.principles")
                     for c in s.findall("testcase")]
    assert len(finding_cases) == len(r.findings)
    failures = [c for c in finding_cases if c.find("failure") is not None]
    skipped = [c for c in finding_cases if c.find("skipped") is not None]
    assert len(failures) == len(r.active_findings())
    assert len(skipped) == 1
    skip = skipped[0].find("skipped")
    assert skip is not None
    assert "EXC-2026-014" in skip.get("message", "")
    sis = next(c for c in failures if c.get("name", "").startswith("SC-SIS-REACH"))
    fail = sis.find("failure")
    assert fail is not None
    assert fail.get("type") == "SC-SIS-REACH"
    assert "topologies/configs/fw-ot.conf:40" in (fail.text or "")
    assert sis.get("line") == "40"
    names = {s.get("name") for s in root.findall("testsuite")}
    assert "segmentation: z-scada -> z-sis" in names
    assert "governance: policy" in names


def test_incomplete_is_an_error_and_principles_are_tests() -> None:
    root = _root()
    analysis = root.find("testsuite[@name='segcheck.analysis']")
    assert analysis is not None
    err = analysis.find("testcase/error")
    assert err is not None
    assert err.get("type") == "incomplete"
    assert "fw-ot.conf:300" in (err.text or "")
    assert root.get("errors") == "1"
    complete = _root(complete=True)
    assert complete.get("errors") == "0"
    principles = root.find("testsuite[@name='segcheck.principles']")
    assert principles is not None
    cases = principles.findall("testcase")
    assert len(cases) == 9
    p3 = next(c for c in cases if c.get("name", "").startswith("P3"))
    assert p3.find("failure") is not None
    p5 = next(c for c in cases if c.get("name", "").startswith("P5"))
    assert p5.find("skipped") is not None


def test_clean_result_has_no_failures_and_is_deterministic() -> None:
    r = riverbend(complete=True)
    clean = replace(r, findings=())
    root = ET.fromstring(junit.render(clean))
    assert root.get("failures") == "0"
    assert root.get("errors") == "0"
    assert junit.render(r) == junit.render(replace(r, findings=tuple(reversed(r.findings))))
