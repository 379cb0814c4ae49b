"""`segcheck flows PCAP... [--policy P] [--format text|json|csv] [-o FILE]`.

Observed flows (bidirectional conversations, ``src`` = initiator) with their application,
ICS operations and frame numbers; with ``--policy`` each end's zone (``Policy.resolve``).
JSON is a list of DESIGN.md §4 flow objects. Undecodable frames are reported per capture on
stderr (text) — never silently dropped. A progress bar goes to stderr only on a TTY.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any

import click

from segcheck.analysis.observed import flow_rows
from segcheck.capture.flows import CaptureSummary, FlowsResult, extract_flows
from segcheck.errors import UsageError
from segcheck.outputs import write_output

CSV_COLUMNS = ("src", "dst", "proto", "sport", "dport", "packets", "bytes", "first_seen",
               "last_seen", "app", "operations", "src_zone", "dst_zone", "frames",
               "initiator_by", "capture")


@click.command()
@click.argument("pcaps", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False),
              help="Zone/conduit policy: adds src_zone/dst_zone to each flow.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to FILE instead of stdout (atomically).")
@click.option("--workers", type=int, default=None,
              help="Worker processes (default: all cores; several files or a large pcap).")
def command(pcaps: tuple[str, ...], policy_path: str | None, fmt: str, output: str | None,
            workers: int | None) -> None:
    """Observed flows in packet captures (pcap or pcapng, whatever the extension)."""
    policy = None
    if policy_path:
        from segcheck.policy import load_policy

        policy = load_policy(policy_path)
    result = _extract(list(pcaps), workers)
    rows = flow_rows(policy, result.flows)
    rows.sort(key=lambda r: (r["first_seen"], r["src"], r["dst"]))
    if fmt == "json":
        text = json.dumps(rows, indent=2) + "\n"
    elif fmt == "csv":
        text = _csv(rows)
    else:
        text = _text(rows, result.captures)
    try:
        write_output(text, output)
    except OSError as exc:  # -o into a file's "directory", an unwritable place...
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
    for cap in result.captures:
        if cap.undecodable:
            click.echo(f"segcheck: {cap.path}: {sum(n for _, n in cap.undecodable)} frames not "
                       f"decoded: " + ", ".join(f"{r} ({n})" for r, n in cap.undecodable),
                       err=True)


def _extract(paths: list[str], workers: int | None) -> FlowsResult:
    if not sys.stderr.isatty():
        return extract_flows(paths, workers=workers)
    with click.progressbar(length=1000, label="reading captures", file=sys.stderr) as bar:
        seen = [0]

        def progress(done: int, total: int) -> None:
            pos = int(1000 * done / max(total, 1))
            if pos > seen[0]:
                bar.update(pos - seen[0])
                seen[0] = pos

        return extract_flows(paths, workers=workers, progress=progress)


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow([
            ";".join(f"{k}={v}" for k, v in r["operations"].items()) if c == "operations"
            else " ".join(map(str, r["frames"])) if c == "frames"
            else "" if r.get(c) is None else r[c]
            for c in CSV_COLUMNS])
    return buf.getvalue()


def _text(rows: list[dict[str, Any]], caps: tuple[CaptureSummary, ...]) -> str:
    out = []
    for cap in caps:
        extra = "".join(f", {n} {r}" for r, n in cap.non_ip)
        out.append(f"# {cap.path} ({cap.format}): {cap.packets} frames, {cap.flows} flows"
                   f"{extra}; undecodable {sum(n for _, n in cap.undecodable)}")
    for r in rows:
        ends = f"{r['src']}:{r['sport']} -> {r['dst']}:{r['dport']}"
        if r["src_zone"] or r["dst_zone"]:
            ends += f"  [{r['src_zone'] or '?'} -> {r['dst_zone'] or '?'}]"
        ops = ", ".join(f"{k} {v}" for k, v in r["operations"].items())
        frames = ",".join(map(str, r["frames"][:8]))
        out.append(f"{r['proto']:5s} {ends}  {r['app'] or '-'}  {r['packets']} pkts "
                   f"{r['bytes']} B  init:{r['initiator_by']}"
                   + (f"  ops: {ops}" if ops else "") + f"  frames {frames}")
    return "\n".join(out) + "\n"
