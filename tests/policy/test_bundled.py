"""The bundled Riverbend Water site: schema validity, `validate` exit codes, the iptables
exports (accepted by the real iptables-restore; implementing exactly the conduits), and the
SCENARIOS.md map of the misconfigured variant."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from segcheck.cli import main
from segcheck.policy import load_policy, load_topology
from segcheck.policy.dump import to_json_data
from segcheck.policy.model import IPNetwork, collapse
from segcheck.policy.schema import KEYSETS, schema
from tests.conftest import require_oracle

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "riverbend.yaml"
TOPOLOGIES = [ROOT / "topologies" / "riverbend.yaml",
              ROOT / "topologies" / "riverbend-misconfigured.yaml"]
ALL_TOPOLOGIES = sorted((ROOT / "topologies").glob("*.yaml"))
"""Every bundled topology (other vendors' variants join here as their parsers land)."""
MISCONF = ROOT / "topologies" / "riverbend-misconfigured"
EXPORTS = sorted((ROOT / "topologies").glob("riverbend*/*.rules*"))

BRIEF_DEVICES = """\
devices:   # export interface -> zone; z-internet (0/0, ::/0) is implicit
  - {id: fw-it, vendor: panos, management: {ip: 10.250.0.1},
     interfaces: {ethernet1/1: z-internet, ethernet1/2: z-ent, ethernet1/3: z-it-dmz}}
  - {id: fw-ot, vendor: fortigate, management: {ip: 10.250.0.2},
     interfaces: {port1: z-ent, port2: z-ot-dmz, port3: z-scada, port4: z-field-plant,
                  port5: z-field-remote, port6: z-sis, mgmt: z-mgmt}}
"""
"""The ``devices`` block of BRIEF.md §2.3, which our example keeps in the topology instead."""


def validator(kind: str) -> jsonschema.Draft202012Validator:
    s = schema(kind)
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s, format_checker=jsonschema.FormatChecker())


def yaml_data(path: Path) -> Any:
    return to_json_data(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize(
    ("kind", "path"),
    [("policy", p) for p in sorted((ROOT / "policies").glob("*.yaml"))]
    + [("topology", t) for t in ALL_TOPOLOGIES],
    ids=lambda x: x.name if isinstance(x, Path) else x,
)
def test_bundled_files_validate_against_schema(kind: str, path: Path) -> None:
    validator(kind).validate(yaml_data(path))


def test_bundled_site_is_present() -> None:
    assert POLICY.is_file()
    assert set(TOPOLOGIES) <= set(ALL_TOPOLOGIES)


def test_schema_rejects_what_the_loader_rejects() -> None:
    data = yaml_data(POLICY)
    data["zones"][0]["sl_tt"] = 1
    assert not validator("policy").is_valid(data)
    data = yaml_data(POLICY)
    data["conduits"][0]["flows"][0]["operations"] = ["reboot"]
    assert not validator("policy").is_valid(data)
    data = yaml_data(TOPOLOGIES[0])
    del data["devices"][0]["config"]
    assert not validator("topology").is_valid(data)


def _props(s: dict[str, Any], name: str) -> set[str]:
    node = s if name in ("policy", "topology") else s["$defs"][name]
    return set(node["properties"])


def test_schema_keys_match_loader_keys() -> None:
    """The schema and the loader accept exactly the same keys (one key list feeds both)."""
    pol, top = schema("policy"), schema("topology")
    for name, keys in KEYSETS.items():
        if name in ("topology", "topo_device", "route", "host"):
            target = "topology" if name == "topology" else {"topo_device": "device"}.get(
                name, name)
            assert _props(top, target) == set(keys), name
        elif name == "global_rules":
            assert _props(pol, "global_rules") == set(keys)
        else:
            assert _props(pol, name) == set(keys), name


def test_brief_example_with_devices_loads(tmp_path: Path) -> None:
    """BRIEF.md §2.3 verbatim (devices inside the policy) is a valid policy too."""
    text = POLICY.read_text()
    marker = "# Devices (firewalls"
    text = text[: text.index(marker)] + BRIEF_DEVICES + text[text.index("conduits:"):]
    path = tmp_path / "brief.yaml"
    path.write_text(text)
    validator("policy").validate(yaml_data(path))
    p = load_policy(path)
    assert [d.id for d in p.devices] == ["fw-it", "fw-ot"]
    assert p.devices[1].interfaces["port6"] == "z-sis"
    assert p.devices[0].management == (ipaddress.ip_address("10.250.0.1"),)
    assert p.zones == load_policy(POLICY).zones


def test_validate_clean_site_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["validate", str(POLICY), str(TOPOLOGIES[0]), "--today", "2026-11-25"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "9 zones (+ implicit z-internet), 16 assets, 6 services, 7 conduits (12 flows)" in out
    assert "2 devices (4 config files, 12 interfaces)" in out
    assert "OK: 2 files checked, 0 errors, 6 warnings" in out


def test_validate_misconfigured_topology_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(TOPOLOGIES[1])]) == 0
    assert "2 bridging hosts" in capsys.readouterr().out


