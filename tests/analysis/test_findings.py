"""One hand-made misconfiguration per finding code, and its clean counterpart.

Oracles: the offending line is marked in the fixture text (``# <-``), not computed; the
witness is checked with the reference first-match evaluation (``Filter.decide`` along the
device paths, via ``analysis.explain``) and ``Policy.resolve`` — never with the PacketSet
engine that produced it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from segcheck.analysis.check import run_check
from segcheck.analysis.result import Severity
from segcheck.analysis.standards import catalogue, standards_for
from segcheck.model.rules import IfaceContext
from segcheck.report import json_format, text
from tests.analysis.fixture_site import CASES, Case, write_site
from tests.analysis.witness import check_witness, same_file

TODAY = date(2026, 3, 1)


@pytest.mark.parametrize("case", CASES, ids=[c.code for c in CASES])
def test_misconfiguration_is_found(tmp_path: Path, case: Case) -> None:
    policy, topo, mark = write_site(tmp_path, case, bad=True)
    assert mark is not None
    analysis = run_check(policy, topo, today=TODAY)
    hits = [f for f in analysis.result.findings if f.code == case.code]
    assert hits, f"{case.code} not found; got {[f.code for f in analysis.result.findings]}"
    at_line = [f for f in hits if any(
        e.span.line == mark[1] and same_file(e.span.path, mark[0]) for e in f.evidence)]
    assert at_line, f"no {case.code} with evidence at {mark}: {[f.evidence for f in hits]}"
    f = at_line[0]
    if case.src is not None:
        assert (f.src_zone, f.dst_zone) == (case.src, case.dst)
    info = catalogue()[case.code]
    assert f.severity.rank >= info.severity.rank or f.code == "SC-REDUNDANT"
    assert f.remediation
    assert f.title
    if f.witness is not None:
        check_witness(analysis, f)
    elif case.where != "policy.yaml":
        pytest.fail(f"{case.code}: a configuration finding needs a witness")


@pytest.mark.parametrize("case", CASES, ids=[c.code for c in CASES])
def test_clean_counterpart_has_no_false_positive(tmp_path: Path, case: Case) -> None:
    policy, topo, _ = write_site(tmp_path, case, bad=False)
    result = run_check(policy, topo, today=TODAY).result
    assert result.complete, [str(d) for d in result.diagnostics]
    assert not [f for f in result.findings if f.code == case.code]
    above = [f for f in result.findings if f.severity is not Severity.INFO]
    assert not above, [(f.code, f.message) for f in above]


def test_exception_suppresses_exactly_its_pair(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.code == "SC-DMZ-BYPASS")
    exc = ("exceptions:\n  - {id: EXC-7, finding: SC-PATH-UNAUTH, object: z-it->z-ot,"
           " justification: test, owner: OT, created: 2026-01-01, expires: 2026-06-30}\n")
    policy, topo, _ = write_site(tmp_path, replace(case, policy={"exceptions": exc}), bad=True)
    result = run_check(policy, topo, today=TODAY).result
    unauth = [f for f in result.findings if f.code == "SC-PATH-UNAUTH"]
    assert [f.suppressed_by for f in unauth] == ["EXC-7"]
    # the same object under another code is not suppressed
    bypass = [f for f in result.findings if f.code == "SC-DMZ-BYPASS"]
    assert bypass
    assert all(f.object == "z-it->z-ot" and f.suppressed_by is None for f in bypass)
    doc = json.loads(json_format.render(result))
    assert any(f["suppressed_by"] == "EXC-7" for f in doc["findings"])
    assert "suppressed by EXC-7" in text.render(result)
    # after expiry: not suppressed, and the exception itself is a finding
    later = run_check(policy, topo, today=date(2026, 7, 1)).result
    assert all(f.suppressed_by is None for f in later.findings)
    assert [f.object for f in later.findings if f.code == "SC-EXC-EXPIRED"] == ["EXC-7"]


def test_attack_version_pins_unauthorized_message_technique() -> None:
    v19 = standards_for("SC-OBS-DANGEROUS-OP", "19")["attack_ics"]
    v18 = standards_for("SC-OBS-DANGEROUS-OP", "18")["attack_ics"]
    assert "T1692.001" in v19
    assert "T0855" not in v19
    assert "T0855" in v18
    assert "T1692.001" not in v18
    assert "T0843" in v19
    assert "T0843" in v18


def test_every_emitted_code_is_in_the_catalogue() -> None:
    assert {c.code for c in CASES} <= set(catalogue())


def test_hop_contexts_are_plain() -> None:
    # guard: IfaceContext with an unknown interface matches no positive condition
    assert IfaceContext("nope").iface == "nope"


def test_exception_object_aliases_for_vendor_rule_names() -> None:
    from segcheck.analysis.check import object_aliases

    assert "fw-ot:policy/37" in object_aliases("fw-ot:policy 37 (opc-da)")
    assert "fw-ot:policy 37" in object_aliases("fw-ot:policy 37 (opc-da)")
    assert object_aliases("z-ent->z-scada") == {"z-ent->z-scada"}
