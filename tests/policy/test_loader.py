"""Loader errors: every kind of bad input gives PolicyError at the exact line and column."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from segcheck.cli import main
from segcheck.errors import PolicyError
from segcheck.policy import load_policy, load_topology
from tests.policy.helpers import BASE, TOPO, change, where, write_site

# (id, old, new, marker of the expected location in the new text, message fragment)
POLICY_ERRORS = [
    ("syntax", "suc: TEST", "suc: TEST: x", ": x", "mapping values are not allowed here"),
    ("unknown-key", "    sl_t: 1", "    sl_tt: 1", "sl_tt", "did you mean 'sl_t'?"),
    ("unknown-top-key", "suc: TEST", "succ: TEST", "succ", "did you mean 'suc'?"),
    ("wrong-type-int", "    sl_t: 2\n    cidrs", "    sl_t: high\n    cidrs", "high",
     "sl_t must be an integer"),
    ("sl-out-of-range", "    sl_t: 2\n    cidrs", "    sl_t: 5\n    cidrs", "sl_t: |5",
     "between 0 and 4"),
    ("wrong-type-str", "    sl_t: 2\n    flows", "    sl_t: 2\n    ticket: 1182\n    flows",
     "1182", 'quote it: "1182"'),
    ("wrong-type-bool", "operations: [read]}", "operations: [read], bidirectional: yes please}",
     "yes please", "must be true or false"),
    ("wrong-type-list", "    cidrs: [10.1.0.0/16]", "    cidrs: {a: 1}", "{a: 1}",
     "cidrs must be a list, not a mapping"),
    ("bad-cidr", "10.2.0.0/16,", "10.2.0.0/33,", "10.2.0.0/33", "not a valid CIDR"),
    ("host-bits", "10.2.0.0/16,", "10.2.0.1/16,", "10.2.0.1/16", "did you mean 10.2.0.0/16?"),
    ("bad-address", "ip: 10.1.0.5,", "ip: 10.1.0.500,", "10.1.0.500", "not a valid IP address"),
    ("dangling-endpoint", "to: plc,", "to: plcc,", "plcc",
     "unknown zone or asset 'plcc' (did you mean 'plc'?)"),
    ("dangling-between", "[z-it, z-ot]", "[z-it, z-ott]", "z-ott",
     "unknown zone 'z-ott' (did you mean 'z-ot'?)"),
    ("dangling-service", "service: modbus,", "service: modbuss,", "modbuss",
     "unknown service 'modbuss' (did you mean 'modbus'?)"),
    ("dangling-global-zone", "  max_exception_days: 90",
     "  max_exception_days: 90\n  management_plane: {only_from: [z-mgmt]}", "z-mgmt",
     "unknown zone 'z-mgmt'"),
    ("dangling-global-conduit", "  max_exception_days: 90",
     "  max_exception_days: 90\n  internet_egress: {allow_conduits: [C-7]}", "C-7",
     "unknown conduit 'C-7'"),
    ("bad-kind", "    kind: ot", "    kind: scada", "scada", "zone kind 'scada' is not one of"),
    ("bad-operation", "operations: [read]", "operations: [read, reboot]", "reboot",
     "operation 'reboot' is not one of"),
    ("bad-control", "operations: [read]}", "operations: [read], controls: [mfaa]}", "mfaa",
     "did you mean 'mfa'?"),
    ("duplicate-key", "  modbus: {tcp: [502], app: modbus}",
     "  modbus: {tcp: [502], app: modbus}\n  https: {tcp: [8443]}", "https: {tcp: [8443]",
     "duplicate key 'https'",
     ),
    ("unsupported-version", "segcheck: 1", "segcheck: 2", "segcheck: |2",
     "unsupported format version 2"),
    ("missing-required", "    sl_t: 2\n    flows:\n      - {from: client, to: plc, service: "
     "modbus, operations: [read]}\n", "    sl_t: 2\n", "id: C-1",
     "conduit is missing required key 'flows'"),
    ("sl-vector-incomplete", "    sl_t: 2\n    cidrs", "    sl_t: {IAC: 2}\n    cidrs", "{IAC",
     "missing required key 'UC'"),
    ("bad-port-range", "tcp: [502]", 'tcp: ["600-500"]', '"600-500"',
     "must satisfy 0 <= lo <= hi <= 65535"),
    ("bad-port", "tcp: [502]", "tcp: [70000]", "70000", "between 0 and 65535"),
    ("bad-finding", "finding: SC-ANY-RULE", "finding: any-rule", "any-rule",
     "is not a finding code"),
    ("bad-date", "expires: 2026-02-01", "expires: 2026-02-31", "2026-02-31",
     "must be a date"),
    ("asset-no-address", "client: {ip: 10.1.0.5, role: client}", "client: {role: client}",
     "{role", "needs an address"),
]


@pytest.mark.parametrize(
    ("old", "new", "marker", "message"),
    [case[1:] for case in POLICY_ERRORS], ids=[case[0] for case in POLICY_ERRORS],
)
def test_policy_error_location(
    tmp_path: Path, old: str, new: str, marker: str, message: str
) -> None:
    text = change(BASE, old, new)
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    err = info.value
    assert message in err.message
    assert err.span is not None
    assert (err.span.line, err.span.col) == where(text, marker)
    assert str(err).startswith(f"{path}:{err.span.line}:{err.span.col}: ")


def test_missing_version_points_at_the_top(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(change(BASE, "segcheck: 1\n", ""))
    with pytest.raises(PolicyError, match="missing format version") as info:
        load_policy(path)
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.col) == (1, 1)


@pytest.mark.parametrize(("old", "new", "marker", "char"), [
    ("suc: TEST", "suc: TE\x00ST", "\x00", r"U\+0000"),
    ("kind: ot", "kind: o\x07t", "\x07", r"U\+0007"),
], ids=["nul", "bel"])
def test_forbidden_character_at_its_line(tmp_path: Path, old: str, new: str, marker: str,
                                         char: str) -> None:
    """A character YAML forbids (PyYAML's ReaderError, which has no line mark, only an
    offset) is reported at its own line and column, not at line 1."""
    text = change(BASE, old, new)
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=char) as info:
        load_policy(path)
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.col) == where(text, marker)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    with pytest.raises(PolicyError, match="empty policy file"):
        load_policy(empty)
    with pytest.raises(PolicyError, match="no such file"):
        load_policy(tmp_path / "absent.yaml")


def test_cli_prints_location_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = change(BASE, "    sl_t: 1", "    sl_tt: 1")
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    line, col = where(text, "sl_tt")
    err = capsys.readouterr().err
    assert f"{path}:{line}:{col}: unknown key 'sl_tt' in zone (did you mean 'sl_t'?)" in err
    assert "Traceback" not in err


def test_spans_on_objects(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(BASE)
    p = load_policy(path)
    z = p.zone("z-ot")
    assert z.span is not None
    assert (z.span.line, z.span.col) == where(BASE, "id: z-ot")
    plc = p.asset("plc")
    assert plc.span is not None
    assert plc.span.line == where(BASE, "plc: {")[0]
    assert plc.span.text == "plc: {ips: [10.2.0.10, 10.2.0.11], role: plc}"
    flow = p.conduits[0].flows[0]
    assert flow.span is not None
    assert flow.span.line == where(BASE, "{from: client")[0]
    assert p.services["modbus"].span is not None
    assert p.exceptions[0].span is not None
    assert p.global_rules.span is not None
    assert plc.networks == (ipaddress.ip_network("10.2.0.10/32"),
                            ipaddress.ip_network("10.2.0.11/32"))


# -- topology ------------------------------------------------------------------------------

TOPO_ERRORS = [
    ("missing-config", "config: fw/fw.rules", "config: fw/missing.rules", "fw/missing.rules",
     "config file not found"),
    ("unknown-zone", "eth1: z-ot}", "eth1: z-ott}", "z-ott",
     "unknown zone 'z-ott' (did you mean 'z-ot'?)"),
    ("unknown-vendor", "vendor: iptables", "vendor: iptabels", "iptabels",
     "did you mean 'iptables'?"),
    ("unknown-key", "    management:", "    managment:", "managment",
     "did you mean 'management'?"),
    ("bad-management", "[10.1.0.1]", "[10.1.0.x]", "10.1.0.x", "not a valid IP address"),
    ("missing-policy-file", "policy: policy.yaml", "policy: nope.yaml", "nope.yaml",
     "policy file not found"),
    ("route-unknown-device", "eth1: z-ot}\n", "eth1: z-ot}\nroutes:\n  - {device: fw2, to: "
     "10.2.0.0/16, interface: eth1}\n", "fw2", "unknown device 'fw2' (did you mean 'fw'?)"),
    ("route-unknown-iface", "eth1: z-ot}\n", "eth1: z-ot}\nroutes:\n  - {device: fw, to: "
     "10.2.0.0/16, interface: eth9}\n", "eth9", "device 'fw' has no interface 'eth9'"),
    ("route-bad-prefix", "eth1: z-ot}\n", "eth1: z-ot}\nroutes:\n  - {device: fw, to: "
     "10.2.0.0/8, via: 10.1.0.254}\n", "10.2.0.0/8", "not a valid CIDR"),
    ("host-unknown-service", "eth1: z-ot}\n", "eth1: z-ot}\nhosts:\n  - {id: h, addresses: "
     "[10.1.0.9], services: [rdp]}\n", "rdp", "unknown service 'rdp'"),
    ("host-unknown-asset", "eth1: z-ot}\n", "eth1: z-ot}\nhosts:\n  - {id: h, addresses: "
     "[10.1.0.9], asset: clients}\n", "clients", "unknown asset 'clients'"),
    ("host-not-the-asset", "eth1: z-ot}\n", "eth1: z-ot}\nhosts:\n  - {id: h, addresses: "
     "[10.1.0.9], asset: client}\n", "client}", "has none of asset 'client'"),
]


@pytest.mark.parametrize(
    ("old", "new", "marker", "message"),
    [case[1:] for case in TOPO_ERRORS], ids=[case[0] for case in TOPO_ERRORS],
)
def test_topology_error_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, marker: str,
    message: str,
) -> None:
    text = change(TOPO, old, new)
    _, topo = write_site(tmp_path, topo=text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # config paths are relative to the topology, not the cwd
    with pytest.raises(PolicyError) as info:
        load_topology(topo)
    assert message in info.value.message
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.col) == where(text, marker)


def test_topology_loads_relative_to_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = TOPO + ("routes:\n  - {device: fw, to: 10.2.0.0/16, interface: eth1}\n"
                   "hosts:\n  - {id: dual, addresses: [10.1.0.5, 10.2.0.10], services: https}\n")
    pol, topo = write_site(tmp_path, topo=text)
    monkeypatch.chdir(tmp_path / "fw")
    t = load_topology(topo)
    assert t.devices[0].config == (tmp_path / "fw" / "fw.rules").resolve()
    assert t.devices[0].configs == (t.devices[0].config,)
    assert t.devices[0].interfaces == {"eth0": "z-it", "eth1": "z-ot"}
    assert t.routes[0].destination == ipaddress.ip_network("10.2.0.0/16")
    assert t.hosts[0].zones == ("z-it", "z-ot")
    assert t.hosts[0].services == ("https",)
    assert t.policy_path is not None
    assert Path(t.policy_path).resolve() == pol.resolve()
    assert t.zone_interfaces("z-ot") == (("fw", "eth1"),)


def test_topology_without_policy(tmp_path: Path) -> None:
    text = change(TOPO, "policy: policy.yaml\n", "")
    _, topo = write_site(tmp_path, topo=text)
    with pytest.raises(PolicyError, match="needs its policy"):
        load_topology(topo)
    pol = load_policy(tmp_path / "policy.yaml")
    assert load_topology(topo, pol).devices[0].id == "fw"
