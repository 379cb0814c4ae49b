"""End to end over the bundled Riverbend Water site: the clean site and the misconfigured one.

Expected codes and file:line come from ``topologies/riverbend-misconfigured/SCENARIOS.md``
(written with the fixtures, by hand); the zone pairs from the scenario descriptions
(BRIEF.md §6). Witnesses are checked with the reference first-match evaluation.
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from segcheck.analysis.check import Analysis, run_check
from segcheck.analysis.result import Severity
from segcheck.cli import main
from tests.analysis.witness import check_witness, same_file
from tests.conftest import ROOT

POLICY = ROOT / "policies" / "riverbend.yaml"
CLEAN = ROOT / "topologies" / "riverbend.yaml"
BAD = ROOT / "topologies" / "riverbend-misconfigured.yaml"
SCENARIOS = ROOT / "topologies" / "riverbend-misconfigured" / "SCENARIOS.md"
TODAY = date(2026, 11, 25)

PAIRS: dict[tuple[str, str], tuple[str, str | None]] = {
    ("1", "SC-DMZ-BYPASS"): ("z-ent", "z-scada"),
    ("1", "SC-ANY-RULE"): ("z-ent", "z-scada"),
    ("2", "SC-DMZ-TRANSIT"): ("z-ent", "z-scada"),
    ("5", "SC-SHADOWED"): ("z-ent", "z-scada"),
    ("5", "SC-DMZ-BYPASS"): ("z-ent", "z-scada"),
    ("5", "SC-ANY-RULE"): ("z-ent", "z-scada"),
    ("6", "SC-BROAD-PORTS"): ("z-ot-dmz", "z-scada"),
    ("7", "SC-EGRESS-INTERNET"): ("z-scada", "z-internet"),
    ("8", "SC-REMOTE-NO-MFA"): ("z-vendor", "z-scada"),
    ("8", "SC-DMZ-BYPASS"): ("z-vendor", "z-scada"),
    ("9", "SC-DIRECTION"): ("z-ot-dmz", "z-scada"),
    ("10", "SC-SIS-REACH"): ("z-scada", "z-sis"),
    ("11", "SC-IPV6-GAP"): ("z-ent", None),
    ("12", "SC-MGMT-EXPOSED"): ("z-ent", "device:fw-ot"),
}


def scenario_rows() -> list[tuple[str, str, list[tuple[str, int]]]]:
    """(scenario, code, [(file, line)...]) for every config-side code of SCENARIOS.md."""
    rows = []
    base = SCENARIOS.parent
    for line in SCENARIOS.read_text().splitlines():
        m = re.match(r"\|\s*(\d+)\s*\|\s*(SC-[^|]+)\|\s*([^|]+)\|", line)
        if not m:
            continue
        locs = []
        for loc in m.group(3).split(","):
            path, _, num = loc.strip().rpartition(":")
            locs.append((str((base / path).resolve()), int(num)))
        rows.extend((m.group(1), code.strip(), locs) for code in m.group(2).split(",")
                    if not code.strip().startswith("SC-OBS-"))
    return rows


@cache
def analysed(topology: Path) -> Analysis:
    return run_check(POLICY, topology, today=TODAY)


ROWS = scenario_rows() if SCENARIOS.is_file() else []


def test_scenarios_table_is_read() -> None:
    assert len(ROWS) >= 12
    assert {(s, c) for s, c, _ in ROWS} <= set(PAIRS)


@pytest.mark.parametrize(("scenario", "code", "locs"), ROWS,
                         ids=[f"{s}-{c}" for s, c, _ in ROWS])
def test_misconfigured_scenario_found(scenario: str, code: str,
                                      locs: list[tuple[str, int]]) -> None:
    analysis = analysed(BAD)
    hits = [f for f in analysis.result.findings if f.code == code]
    assert hits, f"scenario {scenario}: no {code}"

    def has_all(f: object) -> bool:
        from segcheck.analysis.result import Finding
        assert isinstance(f, Finding)
        return all(any(e.span.line == line and same_file(e.span.path, path)
                       for e in f.evidence) for path, line in locs)

    at = [f for f in hits if has_all(f)]
    assert at, f"scenario {scenario}: no {code} with evidence at {locs}"
    src, dst = PAIRS[(scenario, code)]
    at = [f for f in at if f.src_zone == src and (dst is None or f.dst_zone == dst)]
    assert at, f"scenario {scenario}: {code} not on {src} -> {dst}"
    f = at[0]
    assert f.suppressed_by is None
    assert f.witness is not None
    check_witness(analysis, f)


def test_expired_exception_does_not_suppress_broad_ports() -> None:
    result = analysed(BAD).result
    assert [f.object for f in result.findings if f.code == "SC-EXC-EXPIRED"] == ["EXC-2026-014"]
    assert all(f.suppressed_by is None for f in result.findings)


def test_clean_site_has_no_configuration_finding_above_info() -> None:
    result = analysed(CLEAN).result
    # Governance findings come from the policy file itself (BRIEF §2.3's example gives only
    # C-01 a justification, and its exception expired on 2026-10-31), not from the rules.
    governance = {"SC-NO-JUSTIFICATION", "SC-EXC-EXPIRED"}
    above = [(f.code, f.object, f.message) for f in result.findings
             if f.severity is not Severity.INFO and f.code not in governance]
    assert not above
    assert {f.object for f in result.findings if f.code == "SC-NO-JUSTIFICATION"} <= {
        "C-02", "C-03", "C-04", "C-05", "C-06", "C-07"}
    # every conduit flow is implemented by some rule
    assert not [f for f in result.findings if f.code == "SC-CONDUIT-UNIMPLEMENTED"]
    for row in result.conduits:
        for flow in row["flows"]:
            assert flow["implemented_by"], (row["id"], flow)


def test_clean_matrix_stays_inside_conduits() -> None:
    result = analysed(CLEAN).result
    assert result.matrix
    assert all(c.allowed_by_policy for c in result.matrix
               if "z-internet" not in (c.src_zone, c.dst_zone))


def test_cli_check_exit_codes_and_formats(tmp_path: Path) -> None:
    args = ["check", "--policy", str(POLICY), "--today", TODAY.isoformat()]
    out = tmp_path / "bad.json"
    assert main([*args, "--topology", str(BAD), "--format", "json", "-o", str(out)]) == 1
    doc = json.loads(out.read_text())
    assert {"segcheck", "complete", "inputs", "diagnostics", "zones", "matrix",
            "findings"} <= set(doc)
    codes = {f["code"] for f in doc["findings"]}
    assert {"SC-DMZ-BYPASS", "SC-SIS-REACH", "SC-MGMT-EXPOSED"} <= codes
    f = next(f for f in doc["findings"] if f["code"] == "SC-SIS-REACH")
    assert f["witness"]["dst"].startswith("10.70.1.")
    assert f["evidence"][0]["line"] == 45
    assert main([*args, "--topology", str(CLEAN), "--fail-on", "critical",
                 "-o", str(tmp_path / "clean.txt")]) == 0
    assert main([*args, "--topology", str(BAD), "--fail-on", "never",
                 "-o", str(tmp_path / "x.txt")]) == 0
    complete = doc["complete"]
    strict = main([*args, "--topology", str(CLEAN), "--strict", "--fail-on", "never",
                   "-o", str(tmp_path / "s.txt")])
    assert strict == (0 if complete else 2)
    text = (tmp_path / "x.txt").read_text()
    if not complete:
        assert "INCOMPLETE" in text


def test_cli_bad_input_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("segcheck: 1\nzones: [\n")
    assert main(["check", "--policy", str(bad), "--topology", str(CLEAN)]) == 2


def test_check_with_capture_reports_observed_bypass(tmp_path: Path) -> None:
    cap = ROOT / "captures" / "riverbend-incident.pcapng"
    if not cap.is_file():
        pytest.skip("example capture not present")
    out = tmp_path / "inc.json"
    code = main(["check", "--policy", str(POLICY), "--topology", str(CLEAN), "--capture",
                 str(cap), "--format", "json", "-o", str(out), "--today", TODAY.isoformat()])
    assert code == 1
    doc = json.loads(out.read_text())
    assert doc["flows"]
    assert any(i["kind"] == "capture" for i in doc["inputs"])
    # captures/README.md: frames 31-37, corporate 10.10.20.15 opens SMB to the EWS, which no
    # rule permits (scenario 4, dual-homed EWS)
    bypass = [f for f in doc["findings"] if f["code"] == "SC-OBS-BYPASS" and f["observed"]]
    assert any(31 in f["observed"]["frames"] for f in bypass)


def test_traceability_maps_rules_to_conduits() -> None:
    clean = analysed(CLEAN).result.extra["traceability"]
    assert clean
    assert not [r for r in clean if "UNMAPPED" in r["conduits"]]
    bad = {(Path(r["file"]).name, r["line"]): r for r in analysed(BAD).result.extra["traceability"]}
    assert bad[("fw-ot.rules", 18)]["conduits"] == ["UNMAPPED"]
    assert bad[("fw-ot.rules", 45)]["conduits"] == ["UNMAPPED"]
    assert bad[("fw-ot.rules", 43)]["conduits"] == ["C-05#1"]
    assert bad[("fw-ot.rules", 22)]["status"] == "shadowed"


def test_asset_level_reach() -> None:
    import ipaddress

    from segcheck.engine.reach import networks_space
    from segcheck.model.packet import Packet

    analysis = analysed(CLEAN)
    policy = analysis.site.policy
    eng = networks_space(policy.asset("ot-engineers").networks)
    jump = networks_space(policy.asset("jump-01").networks)
    ps = analysis.reach.between("z-ent", "z-ot-dmz", eng, jump)
    assert ps.protocols_and_ports() == [(6, ((443, 443),))]
    w = ps.sample()
    assert w is not None
    assert ipaddress.ip_address(w.dst) == ipaddress.ip_address("10.30.0.20")
    assert not ps.contains(Packet.make("10.10.40.5", "10.30.0.20", "tcp", 40000, 3389))


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "markdown", "html"])
def test_every_format_renders_the_misconfigured_site(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"r.{fmt}"
    code = main(["check", "--policy", str(POLICY), "--topology", str(BAD), "--format", fmt,
                 "-o", str(out), "--today", TODAY.isoformat()])
    assert code == 1
    body = out.read_text()
    assert "SC-SIS-REACH" in body
    if fmt == "sarif":
        doc = json.loads(body)
        results = doc["runs"][0]["results"]
        lines = {(r["ruleId"], loc["physicalLocation"]["region"]["startLine"])
                 for r in results for loc in r.get("locations", [])}
        assert ("SC-SIS-REACH", 45) in lines


def test_check_writes_the_graph(tmp_path: Path) -> None:
    dot = tmp_path / "g.dot"
    assert main(["check", "--policy", str(POLICY), "--topology", str(BAD), "--graph", str(dot),
                 "-o", str(tmp_path / "r.txt"), "--fail-on", "never"]) == 0
    assert "digraph" in dot.read_text()
