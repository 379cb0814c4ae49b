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
from segcheck.analysis.explain import explain
from segcheck.analysis.result import Finding, Severity
from segcheck.analysis.standards import catalogue, standards_for
from segcheck.model.rules import IfaceContext
from segcheck.report import json_format, text
from tests.analysis.fixture_site import CASES, Case, write_site

TODAY = date(2026, 3, 1)


def _same(a: str, b: str) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def check_witness(analysis: object, f: Finding) -> None:
    """The witness really is let through (reference evaluation) between the right zones."""
    from segcheck.analysis.check import Analysis

    assert isinstance(analysis, Analysis)
    w = f.witness
    assert w is not None
    site = analysis.site
    src = site.policy.resolve(w.src_ip)
    if f.code in ("SC-SHADOWED", "SC-REDUNDANT"):
        ev = f.evidence[0]
        dev = site.devices[ev.device]
        for flt in dev.filters.values():
            for rule in flt.rules:
                if rule.span.line == ev.span.line and _same(rule.span.path, ev.span.path):
                    assert rule.contains(w)
                    for td in site.topology.devices:
                        for i in td.interfaces:
                            for e in td.interfaces:
                                ci, ce = dev.context(i), dev.context(e)
                                if any(m.iface_ok(ci, ce) for m in rule.matches):
                                    _, decider = flt.decide(w, "new", ci, ce)
                                    assert decider is not None
                                    assert decider.span != rule.span
                    return
        pytest.fail("shadowed rule not found")
    if f.code == "SC-IPV6-GAP" and w.version == 6:
        dev = (site.devices[f.evidence[0].device] if f.evidence
               else next(iter(site.devices.values())))
        td = next(t for t in site.topology.devices if t.id == dev.name)
        ok = False
        for i, zi in td.interfaces.items():
            for e in td.interfaces:
                if e == i or zi != f.src_zone:
                    continue
                flts = dev.forward_filters(dev.context(i), dev.context(e))
                if all(fl.decide(w, "new")[0].value == "permit" for fl in flts):
                    ok = True
        assert ok, f"no crossing from {f.src_zone} forwards {w}"
        return
    assert src is not None
    assert src[0] == f.src_zone, (w, src, f.src_zone)
    ex = explain(site, w)
    if f.code == "SC-PIVOT-PATH" and ex.dst_zone == f.src_zone:
        return  # a same-LAN first hop to a bridging host crosses no firewall
    assert ex.verdict == "permit", (w, ex)
    if f.dst_zone and f.dst_zone.startswith("device:"):
        assert ex.dst_device == f.dst_zone.split(":", 1)[1]
    elif f.code not in ("SC-DMZ-TRANSIT", "SC-PIVOT-PATH"):
        dst = site.policy.resolve(w.dst_ip)
        assert dst is not None
        assert dst[0] == f.dst_zone, (w, dst, f.dst_zone)


@pytest.mark.parametrize("case", CASES, ids=[c.code for c in CASES])
def test_misconfiguration_is_found(tmp_path: Path, case: Case) -> None:
    policy, topo, mark = write_site(tmp_path, case, bad=True)
    assert mark is not None
    analysis = run_check(policy, topo, today=TODAY)
    hits = [f for f in analysis.result.findings if f.code == case.code]
    assert hits, f"{case.code} not found; got {[f.code for f in analysis.result.findings]}"
    at_line = [f for f in hits if any(
        e.span.line == mark[1] and _same(e.span.path, mark[0]) for e in f.evidence)]
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
