"""`segcheck diff` — what a change does to the segmentation.

Compares the current site (``--policy``/``--topology``) with a base: either the same files at
a git revision (``--base REV``: the policy, the topology and every export the *old* topology
names are materialised with ``git show REV:path`` into a temporary directory) or another
topology file (``--base-topology``, same policy). Reports, per zone pair, the space added and
removed (with witnesses) and the findings introduced and resolved (by ``Finding.key``).

Exit codes: 1 when the change introduces an active finding at or above ``--fail-on``
(default ``high``), 0 otherwise, 2 bad input.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import click
import yaml

from segcheck.analysis.check import Analysis, run_check
from segcheck.analysis.result import Finding
from segcheck.commands.check import FAIL_ON, parse_today
from segcheck.engine.diff import PairDiff, matrix_diff
from segcheck.errors import UsageError
from segcheck.outputs import write_output


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True).stdout
    except FileNotFoundError as exc:
        raise UsageError("--base needs git on PATH") from exc
    except subprocess.CalledProcessError as exc:
        raise UsageError(f"git {' '.join(args)}: {exc.stderr.decode(errors='replace').strip()}"
                         ) from exc


def materialise(rev: str, policy: Path, topology: Path, into: Path) -> tuple[Path, Path]:
    """Write the policy, topology and the old topology's exports at ``rev`` below ``into``."""
    root = Path(_git(["rev-parse", "--show-toplevel"], topology.resolve().parent)
                .decode().strip())

    def show(path: Path) -> Path:
        rel = path.resolve().relative_to(root)
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_git(["show", f"{rev}:{rel.as_posix()}"], root))
        return target

    old_policy, old_topo = show(policy), show(topology)
    doc = yaml.safe_load(old_topo.read_text()) or {}
    for dev in doc.get("devices") or []:
        cfgs = dev.get("config") if isinstance(dev, dict) else None
        for cfg in [cfgs] if isinstance(cfgs, str) else (cfgs or []):
            show(topology.resolve().parent / cfg)
    return old_policy, old_topo


def _findings_delta(old: Analysis, new: Analysis) -> tuple[list[Finding], list[Finding]]:
    ok = {f.key for f in old.result.active_findings()}
    nk = {f.key for f in new.result.active_findings()}
    introduced = [f for f in new.result.active_findings() if f.key not in ok]
    resolved = [f for f in old.result.active_findings() if f.key not in nk]
    return introduced, resolved


def render_text(pairs: list[PairDiff], introduced: list[Finding], resolved: list[Finding]) -> str:
    out = ["Reachability changes:"]
    for p in pairs:
        if not p.added.is_empty():
            out.append(f"  + {p.src} -> {p.dst}: {p.added.summary()}  (e.g. {p.added.sample()})")
        if not p.removed.is_empty():
            out.append(f"  - {p.src} -> {p.dst}: {p.removed.summary()}  "
                       f"(e.g. {p.removed.sample()})")
    if not pairs:
        out.append("  (none)")
    out.append("Findings introduced:")
    out.extend(f"  + [{f.severity.value.upper()}] {f.code} {f.src_zone} -> {f.dst_zone}: "
               f"{f.message}" for f in introduced)
    if not introduced:
        out.append("  (none)")
    out.append("Findings resolved:")
    out.extend(f"  - [{f.severity.value.upper()}] {f.code} {f.src_zone} -> {f.dst_zone}: "
               f"{f.message}" for f in resolved)
    if not resolved:
        out.append("  (none)")
    return "\n".join(out) + "\n"


def render_json(pairs: list[PairDiff], introduced: list[Finding], resolved: list[Finding],
                complete: bool) -> str:
    doc: dict[str, Any] = {
        "complete": complete,
        "pairs": [p.to_json() for p in pairs],
        "introduced": [f.to_json() for f in introduced],
        "resolved": [f.to_json() for f in resolved],
    }
    return json.dumps(doc, indent=2) + "\n"


@click.command()
@click.option("--policy", required=True, type=click.Path(dir_okay=False))
@click.option("--topology", required=True, type=click.Path(dir_okay=False))
@click.option("--base", "base", default=None, help="Git revision of the baseline.")
@click.option("--base-topology", "base_topology", default=None,
              type=click.Path(dir_okay=False), help="Baseline topology file (same policy).")
@click.option("--format", "fmt", default="text", type=click.Choice(["text", "json"]))
@click.option("-o", "--output", default=None)
@click.option("--fail-on", "fail_on", default="high", type=click.Choice(FAIL_ON))
@click.option("--today", default=None, hidden=True)
def command(policy: str, topology: str, base: str | None, base_topology: str | None,
            fmt: str, output: str | None, fail_on: str, today: str | None) -> int:
    """Compare the site with a baseline: reachability added/removed, findings in/out."""
    if (base is None) == (base_topology is None):
        raise UsageError("give exactly one of --base GIT_REV or --base-topology FILE")
    day: date | None = parse_today(today)
    new = run_check(policy, topology, today=day)
    if base is not None:
        with tempfile.TemporaryDirectory(prefix="segcheck-base-") as tmp:
            old_p, old_t = materialise(base, Path(policy), Path(topology), Path(tmp))
            old = run_check(old_p, old_t, today=day)
    else:
        assert base_topology is not None
        old = run_check(policy, base_topology, today=day)
    pairs = matrix_diff(old.reach, new.reach)
    introduced, resolved = _findings_delta(old, new)
    text = (render_json(pairs, introduced, resolved, new.result.complete) if fmt == "json"
            else render_text(pairs, introduced, resolved))
    write_output(text, output)
    return 1 if any(f.severity.at_least(fail_on) for f in introduced) else 0
