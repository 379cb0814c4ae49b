"""Regressions for ``check``/``diff`` bad-input handling (QA robustness sweep, 2026-11-25).

Each test is one concrete input on a copy of the bundled Riverbend site:

* ``check`` validates every output target before any work and writes nothing unless the
  report and the graph both succeed (``-o`` + ``--graph``);
* ``check`` refuses ERROR-level lint (what ``validate`` rejects) and keeps lint warnings as
  non-blocking diagnostics;
* ``check --strict`` on an incomplete analysis: exit 2, the report IS written (decision
  documented in ``segcheck check --help``), the blocking lines are printed on stderr;
* ``diff --base`` never hands the revision to git as an option, refuses files outside the
  repository, and names base files as ``REV:path:line`` (never the temporary copy).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import segcheck.report.graph as graph_mod
from segcheck.errors import SegcheckError
from tests.test_cli_robustness import (
    Site,
    assert_clean,
    assert_no_output,
    assert_rejected,
    cli,
    git,
    line_of,
    repo_site,  # noqa: F401  (fixture)
    site,  # noqa: F401  (fixture)
)

Cap = pytest.CaptureFixture[str]


def _check(site: Site, *extra: object) -> list[object]:  # noqa: F811
    return ["check", "--policy", site.policy, "--topology", site.topology,
            "--today", "2026-11-25", *extra]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- check: outputs are all-or-nothing ------------------------------------------------------

@pytest.mark.parametrize("graph", ["graph.xyz", "DIR.svg", "blocker/g.dot"])
def test_check_bad_graph_target_writes_nothing(site: Site, capsys: Cap,  # noqa: F811
                                               graph: str) -> None:
    if graph == "DIR.svg":
        (site.root / graph).mkdir()
    site.write("blocker", "a regular file\n")
    out = site.root / "report.json"
    run = cli(capsys, *_check(site, "--format", "json", "-o", out, "--graph", site.root / graph))
    assert_rejected(run, Path(graph).name)
    assert_no_output(out)
    assert not (site.root / "graph.xyz").exists()
    assert _leftovers(site.root) == []


@pytest.mark.parametrize("target", ["taken", "blocker/report.json"])
def test_check_bad_report_target_refused_before_work(site: Site, capsys: Cap,  # noqa: F811
                                                     target: str) -> None:
    (site.root / "taken").mkdir()
    site.write("blocker", "a regular file\n")
    graph = site.root / "g.dot"
    run = cli(capsys, *_check(site, "-o", site.root / target, "--graph", graph))
    assert_rejected(run, Path(target).name)
    assert not graph.exists()
    assert _leftovers(site.root) == []


def test_check_graphviz_failure_leaves_no_half_set(site: Site, capsys: Cap,  # noqa: F811
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(dot_text: str, fmt: str) -> bytes:
        raise SegcheckError("graphviz 'dot' failed: simulated")

    monkeypatch.setattr(graph_mod, "render", broken)
    out, graph = site.root / "report.json", site.root / "g.svg"
    run = cli(capsys, *_check(site, "--format", "json", "-o", out, "--graph", graph))
    assert_rejected(run, "g.svg", "simulated")
    assert_no_output(out)
    assert_no_output(graph)
    assert not graph.with_suffix(".dot").exists()


def test_check_graphviz_missing_leaves_no_half_set(site: Site, capsys: Cap,  # noqa: F811
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph_mod.shutil, "which", lambda name: None)
    out, graph = site.root / "report.json", site.root / "g.png"
    run = cli(capsys, *_check(site, "-o", out, "--graph", graph))
    assert_rejected(run, "g.png", "graphviz")
    assert_no_output(out)
    assert_no_output(graph)


def test_check_report_and_graph_both_written(site: Site, capsys: Cap) -> None:  # noqa: F811
    out, graph = site.root / "out" / "report.json", site.root / "out" / "g.dot"
    run = cli(capsys, *_check(site, "--format", "json", "-o", out, "--graph", graph))
    assert_clean(run)
    assert run.rc in (0, 1)
    assert json.loads(out.read_text())["complete"] is True
    # the same bytes as `segcheck graph` draws for these inputs
    alone = site.root / "alone.dot"
    assert cli(capsys, "graph", "--policy", site.policy, "--topology", site.topology,
               "--today", "2026-11-25", "-o", alone).rc == 0
    assert graph.read_text() == alone.read_text()
    assert "digraph segcheck {" in graph.read_text()
    assert _leftovers(out.parent) == []


# --- check: lint errors are bad input, lint warnings are diagnostics ------------------------

def test_check_refuses_lint_errors(site: Site, capsys: Cap) -> None:  # noqa: F811
    topo = site.mutate(site.topology, "topologies/dup.yaml", "id: fw-ot", "id: fw-it")
    out = site.root / "report.json"
    run = cli(capsys, "check", "--policy", site.policy, "--topology", topo, "-o", out)
    assert_rejected(run, topo, "fw-it", "lint.duplicate-id")
    dup_line = [n for n, t in enumerate(topo.read_text().splitlines(), 1) if "id: fw-it" in t][1]
    assert re.search(rf"dup\.yaml:{dup_line}:\d+: duplicate device id 'fw-it'", run.err), run.err
    assert_no_output(out)
    # the other commands built on the same site loader refuse it too
    assert_rejected(cli(capsys, "diff", "--policy", site.policy, "--topology", topo,
                        "--base-topology", site.topology), "dup.yaml")
    assert_rejected(cli(capsys, "explain", "--policy", site.policy, "--topology", topo,
                        "--src", "10.10.40.5", "--dst", "10.30.0.20", "--dport", "443"),
                    "dup.yaml")


def test_check_keeps_lint_warnings_as_diagnostics(site: Site, capsys: Cap) -> None:  # noqa: F811
    out = site.root / "report.json"
    run = cli(capsys, *_check(site, "--format", "json", "-o", out))
    assert_clean(run)
    doc = json.loads(out.read_text())
    lint = [d for d in doc["diagnostics"] if d["code"].startswith("lint.")]
    # validate on this policy: 6 warnings (asset outside zone, 3 conduit SL, 2 exception)
    assert {d["code"] for d in lint} == {"lint.asset-outside-zone",
                                         "lint.conduit-sl-below-zone",
                                         "lint.exception-expired", "lint.exception-too-long"}
    assert len(lint) == 6
    assert all(d["level"] == "warning" for d in lint)
    assert doc["complete"] is True


# --- check --strict on an incomplete analysis -------------------------------------------------

def test_check_strict_incomplete_reports_lines(site: Site, capsys: Cap) -> None:  # noqa: F811
    site.mutate(site.fw_it, "topologies/riverbend/fw-it.rules",
                "-A FORWARD -m conntrack --ctstate INVALID -j DROP",
                "-A FORWARD -m frobmatch --frob 1 -j DROP")
    out = site.root / "report.json"
    run = cli(capsys, *_check(site, "--strict", "--format", "json", "-o", out))
    assert_rejected(run, "fw-it.rules", line=line_of(site.fw_it, "frobmatch"))
    assert "frobmatch" in run.err
    assert "INCOMPLETE" in run.err
    assert f"written to {out}" in run.err
    doc = json.loads(out.read_text())  # the decision: the report documents the result
    assert doc["complete"] is False
    assert any("frobmatch" in (d["text"] or "") for d in doc["diagnostics"])
    # without --strict: same report, exit 0/1, no per-line listing
    run = cli(capsys, *_check(site, "--format", "json", "-o", out))
    assert run.rc in (0, 1)
    assert "frobmatch" not in run.err
    assert "INCOMPLETE" in run.err


def test_check_strict_caps_the_listing(site: Site, capsys: Cap) -> None:  # noqa: F811
    bad = "".join(f"-A FORWARD -m frobmatch --frob {k} -j DROP\n" for k in range(25))
    site.mutate(site.fw_it, "topologies/riverbend/fw-it.rules",
                "-A FORWARD -m conntrack --ctstate INVALID -j DROP\n", bad)
    run = cli(capsys, *_check(site, "--strict"))
    assert run.rc == 2
    listed = [ln for ln in run.err.splitlines() if "fw-it.rules:" in ln]
    assert len(listed) == 20, run.err
    assert "and 5 more" in run.err
    assert "written to stdout" in run.err
    assert run.out.strip()  # the text report went to stdout


def test_check_help_documents_strict() -> None:
    from click.testing import CliRunner

    from segcheck.cli import cli as group

    text = CliRunner().invoke(group, ["check", "--help"]).output
    assert "--strict" in text
    assert "still written" in " ".join(text.split())


# --- diff --base ---------------------------------------------------------------------------------

@pytest.mark.parametrize("rev", ["--output={target}", "-p", "--end-of-options"])
def test_diff_base_is_never_a_git_option(repo_site: Site, capsys: Cap,  # noqa: F811
                                         rev: str) -> None:
    target = repo_site.root / "pwn"
    (repo_site.root / "pwn:policies").mkdir()
    out = repo_site.root / "diff.txt"
    run = cli(capsys, "diff", "--policy", repo_site.policy, "--topology", repo_site.topology,
              f"--base={rev.format(target=target)}", "-o", out)
    assert_rejected(run, "unknown revision")
    assert not (repo_site.root / "pwn:policies" / "riverbend.yaml").exists()
    assert_no_output(out)


def test_diff_base_branch_name_still_works(repo_site: Site, capsys: Cap) -> None:  # noqa: F811
    git(repo_site.root, "branch", "baseline")
    run = cli(capsys, "diff", "--policy", repo_site.policy, "--topology", repo_site.topology,
              "--base", "baseline", "--format", "json")
    assert_clean(run)
    assert run.rc == 0
    assert json.loads(run.out)["introduced"] == []


def test_diff_base_policy_outside_repo(repo_site: Site, capsys: Cap,  # noqa: F811
                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "riverbend.yaml"
    outside.write_text(repo_site.policy.read_text())
    out = repo_site.root / "diff.txt"
    run = cli(capsys, "diff", "--policy", outside, "--topology", repo_site.topology,
              "--base", "HEAD", "-o", out)
    assert_rejected(run, outside, "not inside the git repository")
    assert_no_output(out)


def test_diff_base_topology_broken_at_rev(repo_site: Site, capsys: Cap) -> None:  # noqa: F811
    good = repo_site.topology.read_text()
    repo_site.topology.write_text(good.replace("devices:\n", "devices: [\n", 1))
    git(repo_site.root, "commit", "-q", "-am", "broken")
    repo_site.topology.write_text(good)
    out = repo_site.root / "diff.txt"
    run = cli(capsys, "diff", "--policy", repo_site.policy, "--topology", repo_site.topology,
              "--base", "HEAD", "-o", out)
    assert_rejected(run)
    assert re.search(r"^HEAD:topologies/riverbend\.yaml:\d+(:\d+)?: ", run.err, re.M), run.err
    assert "segcheck-base-" not in run.err
    assert_no_output(out)


def test_diff_base_bad_export_named_at_rev(repo_site: Site, capsys: Cap) -> None:  # noqa: F811
    good = repo_site.fw_it.read_text()
    repo_site.fw_it.write_text("garbage\n")
    git(repo_site.root, "commit", "-q", "-am", "broken export")
    repo_site.fw_it.write_text(good)
    run = cli(capsys, "diff", "--policy", repo_site.policy, "--topology", repo_site.topology,
              "--base", "HEAD")
    assert_rejected(run)
    assert re.search(r"^HEAD:topologies/riverbend/fw-it\.rules:1(:\d+)?: ", run.err, re.M), \
        run.err
    assert "segcheck-base-" not in run.err


def test_diff_base_lint_error_named_at_rev(repo_site: Site, capsys: Cap) -> None:  # noqa: F811
    good = repo_site.topology.read_text()
    repo_site.topology.write_text(good.replace("id: fw-ot", "id: fw-it", 1))
    git(repo_site.root, "commit", "-q", "-am", "duplicate id")
    repo_site.topology.write_text(good)
    run = cli(capsys, "diff", "--policy", repo_site.policy, "--topology", repo_site.topology,
              "--base", "HEAD")
    assert_rejected(run, "lint.duplicate-id")
    assert re.search(r"^HEAD:topologies/riverbend\.yaml:\d+:\d+: duplicate device id", run.err,
                     re.M), run.err
    assert "segcheck-base-" not in run.err


def test_diff_bad_output_refused_before_git(repo_site: Site, capsys: Cap) -> None:  # noqa: F811
    (repo_site.root / "taken.txt").mkdir()
    run = cli(capsys, "diff", "--policy", repo_site.policy, "--topology", repo_site.topology,
              "--base", "HEAD", "-o", repo_site.root / "taken.txt")
    assert_rejected(run, "taken.txt", "directory")


def test_diff_incomplete_base_makes_diff_incomplete(repo_site: Site,  # noqa: F811
                                                    capsys: Cap) -> None:
    good = repo_site.fw_it.read_text()
    repo_site.fw_it.write_text(good.replace(
        "-A FORWARD -m conntrack --ctstate INVALID -j DROP",
        "-A FORWARD -m frobmatch --frob 1 -j DROP", 1))
    git(repo_site.root, "commit", "-q", "-am", "unknown match at the base")
    repo_site.fw_it.write_text(good)
    run = cli(capsys, "diff", "--policy", repo_site.policy, "--topology", repo_site.topology,
              "--base", "HEAD", "--format", "json")
    assert_clean(run)
    assert json.loads(run.out)["complete"] is False
    assert "base analysis INCOMPLETE" in run.err
    assert "current analysis" not in run.err
    # and the same files as base and current: complete
    run = cli(capsys, "diff", "--policy", repo_site.policy, "--topology", repo_site.topology,
              "--base-topology", repo_site.topology, "--format", "json")
    assert json.loads(run.out)["complete"] is True
    assert "INCOMPLETE" not in run.err
