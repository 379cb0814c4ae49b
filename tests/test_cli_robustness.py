"""Bad input never crashes the CLI (DESIGN.md §3, §4).

The promise checked here, for every command driven in-process through ``segcheck.cli.main``:
bad input or usage exits 2 with a message on stderr that names the offending path (and
``path:line`` where the input has lines), never exit 3 ("internal error") or a traceback, and
a failing command given ``-o FILE`` leaves no ``FILE`` (nor a temp file) behind. Inputs that
are actually fine must still exit 0/1.

The baseline is the bundled Riverbend site (policy, topologies, captures) copied into
``tmp_path`` and mutated there, so every case is one small, readable edit of a good input.
Known failures of this promise live in ``tests/pending_robustness_failures.py`` until fixed.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from segcheck.cli import main
from segcheck.errors import SegcheckError
from segcheck.parsers.registry import load_device
from tests.conftest import ROOT

EXIT_BAD_INPUT = 2


@dataclass(frozen=True)
class Run:
    rc: int
    out: str
    err: str


@dataclass(frozen=True)
class Site:
    """The bundled example site, copied below ``root`` (relative paths preserved)."""

    root: Path

    @property
    def policy(self) -> Path:
        return self.root / "policies" / "riverbend.yaml"

    @property
    def topology(self) -> Path:
        return self.root / "topologies" / "riverbend.yaml"

    @property
    def misconfigured(self) -> Path:
        return self.root / "topologies" / "riverbend-misconfigured.yaml"

    @property
    def fw_it(self) -> Path:
        return self.root / "topologies" / "riverbend" / "fw-it.rules"

    @property
    def pcap(self) -> Path:
        return self.root / "captures" / "riverbend-normal.pcap"

    @property
    def pcapng(self) -> Path:
        return self.root / "captures" / "riverbend-incident.pcapng"

    def write(self, rel: str, data: str | bytes) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data, encoding="utf-8")
        return p

    def mutate(self, src: Path, rel: str, old: str, new: str) -> Path:
        """A copy of ``src`` at ``rel`` with ``old`` replaced once by ``new``."""
        text = src.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {src}"
        return self.write(rel, text.replace(old, new, 1))


@pytest.fixture
def site(tmp_path: Path) -> Site:
    for part in ("policies", "topologies", "captures"):
        shutil.copytree(ROOT / part, tmp_path / part)
    return Site(tmp_path)


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> Run:
    capsys.readouterr()
    rc = main([str(a) for a in args])
    cap = capsys.readouterr()
    return Run(rc, cap.out, cap.err)


def assert_clean(run: Run) -> None:
    """No internal error and no traceback, whatever the exit code."""
    both = run.out + run.err
    assert run.rc != 3, run.err
    assert "internal error" not in both, run.err
    assert "Traceback" not in both, run.err


def assert_rejected(run: Run, *mentions: object, line: int | None = None) -> None:
    """Exit 2 with a clean message naming each of ``mentions`` (paths: by name or in full);
    with ``line``, the first mention is cited as ``path:line``."""
    assert_clean(run)
    assert run.rc == EXIT_BAD_INPUT, (run.rc, run.err)
    assert run.err.strip(), "no message on stderr"
    for m in mentions:
        names = {str(m), Path(str(m)).name}
        assert any(n in run.err for n in names), (m, run.err)
    if line is not None:
        assert re.search(rf"{re.escape(Path(str(mentions[0])).name)}:{line}(:\d+)?:", run.err), \
            (line, run.err)


def assert_no_output(path: Path) -> None:
    """``path`` was not created, and no temp file of an atomic write is left next to it."""
    assert not path.exists(), f"{path} written by a failing command"
    if path.parent.is_dir():
        leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}.")]
        assert not leftovers, leftovers


def line_of(path: Path, needle: str) -> int:
    for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in text:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


# ---------------------------------------------------------------------------------------------
# Bad policy / topology files, for every command that reads them

BAD_YAML = ("missing", "directory", "empty", "binary", "truncated", "invalid", "unknown-key")


def bad_yaml(site: Site, kind: str, what: str) -> tuple[Path, int | None]:
    """A bad policy or topology file (``what`` is ``policy`` or ``topology``) and the line an
    error message must cite (None where the input has no meaningful line)."""
    good = site.policy if what == "policy" else site.topology
    rel = f"{good.parent.name}/bad-{kind}.yaml"  # same folder: relative references still work
    if kind == "missing":
        return site.root / rel, None
    if kind == "directory":
        d = site.root / rel
        d.mkdir()
        return d, None
    if kind == "empty":
        return site.write(rel, ""), None
    if kind == "binary":
        return site.write(rel, bytes(range(256)) * 8), None
    if kind == "truncated":
        text = good.read_text(encoding="utf-8")
        cut = text.index("{", len(text) // 2) + 8  # inside a flow mapping: YAML syntax error
        return site.write(rel, text[:cut]), None
    if kind == "invalid":
        p = site.mutate(good, rel, "segcheck: 1\n", "segcheck: 1\nzones: [\n  - {id: a\n")
        return p, None
    assert kind == "unknown-key"
    p = site.mutate(good, rel, "segcheck: 1\n", "segcheck: 1\nfrobnicate: true\n")
    return p, line_of(p, "frobnicate")


def site_commands(site: Site, policy: Path, topology: Path, out: Path) -> dict[str, list[object]]:
    """Every command that reads a policy and topology, with ``-o out`` where it takes one."""
    pt = ["--policy", policy, "--topology", topology]
    return {
        "check": ["check", *pt, "--format", "json", "-o", out],
        "diff": ["diff", *pt, "--base-topology", site.topology, "-o", out],
        "explain": ["explain", *pt, "--src", "10.10.40.5", "--dst", "10.30.0.20",
                    "--dport", "443"],
        "graph": ["graph", *pt, "-o", out.with_suffix(".dot")],
    }


@pytest.mark.parametrize("kind", BAD_YAML)
@pytest.mark.parametrize("what", ["policy", "topology"])
@pytest.mark.parametrize("command", ["check", "diff", "explain", "graph"])
def test_bad_policy_or_topology(site: Site, capsys: pytest.CaptureFixture[str], command: str,
                                what: str, kind: str) -> None:
    bad, line = bad_yaml(site, kind, what)
    out = site.root / "out" / "report.json"
    policy = bad if what == "policy" else site.policy
    topology = bad if what == "topology" else site.topology
    args = site_commands(site, policy, topology, out)[command]
    assert_rejected(cli(capsys, *args), bad, line=line)
    assert_no_output(out)
    assert_no_output(out.with_suffix(".dot"))


@pytest.mark.parametrize("kind", BAD_YAML)
def test_bad_base_topology(site: Site, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    bad, line = bad_yaml(site, kind, "topology")
    out = site.root / "diff.txt"
    run = cli(capsys, "diff", "--policy", site.policy, "--topology", site.topology,
              "--base-topology", bad, "-o", out)
    assert_rejected(run, bad, line=line)
    assert_no_output(out)


@pytest.mark.parametrize("kind", BAD_YAML)
@pytest.mark.parametrize("what", ["policy", "topology"])
def test_validate_bad_file(site: Site, capsys: pytest.CaptureFixture[str], what: str,
                           kind: str) -> None:
    bad, line = bad_yaml(site, kind, what)
    files = [bad] if what == "policy" else [site.policy, bad]
    assert_rejected(cli(capsys, "validate", *files), bad, line=line)


@pytest.mark.parametrize("kind", BAD_YAML)
def test_flows_bad_policy(site: Site, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    bad, line = bad_yaml(site, kind, "policy")
    out = site.root / "flows.json"
    run = cli(capsys, "flows", site.pcap, "--policy", bad, "--format", "json", "-o", out)
    assert_rejected(run, bad, line=line)
    assert_no_output(out)


def test_nested_unknown_key_is_located(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    bad = site.mutate(site.policy, "policies/zone-key.yaml", "{id: z-vendor, kind: external,",
                      "{id: z-vendor, colour: red, kind: external,")
    assert_rejected(cli(capsys, "validate", bad), bad, "colour", line=line_of(bad, "colour"))


def test_baseline_is_fine(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    """The unmutated inputs pass: the failures above are caused by the mutations."""
    out = site.root / "report.json"
    run = cli(capsys, "check", "--policy", site.policy, "--topology", site.topology,
              "--format", "json", "-o", out)
    assert_clean(run)
    assert run.rc in (0, 1)
    assert json.loads(out.read_text())["complete"] is True
    run = cli(capsys, "validate", site.policy, site.topology)
    assert_clean(run)
    assert run.rc == 0


# ---------------------------------------------------------------------------------------------
# Topologies naming bad firewall exports

def topo_with_config(site: Site, rel: str, config: str, *, vendor: str | None = "iptables"
                     ) -> Path:
    """The clean topology with fw-it's IPv4 export replaced by ``config`` (and its vendor
    line replaced, or dropped when ``vendor`` is None)."""
    text = site.topology.read_text(encoding="utf-8")
    text = text.replace("riverbend/fw-it.rules,", f"{config},", 1)
    text = text.replace("vendor: iptables\n", "" if vendor is None else f"vendor: {vendor}\n", 1)
    return site.write(rel, text)


@pytest.mark.parametrize("command", ["check", "validate", "explain", "graph"])
def test_topology_names_missing_config(site: Site, capsys: pytest.CaptureFixture[str],
                                       command: str) -> None:
    topo = topo_with_config(site, "topologies/missing-config.yaml", "riverbend/nope.rules")
    out = site.root / "out.json"
    args = {"validate": ["validate", site.policy, topo],
            **site_commands(site, site.policy, topo, out)}[command]
    run = cli(capsys, *args)
    assert_rejected(run, topo, "nope.rules", line=line_of(topo, "nope.rules"))
    assert_no_output(out)


def test_topology_config_is_a_directory(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    topo = topo_with_config(site, "topologies/dir-config.yaml", "riverbend")
    out = site.root / "out.json"
    run = cli(capsys, "check", "--policy", site.policy, "--topology", topo, "-o", out)
    assert_rejected(run, topo, line=line_of(topo, "config: [riverbend,"))
    assert_no_output(out)


def test_topology_unknown_vendor(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    topo = topo_with_config(site, "topologies/frob.yaml", "riverbend/fw-it.rules",
                            vendor="frobnitz")
    out = site.root / "out.json"
    run = cli(capsys, "check", "--policy", site.policy, "--topology", topo, "-o", out)
    assert_rejected(run, topo, "frobnitz", line=line_of(topo, "frobnitz"))
    assert_no_output(out)
    assert_rejected(cli(capsys, "validate", site.policy, topo), topo, "frobnitz")


@pytest.mark.parametrize("vendor", ["nftables", "panos", "pfsense", "opnsense"])
def test_topology_forces_wrong_vendor(site: Site, capsys: pytest.CaptureFixture[str],
                                      vendor: str) -> None:
    """An iptables-save export declared as another vendor is refused with its path.
    (Vendors whose parsers accept anything: pending_robustness_failures.py.)"""
    topo = topo_with_config(site, f"topologies/as-{vendor}.yaml", "riverbend/fw-it.rules",
                            vendor=vendor)
    out = site.root / "out.json"
    run = cli(capsys, "check", "--policy", site.policy, "--topology", topo, "-o", out)
    assert_rejected(run, "fw-it.rules", line=1)
    assert_no_output(out)


@pytest.mark.parametrize("content", ["", "binary"])
def test_topology_config_undetectable(site: Site, capsys: pytest.CaptureFixture[str],
                                      content: str) -> None:
    """Without a vendor line, an empty or binary export cannot be detected: exit 2."""
    cfg = site.write("topologies/riverbend/odd.rules",
                     bytes(range(256)) * 4 if content else b"")
    topo = topo_with_config(site, "topologies/odd.yaml", "riverbend/odd.rules", vendor=None)
    out = site.root / "out.json"
    run = cli(capsys, "check", "--policy", site.policy, "--topology", topo, "-o", out)
    assert_rejected(run, cfg, line=1)
    assert "--vendor" in run.err
    assert_no_output(out)


def test_topology_binary_config_with_vendor(site: Site, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    cfg = site.write("topologies/riverbend/bin.rules", bytes(range(256)) * 4)
    topo = topo_with_config(site, "topologies/bin.yaml", "riverbend/bin.rules")
    out = site.root / "out.json"
    run = cli(capsys, "check", "--policy", site.policy, "--topology", topo, "-o", out)
    assert_rejected(run, cfg, line=1)
    assert_no_output(out)


# ---------------------------------------------------------------------------------------------
# query: configs, vendors, filters and malformed packet lines

GOOD_PACKET = {"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "tcp", "sport": 40000,
               "dport": 443, "in_iface": "eth1", "out_iface": "eth2"}

BAD_PACKETS = {
    "bad-ip": '{"src": "10.30.0.300", "dst": "10.20.0.10", "proto": "tcp", "dport": 443}',
    "cidr-not-ip": '{"src": "10.30.0.0/24", "dst": "10.20.0.10", "proto": "tcp"}',
    "ip-not-string": '{"src": 169090600, "dst": "10.20.0.10", "proto": "tcp"}',
    "unknown-proto": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "tcpx"}',
    "proto-number-256": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": 256}',
    "proto-negative": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": -1}',
    "proto-bool": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": true}',
    "missing-dst": '{"src": "10.30.0.30", "proto": "tcp", "dport": 443}',
    "missing-proto": '{"src": "10.30.0.30", "dst": "10.20.0.10", "dport": 443}',
    "unknown-field": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "tcp", "dprot": 1}',
    "port-65536": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "tcp", "dport": 65536}',
    "port-negative": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "udp", "sport": -1}',
    "port-string": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "tcp", "dport": "443"}',
    "port-float": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "tcp", "dport": 443.5}',
    "port-huge": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "tcp", "dport": 1e400}',
    "port-on-icmp": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "icmp", "dport": 80}',
    "icmp-type-256": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "icmp", '
                     '"icmp_type": 256}',
    "icmpv6-in-v4": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "icmpv6", '
                    '"icmp_type": 128}',
    "v4-v6-mix": '{"src": "10.30.0.30", "dst": "2001:db8::1", "proto": "tcp", "dport": 443}',
    "v6-v4-mix": '{"src": "2001:db8::1", "dst": "10.20.0.10", "proto": "tcp", "dport": 443}',
    "bad-state": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "tcp", "state": "open"}',
    "iface-not-string": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "tcp", '
                        '"in_iface": 1}',
    "not-json": '{"src": "10.30.0.30", ',
    "json-array": '["10.30.0.30", "10.20.0.10", "tcp"]',
    "json-scalar": '42',
    "nan": '{"src": "10.30.0.30", "dst": "10.20.0.10", "proto": "tcp", "dport": NaN}',
}


@pytest.mark.parametrize("case", sorted(BAD_PACKETS))
def test_query_bad_packet_line(site: Site, capsys: pytest.CaptureFixture[str], case: str
                               ) -> None:
    """A bad line 3 (after a good line and a blank one) is cited as packets:3, and nothing is
    written: not even the answer for the good line."""
    packets = site.write(f"{case}.jsonl", json.dumps(GOOD_PACKET) + "\n\n"
                         + BAD_PACKETS[case] + "\n")
    out = site.root / "answers.jsonl"
    run = cli(capsys, "query", "--config", site.fw_it, "--packets", packets, "-o", out)
    assert_rejected(run, packets, line=3)
    assert_no_output(out)
    assert run.out == ""


def test_query_bad_line_on_stdin(site: Site, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(GOOD_PACKET) + "\n"
                                                 + BAD_PACKETS["bad-ip"] + "\n"))
    run = cli(capsys, "query", "--config", site.fw_it, "--packets", "-")
    assert_rejected(run, "<stdin>", line=2)
    assert run.out == ""


def test_query_good_packets(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    """The baseline: the good line alone is answered (C-07 permits it at its rule line)."""
    packets = site.write("good.jsonl", json.dumps(GOOD_PACKET) + "\n")
    run = cli(capsys, "query", "--config", site.fw_it, "--packets", packets)
    assert_clean(run)
    assert run.rc == 0
    answer = json.loads(run.out)
    assert answer["verdict"] == "permit"
    assert answer["rule"]["line"] == line_of(site.fw_it, "C-07 patch-01 -> web-proxy")


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_query_packets_file_unreadable(site: Site, capsys: pytest.CaptureFixture[str],
                                       kind: str) -> None:
    packets = site.root / f"{kind}.jsonl"
    if kind == "directory":
        packets.mkdir()
    out = site.root / "answers.jsonl"
    run = cli(capsys, "query", "--config", site.fw_it, "--packets", packets, "-o", out)
    assert_rejected(run, packets)
    assert_no_output(out)


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "binary"])
def test_query_config_unreadable(site: Site, capsys: pytest.CaptureFixture[str], kind: str
                                 ) -> None:
    config = site.root / f"{kind}.cfg"
    if kind == "directory":
        config.mkdir()
    elif kind == "empty":
        config.write_bytes(b"")
    elif kind == "binary":
        config.write_bytes(bytes(range(256)) * 8)
    packets = site.write("good.jsonl", json.dumps(GOOD_PACKET) + "\n")
    out = site.root / "answers.jsonl"
    run = cli(capsys, "query", "--config", config, "--packets", packets, "-o", out)
    assert_rejected(run, config)
    assert_no_output(out)


def test_query_unknown_vendor(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    packets = site.write("good.jsonl", json.dumps(GOOD_PACKET) + "\n")
    run = cli(capsys, "query", "--config", site.fw_it, "--vendor", "frobnitz",
              "--packets", packets)
    assert_rejected(run, "frobnitz")
    assert "iptables" in run.err  # the message lists the known vendors


@pytest.mark.parametrize("vendor", ["nftables", "panos", "pfsense", "opnsense"])
def test_query_wrong_vendor_forced(site: Site, capsys: pytest.CaptureFixture[str],
                                   vendor: str) -> None:
    packets = site.write("good.jsonl", json.dumps(GOOD_PACKET) + "\n")
    out = site.root / "answers.jsonl"
    run = cli(capsys, "query", "--config", site.fw_it, "--vendor", vendor,
              "--packets", packets, "-o", out)
    assert_rejected(run, site.fw_it, line=1)
    assert_no_output(out)


def test_query_unknown_filter(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    packets = site.write("good.jsonl", json.dumps(GOOD_PACKET) + "\n")
    out = site.root / "answers.jsonl"
    run = cli(capsys, "query", "--config", site.fw_it, "--filter", "NOPE",
              "--packets", packets, "-o", out)
    assert_rejected(run, "NOPE", site.fw_it)
    assert "FORWARD" in run.err  # names the filters that do exist
    assert_no_output(out)


# ---------------------------------------------------------------------------------------------
# flows and check --capture: captures that are not what they claim

def capture_case(site: Site, kind: str) -> Path:
    raw = site.pcap.read_bytes()
    if kind == "missing":
        return site.root / "missing.pcap"
    if kind == "directory":
        d = site.root / "dir.pcap"
        d.mkdir()
        return d
    if kind == "empty":
        return site.write("empty.pcap", b"")
    if kind == "text":
        return site.write("notes.pcap", "# not a capture\n" * 40)
    if kind == "policy-yaml":
        return site.policy
    assert kind == "header-cut"
    return site.write("header-cut.pcap", raw[:12])  # pcap global header is 24 bytes


BAD_CAPTURES = ("missing", "directory", "empty", "text", "policy-yaml", "header-cut")


@pytest.mark.parametrize("kind", BAD_CAPTURES)
def test_flows_bad_capture(site: Site, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    cap = capture_case(site, kind)
    out = site.root / "flows.json"
    run = cli(capsys, "flows", site.pcap, cap, "--format", "json", "-o", out, "--workers", "1")
    assert_rejected(run, cap)
    assert_no_output(out)


@pytest.mark.parametrize("kind", BAD_CAPTURES)
def test_check_bad_capture(site: Site, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    cap = capture_case(site, kind)
    out = site.root / "report.json"
    run = cli(capsys, "check", "--policy", site.policy, "--topology", site.topology,
              "--capture", cap, "--format", "json", "-o", out)
    assert_rejected(run, cap)
    assert_no_output(out)


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_flows_truncated_capture_is_read_and_reported(
        site: Site, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """A capture cut mid-record is not bad input: the frames before the cut give flows (exit
    0), and the cut-off frame is counted on stderr, never silently dropped."""
    src = site.pcap if fmt == "pcap" else site.pcapng
    raw = src.read_bytes()
    cut = site.write(f"cut.{fmt}", raw[: len(raw) // 2 + 5])
    out = site.root / "flows.json"
    run = cli(capsys, "flows", cut, "--format", "json", "-o", out, "--workers", "1")
    assert_clean(run)
    assert run.rc == 0
    assert json.loads(out.read_text())  # some flows survive the cut
    assert cut.name in run.err
    assert "not decoded" in run.err


def test_flows_header_only_capture_is_empty(site: Site, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    cap = site.write("header-only.pcap", site.pcap.read_bytes()[:24])
    run = cli(capsys, "flows", cap, "--format", "json", "--workers", "1")
    assert_clean(run)
    assert run.rc == 0
    assert json.loads(run.out) == []


# ---------------------------------------------------------------------------------------------
# diff --base: git revisions

def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=qa@example.invalid", "-c", "user.name=qa",
                    "-c", "commit.gpgsign=false", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def repo_site(site: Site) -> Site:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    git(site.root, "init", "-q")
    git(site.root, "add", ".")
    git(site.root, "commit", "-q", "-m", "base")
    return site


@pytest.mark.parametrize("rev", ["no-such-rev", "HEAD~5", "0" * 40, "HEAD:nope"])
def test_diff_unknown_git_rev(repo_site: Site, capsys: pytest.CaptureFixture[str], rev: str
                              ) -> None:
    out = repo_site.root / "diff.txt"
    run = cli(capsys, "diff", "--policy", repo_site.policy, "--topology", repo_site.topology,
              "--base", rev, "-o", out)
    assert_rejected(run, rev.split(":")[0])
    assert_no_output(out)


def test_diff_file_not_in_base_rev(repo_site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    topo = repo_site.write("topologies/new.yaml", repo_site.topology.read_text())
    out = repo_site.root / "diff.txt"
    run = cli(capsys, "diff", "--policy", repo_site.policy, "--topology", topo,
              "--base", "HEAD", "-o", out)
    assert_rejected(run, "topologies/new.yaml")
    assert_no_output(out)


def test_diff_base_outside_git(site: Site, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(site.root.parent))  # no outer repo
    out = site.root / "diff.txt"
    run = cli(capsys, "diff", "--policy", site.policy, "--topology", site.topology,
              "--base", "HEAD", "-o", out)
    assert_rejected(run, "git")
    assert_no_output(out)


def test_diff_against_head_is_fine(repo_site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    out = repo_site.root / "diff.json"
    run = cli(capsys, "diff", "--policy", repo_site.policy, "--topology", repo_site.topology,
              "--base", "HEAD", "--format", "json", "-o", out)
    assert_clean(run)
    assert run.rc == 0
    doc = json.loads(out.read_text())
    assert doc["introduced"] == []
    assert all(not p.get("added") for p in doc["pairs"]), doc["pairs"]


@pytest.mark.parametrize("base", [[], ["--base", "HEAD", "--base-topology", "T"]])
def test_diff_needs_exactly_one_base(site: Site, capsys: pytest.CaptureFixture[str],
                                     base: list[str]) -> None:
    base = [str(site.misconfigured) if b == "T" else b for b in base]
    run = cli(capsys, "diff", "--policy", site.policy, "--topology", site.topology, *base)
    assert_rejected(run, "--base")


# ---------------------------------------------------------------------------------------------
# Output targets and formats

@pytest.mark.parametrize("command", ["check", "diff", "query", "flows", "rules"])
def test_output_into_new_directory(site: Site, capsys: pytest.CaptureFixture[str],
                                   command: str) -> None:
    """``-o`` into a directory that does not exist yet creates it (write_output's contract)
    and writes the whole result."""
    out = site.root / "new" / "deeper" / "result.out"
    packets = site.write("good.jsonl", json.dumps(GOOD_PACKET) + "\n")
    args: dict[str, list[object]] = {
        "check": ["check", "--policy", site.policy, "--topology", site.misconfigured,
                  "--format", "json"],
        "diff": ["diff", "--policy", site.policy, "--topology", site.misconfigured,
                 "--base-topology", site.topology, "--format", "json"],
        "query": ["query", "--config", site.fw_it, "--packets", packets],
        "flows": ["flows", site.pcap, "--format", "json", "--workers", "1"],
        "rules": ["rules", "--config", site.fw_it, "--format", "json"],
    }
    run = cli(capsys, *args[command], "-o", out)
    assert_clean(run)
    assert run.rc in (0, 1)
    text = out.read_text()
    if command == "query":
        assert json.loads(text)["verdict"] == "permit"
    else:
        assert json.loads(text)


@pytest.mark.parametrize(("command", "args"), [
    ("check", ["--format", "yaml"]),
    ("diff", ["--format", "sarif"]),
    ("explain", ["--format", "yaml", "--src", "10.0.0.1", "--dst", "10.0.0.2"]),
    ("flows", ["--format", "pcap"]),
])
def test_unknown_format(site: Site, capsys: pytest.CaptureFixture[str], command: str,
                        args: list[str]) -> None:
    out = site.root / "out.txt"
    base: dict[str, list[object]] = {
        "check": ["--policy", site.policy, "--topology", site.topology],
        "diff": ["--policy", site.policy, "--topology", site.topology,
                 "--base-topology", site.misconfigured],
        "explain": ["--policy", site.policy, "--topology", site.topology],
        "flows": [site.pcap],
    }
    out_args: list[object] = [] if command == "explain" else ["-o", out]  # explain: stdout
    run = cli(capsys, command, *base[command], *args, *out_args)
    assert_rejected(run, "--format", args[1])
    assert_no_output(out)


@pytest.mark.parametrize("name", ["graph.xyz", "graph", "graph.svg.bak"])
def test_graph_unknown_extension(site: Site, capsys: pytest.CaptureFixture[str], name: str
                                 ) -> None:
    out = site.root / name
    run = cli(capsys, "graph", "--policy", site.policy, "--topology", site.topology, "-o", out)
    assert_rejected(run, name)
    assert_no_output(out)


# ---------------------------------------------------------------------------------------------
# explain, validate, schema, rules: argument checking

@pytest.mark.parametrize(("args", "mention"), [
    (["--src", "10.10.40.500", "--dst", "10.30.0.20"], "10.10.40.500"),
    (["--src", "10.10.40.5", "--dst", "not-an-ip"], "not-an-ip"),
    (["--src", "10.10.40.5", "--dst", "10.30.0.20", "--proto", "bogus"], "bogus"),
    (["--src", "10.10.40.5", "--dst", "10.30.0.20", "--proto", "300"], "300"),
    (["--src", "10.10.40.5", "--dst", "10.30.0.20", "--dport", "65536"], "--dport"),
    (["--src", "10.10.40.5", "--dst", "10.30.0.20", "--sport", "-1"], "--sport"),
    (["--src", "10.10.40.5"], "--dst"),
    (["--src", "10.10.40.5", "--dst", "2001:db8::1", "--dport", "443"], "2001:db8::1"),
])
def test_explain_bad_packet(site: Site, capsys: pytest.CaptureFixture[str], args: list[str],
                            mention: str) -> None:
    run = cli(capsys, "explain", "--policy", site.policy, "--topology", site.topology, *args)
    assert_rejected(run, mention)


def test_explain_good_packet(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    run = cli(capsys, "explain", "--policy", site.policy, "--topology", site.topology,
              "--src", "10.30.0.30", "--dst", "10.20.0.10", "--dport", "443",
              "--format", "json")
    assert_clean(run)
    assert run.rc == 0
    assert json.loads(run.out)["verdict"] == "permit"  # C-07 patch-01 -> web-proxy


@pytest.mark.parametrize("target", ["capture", "binary"])
def test_validate_non_yaml_file(site: Site, capsys: pytest.CaptureFixture[str], target: str
                                ) -> None:
    f = site.pcap if target == "capture" else site.write("blob.yaml", bytes(range(256)) * 4)
    assert_rejected(cli(capsys, "validate", site.policy, f), f)


def test_validate_bad_today(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert_rejected(cli(capsys, "validate", "--today", "2026-13-45", site.policy), "--today")


def test_check_bad_today(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    out = site.root / "report.json"
    run = cli(capsys, "check", "--policy", site.policy, "--topology", site.topology,
              "--today", "2026-02-30", "-o", out)
    assert_rejected(run, "--today")
    assert_no_output(out)


@pytest.mark.parametrize("args", [["nope"], [], ["policy", "extra"]])
def test_schema_bad_kind(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    run = cli(capsys, "schema", *args)
    assert_clean(run)
    assert run.rc == EXIT_BAD_INPUT
    assert "policy" in run.err


@pytest.mark.parametrize("kind", ["policy", "topology"])
def test_schema_good_kind(capsys: pytest.CaptureFixture[str], kind: str) -> None:
    run = cli(capsys, "schema", kind)
    assert_clean(run)
    assert run.rc == 0
    assert json.loads(run.out)["$schema"].startswith("https://json-schema.org/")


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "binary", "frobnitz",
                                  "nftables", "panos", "pfsense", "yaml-format"])
def test_rules_bad_input(site: Site, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    config = site.root / f"{kind}.cfg"
    extra: list[str] = []
    mention: object = config
    if kind == "directory":
        config.mkdir()
    elif kind == "empty":
        config.write_bytes(b"")
    elif kind == "binary":
        config.write_bytes(bytes(range(256)) * 8)
    elif kind in ("frobnitz", "nftables", "panos", "pfsense"):
        config, extra = site.fw_it, ["--vendor", kind]
        mention = kind if kind == "frobnitz" else config
    elif kind == "yaml-format":
        config, extra, mention = site.fw_it, ["--format", "yaml"], "--format"
    out = site.root / "rules.json"
    run = cli(capsys, "rules", "--config", config, *extra, "-o", out)
    assert_rejected(run, mention)
    assert_no_output(out)


def test_rules_good_config(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    run = cli(capsys, "rules", "--config", site.fw_it, "--format", "json")
    assert_clean(run)
    assert run.rc == 0
    filters = {f["filter"]: f["rules"] for f in json.loads(run.out)["filters"]}
    assert {r["line"] for r in filters["FORWARD"]} >= {line_of(site.fw_it, "C-07 patch-01")}


# ---------------------------------------------------------------------------------------------
# Hostile or corrupted inputs: entity declarations, recursive YAML, damaged captures/exports

XML_BOMB = ('<?xml version="1.0"?>\n<!DOCTYPE config [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<config><x>&b;</x></config>\n')


@pytest.mark.parametrize("vendor", ["panos", "pfsense", "opnsense"])
def test_xml_entity_declarations_refused(site: Site, capsys: pytest.CaptureFixture[str],
                                         vendor: str) -> None:
    config = site.write("bomb.xml", XML_BOMB)
    packets = site.write("good.jsonl", json.dumps(GOOD_PACKET) + "\n")
    run = cli(capsys, "query", "--config", config, "--vendor", vendor, "--packets", packets)
    assert_rejected(run, config)


@pytest.mark.parametrize(("old", "new"), [
    ("suc: RBW-SCADA", "suc: &a [*a]"),
    ("cidrs: [203.0.113.0/24]", "cidrs: &a [203.0.113.0/24, *a]"),
    ("https: {tcp: [443]}", "https: &a {tcp: *a}"),
])
def test_recursive_yaml_alias(site: Site, capsys: pytest.CaptureFixture[str], old: str,
                              new: str) -> None:
    bad = site.mutate(site.policy, "policies/recursive.yaml", old, new)
    assert_rejected(cli(capsys, "validate", bad), bad, line=line_of(bad, new.split(":")[0]))


def damaged(raw: bytes, rng: random.Random) -> bytes:
    """``raw`` with a few bytes overwritten, cut short, or a length field forced odd."""
    b = bytearray(raw)
    kind = rng.randrange(4)
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 1:
        del b[rng.randrange(len(b)):]
    elif kind == 2:
        i = rng.randrange(len(b) - 4)
        b[i:i + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x10\x00\x00\x00"])
    else:
        i = rng.randrange(len(b))
        b[i:i + 64] = bytes(64)
    return bytes(b)


@pytest.mark.parametrize("which", ["pcap", "pcapng"])
def test_damaged_captures_never_crash(site: Site, capsys: pytest.CaptureFixture[str],
                                      which: str) -> None:
    """60 deterministic byte-level corruptions of each bundled capture: flows reads what it
    can (exit 0, a JSON list) or refuses the file (exit 2 naming it); never exit 3."""
    rng = random.Random(which)
    raw = (site.pcap if which == "pcap" else site.pcapng).read_bytes()
    cap, out = site.root / f"damaged.{which}", site.root / "flows.json"
    for k in range(60):
        cap.write_bytes(damaged(raw, rng))
        out.unlink(missing_ok=True)
        run = cli(capsys, "flows", cap, "--format", "json", "-o", out, "--workers", "1")
        assert_clean(run)
        if run.rc == 0:
            assert isinstance(json.loads(out.read_text()), list), k
        else:
            assert_rejected(run, cap)
            assert_no_output(out)


RIVERBEND_EXPORTS = {
    "iptables": "topologies/riverbend/fw-it.rules",
    "iptables6": "topologies/riverbend/fw-ot.rules6",
    "panos": "topologies/riverbend-vendors/fw-it.xml",
    "fortigate": "topologies/riverbend-vendors/fw-ot.conf",
}


@pytest.mark.parametrize("name", sorted(RIVERBEND_EXPORTS))
def test_truncated_export_lines_never_crash(site: Site, name: str) -> None:
    """Every line of a bundled export cut after each of its tokens (a hand edit gone wrong,
    a truncated copy): the parser gives a Device or a clean SegcheckError, and every
    diagnostic points at a line of the file."""
    src = site.root / RIVERBEND_EXPORTS[name]
    vendor = name.rstrip("6")
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    mutant = site.root / f"mutant-{src.name}"
    problems: list[str] = []
    for i, line in enumerate(lines):
        toks = line.split()
        for j in range(len(toks)):
            mutant.write_text("".join([*lines[:i], " ".join(toks[:j]) + "\n", *lines[i + 1:]]),
                              encoding="utf-8")
            try:
                device = load_device(mutant, vendor)
            except SegcheckError:
                continue
            except Exception as exc:  # the bug this test exists to catch
                problems.append(f"line {i + 1} cut to {' '.join(toks[:j])!r}: "
                                f"{type(exc).__name__}: {exc}")
                continue
            problems += [f"line {i + 1} cut: diagnostic {d}" for d in device.diagnostics
                         if d.span is None or not 1 <= d.span.line <= len(lines)]
    assert not problems, "\n".join(problems[:20])


# The console script ends with os._exit after running the atexit handlers and flushing the
# streams (cli._leave: interpreter teardown cost ~2 s on large sites). A report written to a
# pipe must still arrive whole, stderr too, with the command's own exit code.
_SCRIPT = ("import atexit; from segcheck.cli import main; "
           "atexit.register(lambda: print('atexit handler ran')); main()")


@pytest.mark.parametrize(("args", "code"), [
    (["check", "--policy", "policies/riverbend.yaml", "--topology",
      "topologies/riverbend-misconfigured.yaml", "--format", "json", "--today", "2026-01-01"], 1),
    (["check", "--policy", "policies/riverbend.yaml", "--topology", "no/such.yaml"], 2),
])
def test_console_script_fast_exit_keeps_output_and_code(args: list[str], code: int) -> None:
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as usual
    run = subprocess.run([sys.executable, "-c", _SCRIPT, *args], cwd=root, capture_output=True,
                         text=True, timeout=300, env=env)
    assert run.returncode == code, run.stderr
    body, _, last = run.stdout.rstrip("\n").rpartition("\n")
    assert last == "atexit handler ran"  # ran, and its buffered output was flushed
    if code == 1:
        assert json.loads(body)["findings"]  # the report arrived whole
    else:
        assert "no/such.yaml" in run.stderr