def test_validate_lint_error_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    text = POLICY.read_text().replace("sl_t: 2, cidrs: [10.50.1.0/24]", "cidrs: [10.50.1.0/24]")
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert "OT zone 'z-field-plant' has no sl_t (target security level) " \
        "[lint.ot-zone-without-sl]" in out
    assert out.strip().endswith("1 error, 6 warnings")


def test_validate_with_explicit_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TOPOLOGIES[0].read_text().replace("policy: ../policies/riverbend.yaml\n", "")
    text = text.replace("riverbend/fw-", str(ROOT / "topologies" / "riverbend") + "/fw-")
    topo = tmp_path / "t.yaml"
    topo.write_text(text)
    assert main(["validate", str(topo)]) == 2
    assert "needs its policy" in capsys.readouterr().err
    assert main(["validate", "--policy", str(POLICY), str(topo)]) == 0
    assert main(["validate", str(POLICY), str(topo)]) == 0


def test_schema_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    for kind in ("policy", "topology"):
        assert main(["schema", kind]) == 0
        assert json.loads(capsys.readouterr().out) == schema(kind)
    assert main(["schema", "nope"]) == 2


# -- the exports ---------------------------------------------------------------------------

def test_iptables_restore_accepts_every_export() -> None:
    """The real iptables-restore/ip6tables-restore parse each export (in a throwaway netns)."""
    tools = [shutil.which(t) for t in ("ip", "iptables-restore", "ip6tables-restore")]
    if os.geteuid() != 0 or not all(tools):
        require_oracle("needs root, iproute2 and iptables-restore")
    ns = f"segpol-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for path in EXPORTS:
            tool = "ip6tables-restore" if path.suffix == ".rules6" else "iptables-restore"
            res = subprocess.run(["ip", "netns", "exec", ns, tool, "--test"],
                                 input=path.read_bytes(), capture_output=True, check=False)
            assert res.returncode == 0, (path, res.stderr.decode())
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)


RULE = re.compile(r"^-A (?P<chain>\S+) (?P<spec>.*?) -j (?P<target>\S+)(?: .*)?$")


def parse_rule(line: str) -> dict[str, Any]:
    m = RULE.match(line)
    assert m, line
    spec = m["spec"]

    def opt(flag: str) -> str | None:
        hit = re.search(rf"(?:^| ){re.escape(flag)} (\S+)", spec)
        return hit[1] if hit else None

    comment = re.search(r'--comment "([^"]*)"', spec)
    dport = opt("--dport")
    lo, _, hi = (dport or "0:65535").partition(":")
    return {
        "chain": m["chain"], "target": m["target"],
        "src": ipaddress.ip_network(opt("-s") or "0.0.0.0/0"),
        "dst": ipaddress.ip_network(opt("-d") or "0.0.0.0/0"),
        "proto": opt("-p"), "ports": (int(lo), int(hi or lo)),
        "comment": comment[1] if comment else "",
    }


def rules_of(path: Path) -> list[dict[str, Any]]:
    return [parse_rule(x) for x in path.read_text().splitlines() if x.startswith("-A ")]


def within(net: IPNetwork, nets: tuple[IPNetwork, ...]) -> bool:
    return any(net.version == n.version and net.subnet_of(n) for n in nets)  # type: ignore[arg-type]


