"""`segcheck diff` — what a change does to the segmentation.

Compares the current site (``--policy``/``--topology``) with a base: either the same files at
a git revision (``--base REV``: the policy, the topology and every export the *old* topology
names are materialised with ``git show REV:path`` into a temporary directory) or another
topology file (``--base-topology``, same policy). Reports, per zone pair, the space added and
removed (with witnesses) and the findings introduced and resolved (by ``Finding.key``).

Git safety: ``--base`` is never handed to git as an option. It must not start with ``-``
and must name a commit (``git rev-parse --verify --end-of-options REV^{commit}``); the files
are then read with ``git show --end-of-options SHA:path`` from that commit id. The policy,
the topology and the old topology's exports must lie inside the topology's repository.

Messages about the base name ``REV:repo/relative/path:line``, never the temporary copy.
The diff is ``complete`` only when both analyses are; stderr says which side is not.

Exit codes: 1 when the change introduces an active finding at or above ``--fail-on``
(default ``high``), 0 otherwise, 2 bad input.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import click
import yaml

from segcheck.analysis.check import Analysis, run_check
from segcheck.analysis.result import Finding
from segcheck.commands.check import FAIL_ON, check_target, parse_today
from segcheck.engine.diff import PairDiff, matrix_diff
from segcheck.errors import SegcheckError, UsageError
from segcheck.outputs import write_output


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True).stdout
    except FileNotFoundError as exc:
        raise UsageError("--base needs git on PATH") from exc
    except subprocess.CalledProcessError as exc:
        raise UsageError(f"git {' '.join(args)}: {exc.stderr.decode(errors='replace').strip()}"
                         ) from exc


def verify_rev(rev: str, root: Path) -> str:
    """The commit id ``rev`` names in the repository at ``root`` (``UsageError`` otherwise).
    A revision starting with ``-`` is refused outright: git would read it as an option."""
    if not rev or rev.startswith("-"):
        raise UsageError(f"--base {rev!r}: unknown revision (a revision cannot start with '-')")
    try:
        sha = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
                   root).decode().strip()
    except UsageError as exc:
        raise UsageError(f"--base {rev!r}: unknown revision (no such commit in the git "
                         f"repository at {root})") from exc
    return sha


def _old_configs(text: bytes) -> list[str]:
    """Export paths (as written) of the topology ``text`` at the base revision. Text that is
    not a YAML mapping gives none: loading the old topology then reports it at its line."""
    try:
        doc = yaml.safe_load(text.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        return []
    if not isinstance(doc, dict) or not isinstance(doc.get("devices"), list):
        return []
    out: list[str] = []
    for dev in doc["devices"]:
        cfgs = dev.get("config") if isinstance(dev, dict) else None
        out.extend(c for c in ([cfgs] if isinstance(cfgs, str) else cfgs or [])
                   if isinstance(c, str))
    return out


def materialise(rev: str, policy: Path, topology: Path, into: Path) -> tuple[Path, Path]:
    """Write the policy, topology and the old topology's exports at ``rev`` below ``into``
    (at their repository-relative paths)."""
    root = Path(_git(["rev-parse", "--show-toplevel"], topology.resolve().parent)
                .decode().strip()).resolve()
    sha = verify_rev(rev, root)

    def show(path: Path, what: str) -> Path:
        try:
            rel = path.resolve().relative_to(root)
        except ValueError:
            raise UsageError(f"--base {rev}: {what} {path} is not inside the git repository at "
                             f"{root} (the topology's); --base compares files tracked there"
                             ) from None
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_bytes(_git(["show", "--end-of-options", f"{sha}:{rel.as_posix()}"],
                                    root))
        except UsageError as exc:
            raise UsageError(f"{rev}:{rel.as_posix()}: cannot read the {what} at revision "
                             f"{rev}: {exc.message.splitlines()[-1]}") from exc
        return target

    old_policy = show(policy, "policy")
    old_topo = show(topology, "topology")
    for cfg in _old_configs(old_topo.read_bytes()):
        show(topology.resolve().parent / cfg, "export")
    return old_policy, old_topo


@contextmanager
def base_names(rev: str, into: Path) -> Iterator[None]:
    """Re-raise errors about files below ``into`` as ``REV:relative/path`` (the temporary
    copy is gone by the time the message is read, and never what the user wrote)."""
    prefixes = sorted({f"{into}/", f"{into.resolve()}/"}, key=len, reverse=True)

    def fix(text: str) -> str:
        for prefix in prefixes:
            text = text.replace(prefix, f"{rev}:")
        return text

    try:
        yield
    except SegcheckError as exc:
        exc.message = fix(exc.message)
        exc.args = (exc.message, *exc.args[1:])
        if exc.span is not None:
            exc.span = replace(exc.span, path=fix(exc.span.path))
        raise


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
    check_target(output, "-o")
    day: date | None = parse_today(today)
    new = run_check(policy, topology, today=day)
    if base is not None:
        with tempfile.TemporaryDirectory(prefix="segcheck-base-") as tmp:
            old_p, old_t = materialise(base, Path(policy), Path(topology), Path(tmp))
            with base_names(base, Path(tmp)):
                old = run_check(old_p, old_t, today=day)
    else:
        assert base_topology is not None
        old = run_check(policy, base_topology, today=day)
    pairs = matrix_diff(old.reach, new.reach)
    introduced, resolved = _findings_delta(old, new)
    complete = new.result.complete and old.result.complete  # a diff is only as good as both
    text = (render_json(pairs, introduced, resolved, complete) if fmt == "json"
            else render_text(pairs, introduced, resolved))
    write_output(text, output)
    for side, analysis in (("current", new), ("base", old)):
        if not analysis.result.complete:
            click.echo(f"segcheck: WARNING: {side} analysis INCOMPLETE — some configuration "
                       "lines were not understood (run `segcheck check` on it for the lines)",
                       err=True)
    return 1 if any(f.severity.at_least(fail_on) for f in introduced) else 0
