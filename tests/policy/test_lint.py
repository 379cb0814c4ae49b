"""Policy and topology lint: each code, its level, and the exact line of the object at fault."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from segcheck.model.source import Diagnostic, Level
from segcheck.policy import load_policy, load_topology
from segcheck.policy.lint import lint_policy, lint_topology
from tests.policy.helpers import BASE, TOPO, change, where, write_site

TODAY = date(2026, 1, 15)

Z3 = ("  - id: z-dmz\n    kind: dmz\n    cidrs: [10.3.0.0/16]\n    assets:\n"
      "      web: {ip: 10.3.0.8}\n")
"""A third zone, inserted before ``conduits:``."""


def lint(tmp_path: Path, text: str, today: date = TODAY) -> tuple[Diagnostic, ...]:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return lint_policy(load_policy(path), today=today)


def test_clean_policy_has_no_diagnostics(tmp_path: Path) -> None:
    assert lint(tmp_path, BASE) == ()


# (id, old, new, code, level, marker of the object at fault, nth occurrence, message fragment)
CASES = [
    ("duplicate-zone", "conduits:", "  - id: z-it\n    kind: it\n    sl_t: 1\nconduits:",
     "lint.duplicate-id", Level.ERROR, "id: z-it", 1, "duplicate zone id 'z-it'"),
    ("duplicate-asset", "role: plc}", "role: plc}\n      client: {ip: 10.2.0.20}",
     "lint.duplicate-id", Level.ERROR, "client: {", 1, "duplicate asset id 'client'"),
    ("asset-is-zone", "role: plc}", "role: plc}\n      z-it: {ip: 10.2.0.20}",
     "lint.duplicate-id", Level.ERROR, "z-it: {", 0, "is also a zone id"),
    ("duplicate-conduit", "global_rules:", "  - id: C-1\n    between: [z-it, z-ot]\n    sl_t: 2"
     "\n    flows: [{from: z-it, to: z-ot, service: https}]\nglobal_rules:",
     "lint.duplicate-id", Level.ERROR, "id: C-1", 1, "duplicate conduit id 'C-1'"),
    ("duplicate-exception", "expires: 2026-02-01}", "expires: 2026-02-01}\n  - {id: E-1, "
     "finding: SC-ANY-RULE, object: x, created: 2026-01-01, expires: 2026-02-01}",
     "lint.duplicate-id", Level.ERROR, "{id: E-1", 1, "duplicate exception id 'E-1'"),
    ("cidr-in-two-zones", "cidrs: [10.2.0.0/16,", "cidrs: [10.2.0.0/16, 10.1.128.0/17,",
     "lint.address-in-two-zones", Level.ERROR, "id: z-ot", 0,
     "address 10.1.128.0 is in zone 'z-it' (CIDR 10.1.0.0/16) and in zone 'z-ot'"),
    ("asset-in-other-zone", "role: plc}", "role: plc}\n      stray: {ip: 10.1.7.7}",
     "lint.address-in-two-zones", Level.ERROR, "stray: {", 0,
     "address 10.1.7.7 is in zone 'z-it'"),
    ("asset-outside-zone", "client: {ip: 10.1.0.5,", "client: {ip: 10.9.0.5,",
     "lint.asset-outside-zone", Level.WARNING, "client: {", 0,
     "asset 'client' address 10.9.0.5/32 is outside the CIDRs of zone 'z-it'"),
    ("flow-outside-between", ("conduits:", "{from: client, to: plc,"),
     (Z3 + "conduits:", "{from: client, to: [plc, web],"), "lint.flow-outside-conduit",
     Level.ERROR, "{from: client", 0, "flow endpoint(s) 'web' of conduit 'C-1' are not in its"),
    ("flow-same-zone", "{from: client, to: plc,", "{from: client, to: z-it,",
     "lint.flow-outside-conduit", Level.ERROR, "{from: client", 0,
     "sources and destinations in the same zone 'z-it'"),
    ("ot-zone-without-sl", "    sl_t: 2\n    cidrs", "    cidrs",
     "lint.ot-zone-without-sl", Level.ERROR, "id: z-ot", 0, "OT zone 'z-ot' has no sl_t"),
    ("safety-mixed", "role: plc}", "role: plc}\n      sis: {ip: 10.2.0.50, role: sis}",
     "lint.safety-zone-mixed", Level.ERROR, "id: z-ot", 0,
     "zone 'z-ot' mixes safety assets (sis) with non-safety assets (plc)"),
    ("safety-explicit-false", "plc: {ips: [10.2.0.10, 10.2.0.11], role: plc}",
     "plc: {ips: [10.2.0.10, 10.2.0.11], role: plc, safety: false}\n"
     "      sis: {ip: 10.2.0.50, role: sis}",
     "lint.safety-zone-mixed", Level.ERROR, "id: z-ot", 0, "with non-safety assets (plc)"),
    ("safety-unmarked", "plc: {ips: [10.2.0.10, 10.2.0.11], role: plc}",
     "plc: {ips: [10.2.0.10, 10.2.0.11], role: sis}",
     "lint.safety-zone-unmarked", Level.WARNING, "id: z-ot", 0, "lacks 'safety: true'"),
    ("conduit-sl-below", "    sl_t: 2\n    flows", "    sl_t: 1\n    flows",
     "lint.conduit-sl-below-zone", Level.WARNING, "id: C-1", 0,
     "conduit 'C-1' sl_t is below its zones' sl_t (IAC 1 < 2"),
    ("conduit-sl-vector", "    sl_t: 2\n    cidrs",
     "    sl_t: {IAC: 2, UC: 2, SI: 2, DC: 1, RDF: 3, TRE: 2, RA: 2}\n    cidrs",
     "lint.conduit-sl-below-zone", Level.WARNING, "id: C-1", 0, "(RDF 2 < 3)"),
    ("conduit-no-sl", "    sl_t: 2\n    flows", "    flows",
     "lint.conduit-sl-below-zone", Level.WARNING, "id: C-1", 0, "conduit 'C-1' has no sl_t"),
    ("conduit-expired", "    sl_t: 2\n    flows", "    sl_t: 2\n    expires: 2026-01-01\n"
     "    flows", "lint.conduit-expired", Level.WARNING, "id: C-1", 0,
     "conduit 'C-1' expired on 2026-01-01"),
    ("exception-expired", "expires: 2026-02-01}", "expires: 2026-01-14}",
     "lint.exception-expired", Level.WARNING, "{id: E-1", 0,
     "exception 'E-1' expired on 2026-01-14 (today is 2026-01-15)"),
    ("exception-too-long", "expires: 2026-02-01}", "expires: 2026-04-02}",
     "lint.exception-too-long", Level.WARNING, "{id: E-1", 0,
     "lasts 91 days (2026-01-01 to 2026-04-02), more than max_exception_days 90"),
    ("exception-no-expiry", ", expires: 2026-02-01}", "}",
     "lint.exception-too-long", Level.WARNING, "{id: E-1", 0, "has no expiry"),
    ("unknown-finding", "finding: SC-ANY-RULE", "finding: SC-ANY-RULES",
     "lint.unknown-finding-code", Level.WARNING, "{id: E-1", 0, "did you mean 'SC-ANY-RULE'?"),
]

@pytest.mark.parametrize(
    ("old", "new", "code", "level", "marker", "nth", "message"),
    [c[1:] for c in CASES], ids=[c[0] for c in CASES],
)
def test_lint_case(
    tmp_path: Path, old: str | tuple[str, ...], new: str | tuple[str, ...], code: str,
    level: Level, marker: str, nth: int, message: str,
) -> None:
    text = BASE
    for o, n in zip(*((old, new) if isinstance(old, tuple) else ((old,), (new,))), strict=True):
        text = change(text, o, n)
    diags = lint(tmp_path, text)
    hits = [d for d in diags if d.code == code]
    assert len(hits) == 1, diags
    d = hits[0]
    assert d.level is level
    assert message in d.message
    assert d.span is not None
    assert (d.span.line, d.span.col) == where(text, marker, nth)
    others = [x for x in diags if x.code != code and x.level is Level.ERROR]
    assert not others, others


def test_today_is_injectable(tmp_path: Path) -> None:
    assert lint(tmp_path, BASE, today=date(2026, 2, 1)) == ()
    late = lint(tmp_path, BASE, today=date(2026, 2, 2))
    assert [d.code for d in late] == ["lint.exception-expired"]


def test_compensating_controls_silence_the_sl_gap(tmp_path: Path) -> None:
    text = change(BASE, "    sl_t: 2\n    flows", "    sl_t: 1\n    compensating: [ids]\n    flows")
    assert lint(tmp_path, text) == ()


def test_sl_rule_is_opt_in(tmp_path: Path) -> None:
    text = change(BASE, "  conduit_sl_ge_zone_sl: true\n", "")
    text = change(text, "    sl_t: 2\n    flows", "    sl_t: 1\n    flows")
    assert lint(tmp_path, text) == ()


def test_nesting_in_external_zone_is_refinement(tmp_path: Path) -> None:
    text = change(BASE, "conduits:", "  - {id: z-cloud, kind: external, cidrs: [0.0.0.0/0]}\n"
                  "  - {id: z-vendor, kind: external, cidrs: [198.51.100.0/24]}\nconduits:")
    assert lint(tmp_path, text) == ()


# -- topology lint ---------------------------------------------------------------------------

def topo_lint(tmp_path: Path, policy: str, topo: str) -> tuple[Diagnostic, ...]:
    pol, t = write_site(tmp_path, policy, topo)
    p = load_policy(pol)
    return lint_topology(load_topology(t, p), p)


def test_clean_topology(tmp_path: Path) -> None:
    text = change(BASE, "global_rules:\n", "global_rules:\n  management_plane: {only_from: "
                  "[z-it]}\n")
    assert topo_lint(tmp_path, text, TOPO) == ()


TOPO_CASES = [
    ("unknown-device", "    sl_t: 2\n    flows", "    sl_t: 2\n    enforced_by: [fw9]\n    flows",
     None, "lint.unknown-device", Level.WARNING, ("policy", "id: C-1", 0),
     "enforced_by 'fw9'"),
    ("zone-unattached", None, None, ("interfaces: {eth0: z-it, eth1: z-ot}",
                                     "interfaces: {eth0: z-it}"),
     "lint.zone-unattached", Level.WARNING, ("policy", "id: z-ot", 0),
     "zone 'z-ot' is attached to no device"),
    ("management-outside-plane", "global_rules:\n",
     "global_rules:\n  management_plane: {only_from: [z-ot]}\n", None,
     "lint.management-outside-plane", Level.WARNING, ("topo", "id: fw", 0),
     "management address 10.1.0.1 is in zone 'z-it'"),
    ("duplicate-device", None, None, ("eth1: z-ot}\n", "eth1: z-ot}\n  - {id: fw, config: "
                                      "fw/fw.rules, interfaces: {eth0: z-it}}\n"),
     "lint.duplicate-id", Level.ERROR, ("topo", "{id: fw", 0), "duplicate device id 'fw'"),
]


@pytest.mark.parametrize(
    ("old", "new", "topo_change", "code", "level", "at", "message"),
    [c[1:] for c in TOPO_CASES], ids=[c[0] for c in TOPO_CASES],
)
def test_topology_lint_case(
    tmp_path: Path, old: str | None, new: str | None, topo_change: tuple[str, str] | None,
    code: str, level: Level, at: tuple[str, str, int], message: str,
) -> None:
    policy = change(BASE, old, new) if old is not None and new is not None else BASE
    topo = change(TOPO, *topo_change) if topo_change else TOPO
    diags = topo_lint(tmp_path, policy, topo)
    hits = [d for d in diags if d.code == code]
    assert len(hits) == 1, diags
    d = hits[0]
    assert d.level is level
    assert message in d.message
    text = policy if at[0] == "policy" else topo
    assert d.span is not None
    assert d.span.path.endswith("policy.yaml" if at[0] == "policy" else "topo.yaml")
    assert (d.span.line, d.span.col) == where(text, at[1], at[2])