def test_clean_exports_implement_exactly_the_conduits() -> None:
    policy = load_policy(POLICY)
    topo = load_topology(TOPOLOGIES[0], policy)
    for device in topo.devices:
        v4, v6 = device.configs
        for path in (v4, v6):
            text = path.read_text()
            assert ":FORWARD DROP [0:0]" in text
            assert ":INPUT DROP [0:0]" in text
        forward = [r for r in rules_of(v4) if r["chain"] == "FORWARD" and r["target"] == "ACCEPT"]
        stateful = [r for r in forward if not r["comment"]]
        assert len(stateful) == 1  # the ESTABLISHED,RELATED rule
        accepts = [r for r in forward if r["comment"]]
        # Every ACCEPT names a conduit and stays inside one of its flows.
        for r in accepts:
            cid = r["comment"].split()[0]
            conduit = policy.conduit(cid)
            assert any(
                within(r["src"], collapse([n for e in f.sources for n in e.networks]))
                and within(r["dst"], collapse([n for e in f.destinations for n in e.networks]))
                and any(r["proto"] == "tcp" and p == 6 and lo <= r["ports"][0]
                        and r["ports"][1] <= hi
                        for s in f.services for p, rs in policy.services[s].ports
                        for lo, hi in rs)
                for f in conduit.flows
            ), (device.id, r)
        # Every flow crossing this device is covered by its rules (IPv4 parts).
        for c in policy.conduits:
            if device.id == "fw-it" and c.id not in ("C-06", "C-07"):
                continue
            mine = [r for r in accepts if r["comment"].startswith(c.id + " ")]
            for f in c.flows:
                for s in (n for e in f.sources for n in e.networks if n.version == 4):
                    for d in (n for e in f.destinations for n in e.networks if n.version == 4):
                        for svc in f.services:
                            for _, rs in policy.services[svc].ports:
                                for lo, hi in rs:
                                    assert any(
                                        s.subnet_of(r["src"]) and d.subnet_of(r["dst"])
                                        and r["ports"][0] <= lo and hi <= r["ports"][1]
                                        for r in mine
                                    ), (device.id, c.id, s, d, svc)
        # Management only from z-mgmt (netadmin), on the z-mgmt interface.
        mgmt_iface = next(i for i, z in device.interfaces.items() if z == "z-mgmt")
        for line in v4.read_text().splitlines():
            if line.startswith("-A INPUT") and "--dport" in line:
                assert f"-i {mgmt_iface} " in line
                assert "-s 10.250.0.10/32" in line
        assert not [r for r in rules_of(v6) if r["chain"] == "FORWARD"
                    and r["target"] == "ACCEPT" and "ESTABLISHED" not in r["comment"]
                    and r["proto"] is not None]


# -- SCENARIOS.md ----------------------------------------------------------------------------

ROW = re.compile(r"^\| (\d+) \| ([A-Z0-9, -]+) \| ([^|]+) \|")


def scenario_rows() -> list[tuple[int, list[str], list[str]]]:
    rows = []
    for line in (MISCONF / "SCENARIOS.md").read_text().splitlines():
        m = ROW.match(line)
        if m:
            rows.append((int(m[1]), [c.strip() for c in m[2].split(",")],
                         [w.strip() for w in m[3].split(",")]))
    return rows


def test_scenarios_map_points_at_the_marked_rules() -> None:
    rows = scenario_rows()
    assert sorted({n for n, _, _ in rows}) == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    referenced: set[tuple[str, int]] = set()
    for n, codes, where in rows:
        assert all(re.fullmatch(r"SC-[A-Z0-9-]+", c) for c in codes), codes
        for loc in where:
            file, _, line_s = loc.rpartition(":")
            line = int(line_s)
            lines = (MISCONF / file).read_text().splitlines()
            if file.endswith(".yaml"):
                assert lines[line - 1].lstrip().startswith("- id:"), loc
                above = line - 2
                while lines[above - 1].lstrip().startswith("#"):
                    above -= 1
                assert f"# scenario {n}:" in lines[above], loc
                continue
            assert lines[line - 2].startswith(f"# scenario {n}:"), loc
            assert lines[line - 1].startswith(("-A ", ":")), loc
            referenced.add((file, line))
    # ... and every marked rule is in the map.
    for path in MISCONF.glob("*.rules*"):
        lines = path.read_text().splitlines()
        for i, text in enumerate(lines):
            if text.startswith("# scenario "):
                assert (path.name, i + 2) in referenced, (path.name, i + 2)


def test_misconfigured_variant_differs_only_by_scenarios() -> None:
    """Removing the scenario lines from the misconfigured exports gives the clean rules."""
    for bad in MISCONF.glob("*.rules*"):
        clean = ROOT / "topologies" / "riverbend" / bad.name
        kept: list[str] = []
        skip = False
        for line in bad.read_text().splitlines():
            if line.startswith("# scenario "):
                skip = True
                continue
            if skip:
                skip = False
                if line.startswith(":FORWARD"):
                    kept.append(":FORWARD DROP [0:0]")
                continue
            kept.append(line)
        body = [x for x in kept if not x.startswith("#")]
        assert body == [x for x in clean.read_text().splitlines() if not x.startswith("#")], bad
