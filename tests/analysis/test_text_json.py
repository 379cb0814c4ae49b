"""The text and JSON renderers: incomplete results said loudly, suppressed findings kept."""

from __future__ import annotations

import json

from segcheck.analysis.result import CheckResult, Evidence, Finding, Severity
from segcheck.model.packet import Packet
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.report import json_format, text


def result(diags: tuple[Diagnostic, ...]) -> CheckResult:
    span = SourceSpan("fw.rules", 12, "-A FORWARD -j ACCEPT")
    f = Finding("SC-PATH-UNAUTH", Severity.HIGH, "t", "m", "z-a", "z-b",
                Packet.make("10.0.0.1", "10.0.1.1", "tcp", 40000, 22),
                (Evidence("fw", span, "r1"),), object="z-a->z-b")
    g = Finding("SC-ANY-RULE", Severity.HIGH, "t2", "m2", "z-a", "z-b", None, (),
                object="fw:r1", suppressed_by="EXC-1")
    return CheckResult("0", (), diags, (), (), (f, g))


def test_incomplete_is_loud() -> None:
    d = Diagnostic(Level.UNSUPPORTED, "match module '-m foo'", SourceSpan("fw.rules", 3))
    out = text.render(result((d,)))
    assert out.startswith("!!!")
    assert "INCOMPLETE" in out.splitlines()[1]
    assert "RESULT INCOMPLETE" in out
    doc = json.loads(json_format.render(result((d,))))
    assert doc["complete"] is False
    assert doc["diagnostics"][0]["line"] == 3


def test_complete_text_and_json() -> None:
    out = text.render(result(()))
    assert "INCOMPLETE" not in out
    assert "fw.rules:12" in out
    assert "witness:  tcp 10.0.0.1:40000 -> 10.0.1.1:22" in out
    assert "[suppressed by EXC-1]" in out
    doc = json.loads(json_format.render(result(())))
    assert doc["complete"] is True
    assert [f["suppressed_by"] for f in doc["findings"]] == [None, "EXC-1"] or \
        sorted(f["code"] for f in doc["findings"]) == ["SC-ANY-RULE", "SC-PATH-UNAUTH"]
    w = next(f for f in doc["findings"] if f["code"] == "SC-PATH-UNAUTH")["witness"]
    assert w == {"src": "10.0.0.1", "dst": "10.0.1.1", "proto": "tcp", "sport": 40000,
                 "dport": 22}
