"""``explain`` and ``diff`` end to end on Riverbend (and a throwaway git repository)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from segcheck.cli import main
from tests.conftest import ROOT

POLICY = ROOT / "policies" / "riverbend.yaml"
CLEAN = ROOT / "topologies" / "riverbend.yaml"
BAD = ROOT / "topologies" / "riverbend-misconfigured.yaml"


def run_json(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, Any]:
    capsys.readouterr()
    code = main(args)
    return code, json.loads(capsys.readouterr().out)


def test_explain_names_the_deciding_rule(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["explain", "--policy", str(POLICY), "--format", "json"]
    # scenario 8: vendor RDP straight to the EWS crosses fw-it then fw-ot
    code, doc = run_json(capsys, [*base, "--topology", str(BAD), "--src", "203.0.113.7",
                                  "--dst", "10.40.1.50", "--proto", "tcp", "--dport", "3389"])
    assert code == 0
    assert doc["verdict"] == "permit"
    assert (doc["src_zone"], doc["dst_zone"]) == ("z-vendor", "z-scada")
    permit = [p for p in doc["paths"] if p["verdict"] == "permit"]
    assert permit[0]["zones"] == ["z-vendor", "z-ent", "z-scada"]
    lines = [(Path(h["file"]).name, h["line"]) for h in permit[0]["hops"]]
    assert lines == [("fw-it.rules", 19), ("fw-ot.rules", 24)]
    # the clean site denies it: fw-it's default policy decides
    code, doc = run_json(capsys, [*base, "--topology", str(CLEAN), "--src", "203.0.113.7",
                                  "--dst", "10.40.1.50", "--proto", "tcp", "--dport", "3389"])
    assert doc["verdict"] == "deny"
    first = doc["paths"][0]["hops"][0]
    assert first["action"] == "deny"
    policy_line = 1 + next(k for k, line in enumerate(
        (ROOT / "topologies" / "riverbend" / "fw-it.rules").read_text().splitlines())
        if line.startswith(":FORWARD"))
    assert (Path(first["file"]).name, first["line"]) == ("fw-it.rules", policy_line)


def test_explain_text(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["explain", "--policy", str(POLICY), "--topology", str(CLEAN), "--src",
                 "10.40.1.20", "--dst", "10.50.1.5", "--proto", "tcp", "--dport", "502"]) == 0
    out = capsys.readouterr().out
    assert "fw-ot eth2 -> eth3" in out
    assert "verdict: PERMIT" in out


def test_diff_base_topology(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["diff", "--policy", str(POLICY), "--topology", str(BAD), "--base-topology",
            str(CLEAN), "--format", "json", "--today", "2026-11-25"]
    code, doc = run_json(capsys, args)
    assert code == 1  # the change introduces high/critical findings
    added = {(p["src_zone"], p["dst_zone"]): p for p in doc["pairs"] if p["added"]}
    assert ("z-ent", "z-scada") in added
    assert ("z-scada", "z-sis") in added
    w = added[("z-scada", "z-sis")]["added"]["witness"]
    assert w["src"].startswith("10.40.1.")
    assert w["dst"].startswith("10.70.1.")
    introduced = {f["code"] for f in doc["introduced"]}
    assert {"SC-DMZ-BYPASS", "SC-SIS-REACH", "SC-MGMT-EXPOSED"} <= introduced
    assert not doc["resolved"] or all(f["code"] for f in doc["resolved"])
    # the reverse change only removes space and resolves findings: exit 0
    code, doc = run_json(capsys, ["diff", "--policy", str(POLICY), "--topology", str(CLEAN),
                                  "--base-topology", str(BAD), "--format", "json",
                                  "--today", "2026-11-25"])
    assert code == 0
    assert not doc["introduced"]
    assert all(p["added"] is None for p in doc["pairs"])
    assert {"SC-DMZ-BYPASS", "SC-SIS-REACH"} <= {f["code"] for f in doc["resolved"]}


def test_diff_against_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    repo = tmp_path / "site"
    (repo / "policies").mkdir(parents=True)
    shutil.copy(POLICY, repo / "policies" / "riverbend.yaml")
    shutil.copytree(ROOT / "topologies" / "riverbend", repo / "topologies" / "riverbend")
    shutil.copy(CLEAN, repo / "topologies" / "riverbend.yaml")

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo,
                       check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    rules = repo / "topologies" / "riverbend" / "fw-ot.rules"
    lines = rules.read_text().splitlines()
    idx = next(k for k, line in enumerate(lines) if line.startswith("-A FORWARD -s"))
    lines.insert(idx, "-A FORWARD -s 10.40.1.0/24 -d 10.70.1.0/28 -i eth2 -o eth5 -j ACCEPT")
    rules.write_text("\n".join(lines) + "\n")
    code, doc = run_json(capsys, ["diff", "--policy", str(repo / "policies" / "riverbend.yaml"),
                                  "--topology", str(repo / "topologies" / "riverbend.yaml"),
                                  "--base", "HEAD", "--format", "json", "--today", "2026-11-25"])
    assert code == 1
    assert {"SC-SIS-REACH"} <= {f["code"] for f in doc["introduced"]}
    assert [(p["src_zone"], p["dst_zone"]) for p in doc["pairs"]] == [("z-scada", "z-sis")]
    # unchanged tree: nothing added, nothing introduced
    git("add", ".")
    git("commit", "-q", "-m", "change")
    code, doc = run_json(capsys, ["diff", "--policy", str(repo / "policies" / "riverbend.yaml"),
                                  "--topology", str(repo / "topologies" / "riverbend.yaml"),
                                  "--base", "HEAD", "--format", "json"])
    assert code == 0
    assert doc["pairs"] == []
    assert doc["introduced"] == []


def test_diff_usage_errors() -> None:
    assert main(["diff", "--policy", str(POLICY), "--topology", str(CLEAN)]) == 2
    assert main(["diff", "--policy", str(POLICY), "--topology", str(CLEAN), "--base",
                 "no-such-rev-xyz"]) == 2
