"""The JSON report stays proportionate on large sites without losing a rule.

- a finding (or matrix cell) carried by many rules spells out the first ``EVIDENCE_SHOWN``
  and lists every other one as ``{device, file, lines}`` (``evidence_total`` counts all);
- row lists are written one compact row a line, and the document is the same JSON value
  as ``json.dumps(result.to_json(), indent=2)``; the other parts are written byte for byte
  as that indenting encoder writes them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from enum import IntEnum, StrEnum
from pathlib import PurePosixPath

from hypothesis import given, settings
from hypothesis import strategies as st

from segcheck.analysis.result import (
    EVIDENCE_SHOWN,
    CheckResult,
    Evidence,
    Finding,
    MatrixCell,
    Severity,
)
from segcheck.model.source import SourceSpan
from segcheck.report import json_format
from segcheck.report.summary import sorted_findings


def _evidence(n: int) -> tuple[Evidence, ...]:
    return tuple(Evidence(f"fw{k % 2}", SourceSpan(f"fw{k % 2}.rules", 10 + k, f"-A F {k}"),
                          f"-A F {k}", "permit") for k in range(n))


def _result(n: int) -> CheckResult:
    ev = _evidence(n)
    f = Finding("SC-PATH-UNAUTH", Severity.HIGH, "t", "m", "z-a", "z-b", None, ev,
                object="z-a->z-b")
    cell = MatrixCell("z-a", "z-b", "tcp/1", ("tcp/1",), ev, False)
    rows = [{"device": f"fw{k % 2}", "filter": "FORWARD", "file": f"fw{k % 2}.rules",
             "line": 10 + k, "rule": f"-A F {k}", "name": "r7" if k == 7 else "",
             "action": "permit", "status": "ok" if k % 3 else "shadowed",
             "conduits": ["UNMAPPED"], "zones": [["a", "b"]]} for k in range(n)]
    return CheckResult("0", (), (), (), (cell,), (f,), extra={"traceability": rows})


def _lines(doc: dict[str, object], key: str) -> set[tuple[str, str, int]]:
    assert isinstance(doc[key], list)
    got = {(e["device"], e["file"], e["line"]) for e in doc[key]}  # type: ignore[index]
    for more in doc.get(f"{key}_more", []):  # type: ignore[attr-defined]
        got |= {(more["device"], more["file"], ln) for ln in more["lines"]}
    return got


def test_small_evidence_is_spelled_out() -> None:
    doc = json.loads(json_format.render(_result(3)))
    f = doc["findings"][0]
    assert len(f["evidence"]) == 3
    assert "evidence_total" not in f
    assert "evidence_more" not in f
    assert f["evidence"][0] == {"device": "fw0", "file": "fw0.rules", "line": 10,
                                "rule": "-A F 0", "text": "-A F 0"}


def test_large_evidence_is_capped_without_losing_a_rule() -> None:
    n = EVIDENCE_SHOWN * 4 + 3
    doc = json.loads(json_format.render(_result(n)))
    want = {(e.device, e.span.path, e.span.line) for e in _evidence(n)}
    f = doc["findings"][0]
    assert len(f["evidence"]) == EVIDENCE_SHOWN
    assert f["evidence_total"] == n
    assert _lines(f, "evidence") == want
    cell = doc["matrix"][0]
    assert len(cell["rules"]) == EVIDENCE_SHOWN
    assert cell["rules_total"] == n
    assert _lines(cell, "rules") == want


def test_layout_is_the_same_json_value() -> None:
    r = _result(EVIDENCE_SHOWN + 5)
    out = json_format.render(r)
    ordered = replace(r, findings=tuple(sorted_findings(r.findings)))
    assert json.loads(out) == json.loads(json.dumps(ordered.to_json(), indent=2))
    rows = [ln for ln in out.splitlines() if '"conduits": ["UNMAPPED"]' in ln]
    assert len(rows) == 4  # one traceability group a line
    assert out.endswith("}\n")


def test_traceability_groups_are_lossless() -> None:
    r = _result(40)
    doc = json.loads(json_format.render(r))
    groups = doc["traceability"]
    assert len(groups) == 4  # (fw0|fw1) x (ok|shadowed)
    rebuilt = {(g["device"], g["file"], ln, g["status"]) for g in groups for ln in g["lines"]}
    want = {(row["device"], row["file"], row["line"], row["status"])
            for row in r.extra["traceability"]}
    assert rebuilt == want
    assert sum(len(g["lines"]) for g in groups) == 40
    named = [g["names"] for g in groups if "names" in g]
    assert named == [{"17": "r7"}]
    assert all(g["lines"] == sorted(g["lines"]) for g in groups)


def test_text_junit_markdown_cap_evidence_without_losing_a_rule() -> None:
    from segcheck.report import junit, markdown, text

    n = EVIDENCE_SHOWN + 30
    r = _result(n)
    for out in (text.render(r), junit.render(r), markdown.render(r)):
        full = [ln for ln in out.splitlines() if "-A F " in ln and "**Hop" not in ln]
        assert len(full) == EVIDENCE_SHOWN
        assert f"and {n - EVIDENCE_SHOWN} more rule(s)" in out
        for e in _evidence(n):
            assert f"{e.span.path}:{e.span.line}" in out


def test_html_groups_a_large_traceability_table_without_losing_a_rule() -> None:
    from segcheck.report import html
    from segcheck.report.html import TRACE_ROWS

    n = TRACE_ROWS + 50
    out = html.render(_result(n))
    table = out[out.index('id="trace-rules"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 1 + 2  # header + one group per device
    for e in _evidence(n):
        assert f"{e.span.path}:{e.span.line}" in table


class _Level(StrEnum):
    HIGH = "high"


json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.text(max_size=6),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(list(_Level)),
    st.sampled_from([IntEnum("N", "A B").A, date(2026, 11, 26), PurePosixPath("a/b")]))
json_values = st.recursive(
    json_leaf,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.lists(kids, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=4), kids, max_size=4),
        st.dictionaries(st.one_of(st.integers(0, 3), st.none(), st.text(max_size=2)), kids,
                        max_size=3)),
    max_leaves=25)


@settings(max_examples=600)
@given(json_values, st.integers(0, 3))
def test_indented_writes_what_the_indenting_encoder_writes(value: object, depth: int) -> None:
    """``json_format._indented`` (joins, no generators) is byte for byte
    ``json.dumps(indent=2, ensure_ascii=False, default=str)`` shifted to ``depth``."""
    want = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    assert json_format._indented(value, depth) == want.replace("\n", "\n" + "  " * depth)
