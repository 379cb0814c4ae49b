"""Benchmark: ``segcheck check`` on a generated site of 10 devices x 10k rules x 30 zones.

Target (DESIGN.md §7): the whole check (parse, reach matrix, findings, pivots, report) in
<= 10 s on one core. The site is generated on the fly (seeded): 30 zones (/16 each, kinds
it/dmz/ot cycling), 10 iptables firewalls chained through shared zones (device d joins zones
3d, 3d+1, 3d+2 and 3d+3), each with N FORWARD rules between its interfaces (random /24 or
/32 sources and destinations inside the attached zones, tcp/udp single ports or small
ranges, 2% wider than max_port_span, 10% deny), a handful of conduits and every global
rule switched on.

Peer, measured in the same run: *naive per-packet sampling* — the reference first-match
(``Filter.decide``) along each zone pair's device path for randomly sampled packets. We time
it on a sample and report how long 1,000 packets per ordered zone pair would take, next to
the exact check (which covers every packet, not a sample).

    .venv/bin/python benchmarks/site.py [--rules 10000] [--seed 1] [--formats json,sarif,...]

The check is timed as ``segcheck check`` runs it (``run_check`` then the JSON renderer), with
a wall/CPU breakdown per phase (parse, reach matrix, findings, registers, report) taken by
wrapping the phase functions; the machine is shared, so the load average is printed too.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from segcheck.analysis.check import fewer_collections, run_check
from segcheck.analysis.site import load_site
from segcheck.engine import reach
from segcheck.gcpause import collector_paused
from segcheck.model.packet import Packet
from segcheck.report import registry

NZONES, NDEV = 30, 10
KINDS = ("it", "dmz", "ot")


def zone_net(k: int) -> str:
    return f"10.{k}.0.0/16"


def device_zones(d: int) -> list[int]:
    return [3 * d, 3 * d + 1, 3 * d + 2] + ([3 * d + 3] if 3 * d + 3 < NZONES else [])


def gen_rules(rng: random.Random, d: int, n: int) -> str:
    zs = device_zones(d)
    out = ["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]",
           "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"]
    for _ in range(n):
        i, e = rng.sample(range(len(zs)), 2)
        # sources/destinations: in the attached zone, or (for the chain) anywhere in 10/8
        def addr(z: int) -> str:
            if rng.random() < 0.5:
                return f"10.{z}.{rng.randrange(256)}.0/24"
            return f"10.{z}.{rng.randrange(256)}.{rng.randrange(1, 255)}/32"
        src_zone = zs[i] if rng.random() < 0.8 else rng.randrange(NZONES)
        dst_zone = zs[e] if rng.random() < 0.8 else rng.randrange(NZONES)
        proto = rng.choice(("tcp", "tcp", "udp"))
        port = rng.randrange(1, 65000)
        r = rng.random()
        dport = (str(port) if r < 0.8 else f"{port}:{port + rng.randrange(1, 8)}" if r < 0.98
                 else f"{port}:{port + rng.randrange(17, 400)}")  # 2% broader than 16 ports
        action = "DROP" if rng.random() < 0.1 else "ACCEPT"
        out.append(f"-A FORWARD -s {addr(src_zone)} -d {addr(dst_zone)} -i eth{i} -o eth{e} "
                   f"-p {proto} -m {proto} --dport {dport} -j {action}")
    out.append("COMMIT")
    return "\n".join(out) + "\n"


def gen_site(root: Path, nrules: int, seed: int) -> tuple[Path, Path]:
    rng = random.Random(seed)
    zones = "\n".join(
        f"  - {{id: z{k:02d}, kind: {KINDS[k % 3]}, purdue_level: {4 - k % 3}, sl_t: 1, "
        f"cidrs: [{zone_net(k)}], assets: {{h{k:02d}: {{ip: 10.{k}.0.10}}}}}}"
        for k in range(NZONES))
    conduits = "\n".join(
        f"  - {{id: C-{k}, between: [z{k:02d}, z{k + 1:02d}], justification: bench, owner: x,"
        f" flows: [{{from: z{k:02d}, to: h{k + 1:02d}, service: https}}]}}"
        for k in range(0, NZONES - 1, 3))
    (root / "policy.yaml").write_text(f"""segcheck: 1
suc: BENCH
services:
  https: {{tcp: [443]}}
zones:
{zones}
conduits:
{conduits}
global_rules:
  dmz_termination: {{from_kinds: [it, external], to_kinds: [ot]}}
  disjoint_protocols_across: [{", ".join(f"z{k:02d}" for k in range(1, NZONES, 3))}]
  no_any_in_cross_zone_rules: true
  max_port_span: 16
  internet_egress: {{deny_from_kinds: [ot, dmz]}}
  remote_access: {{terminate_on_role: remote_access_gateway, require_controls: [mfa]}}
  management_plane: {{only_from: [z00]}}
  ipv6_parity: true
""")
    devs = []
    for d in range(NDEV):
        (root / f"fw{d}.rules").write_text(gen_rules(rng, d, nrules))
        ifaces = ", ".join(f"eth{k}: z{z:02d}" for k, z in enumerate(device_zones(d)))
        devs.append(f"  - {{id: fw{d}, vendor: iptables, config: fw{d}.rules, "
                    f"interfaces: {{{ifaces}}}}}")
    (root / "topology.yaml").write_text("segcheck: 1\ndevices:\n" + "\n".join(devs) + "\n")
    return root / "policy.yaml", root / "topology.yaml"


def naive_sampling_rate(policy: Path, topology: Path, seed: int, n: int = 2000) -> float:
    """Seconds per sampled packet for the reference per-packet evaluation along the (pre-
    computed) loop-free device paths of its zone pair."""
    site = load_site(policy, topology)
    topo = site.topology
    paths: dict[tuple[str, str], list[list[tuple[str, str, str]]]] = {}

    def walk(start: str, zone: str, used_d: set[str], used_z: set[str],
             acc: list[tuple[str, str, str]]) -> None:
        for td in topo.devices:
            if td.id in used_d:
                continue
            for i, zi in td.interfaces.items():
                if zi != zone:
                    continue
                for e, ze in td.interfaces.items():
                    if e == i or ze in used_z:
                        continue
                    step = [*acc, (td.id, i, e)]
                    paths.setdefault((start, ze), []).append(step)
                    walk(start, ze, used_d | {td.id}, used_z | {ze}, step)

    for z in site.policy.zones:
        walk(z.id, z.id, set(), {z.id}, [])
    rng = random.Random(seed)
    packets = []
    for _ in range(n):
        a, b = rng.sample(range(NZONES), 2)
        packets.append(Packet(4, (10 << 24) | (a << 16) | rng.randrange(1 << 16),
                              (10 << 24) | (b << 16) | rng.randrange(1 << 16), 6,
                              40000, rng.randrange(1, 65536)))
    t = time.perf_counter()
    for p in packets:
        src, dst = site.policy.resolve(p.src_ip), site.policy.resolve(p.dst_ip)
        assert src is not None
        assert dst is not None
        for path in paths.get((src[0], dst[0]), []):
            ok = True
            for dev_id, i, e in path:
                dev = site.devices[dev_id]
                for flt in dev.filters.values():
                    if flt.name != "FORWARD":
                        continue
                    if flt.decide(p, "new", dev.context(i), dev.context(e))[0].value != "permit":
                        ok = False
                        break
                if not ok:
                    break
            if ok:
                break
    return (time.perf_counter() - t) / n


PHASES = (
    # (phase, module attribute patched for timing)
    ("reach", "segcheck.analysis.check", "compute"),
    ("findings", "segcheck.analysis.check", "pivot_findings"),
    ("findings", "segcheck.analysis.findings", "Analyzer.run"),
    ("registers", "segcheck.analysis.check", "matrix_cells"),
    ("registers", "segcheck.analysis.check", "conduit_rows"),
    ("registers", "segcheck.analysis.check", "traceability"),
)


class Clock:
    """Wall and CPU seconds per phase, accumulated by wrapping the functions of ``PHASES``
    (the code under test runs unchanged)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._undo: list[tuple[Any, str, Any]] = []

    def add(self, phase: str, wall: float, cpu: float) -> None:
        self.wall[phase] = self.wall.get(phase, 0.0) + wall
        self.cpu[phase] = self.cpu.get(phase, 0.0) + cpu

    def wrap(self, phase: str, owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def timed(*a: Any, **k: Any) -> Any:
            t, c = time.perf_counter(), time.process_time()
            try:
                return original(*a, **k)
            finally:
                self.add(phase, time.perf_counter() - t, time.process_time() - c)

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def install(self) -> None:
        import importlib

        for phase, module, attr in PHASES:
            owner: Any = importlib.import_module(module)
            *path, name = attr.split(".")
            for part in path:
                owner = getattr(owner, part)
            self.wrap(phase, owner, name)
        self.wrap("engine analyze", reach, "analyze")

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--formats", default="json",
                    help="comma-separated report formats to time after the check (json is "
                         "the one inside the check's time)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="segcheck-bench-") as tmp:
        policy, topology = gen_site(Path(tmp), args.rules, args.seed)
        load_before = os.getloadavg()
        clock = Clock()
        clock.install()
        t0, c0 = time.perf_counter(), time.process_time()
        with fewer_collections(), collector_paused():  # as commands/check.py runs it
            analysis = run_check(policy, topology)
            t1, c1 = time.perf_counter(), time.process_time()
            report = registry.render(analysis.result, "json")
        t2, c2 = time.perf_counter(), time.process_time()
        clock.uninstall()
        check_s, check_cpu = t2 - t0, c2 - c0
        res = analysis.result
        w, c = clock.wall, clock.cpu
        inner = sum(w.get(k, 0.0) for k in ("reach", "findings", "registers"))
        inner_cpu = sum(c.get(k, 0.0) for k in ("reach", "findings", "registers"))
        print(f"site: {NDEV} devices x {args.rules} rules x {NZONES} zones "
              f"(seed {args.seed}); load average before: "
              + " ".join(f"{x:.2f}" for x in load_before))
        print(f"segcheck check (parse + reach + findings + json): {check_s:.2f} s wall, "
              f"{check_cpu:.2f} s CPU [target <= 10 s] -> "
              f"{'OK' if check_s <= 10 else 'OVER TARGET'}")
        parse_s = (t1 - t0) - inner
        parse_cpu = (c1 - c0) - inner_cpu
        rows = [("parse (+ policy, lint)", parse_s, parse_cpu),
                ("reach matrix", w.get("reach", 0.0), c.get("reach", 0.0)),
                ("  of which engine analyze", w.get("engine analyze", 0.0),
                 c.get("engine analyze", 0.0)),
                ("findings (+ pivots)", w.get("findings", 0.0), c.get("findings", 0.0)),
                ("registers (matrix, conduits, traceability)", w.get("registers", 0.0),
                 c.get("registers", 0.0)),
                ("report (json)", t2 - t1, c2 - c1)]
        for label, ws, cs in rows:
            print(f"  {label:<44} {ws:6.2f} s wall {cs:6.2f} s CPU")
        print(f"  matrix cells: {len(res.matrix)}, findings: {len(res.findings)}, "
              f"json report: {len(report) // 1024} KiB")
        for fmt in [f for f in args.formats.split(",") if f and f != "json"]:
            t, c = time.perf_counter(), time.process_time()
            with fewer_collections():
                out = registry.render(res, fmt)
            print(f"  report {fmt}: {time.perf_counter() - t:.2f} s wall, "
                  f"{time.process_time() - c:.2f} s CPU, {len(out) // 1024} KiB")
        per_packet = naive_sampling_rate(policy, topology, args.seed)
        pairs = NZONES * (NZONES - 1)
        naive_s = per_packet * 1000 * pairs
        print(f"peer: naive per-packet sampling (reference first-match along paths): "
              f"{1 / per_packet:,.0f} packets/s; 1,000 samples per zone pair ({pairs} pairs) "
              f"would take {naive_s:.1f} s")
        print(f"ratio: exact check is {naive_s / check_s:.1f}x faster than sampling 1,000 "
              f"packets per pair (and covers every packet)")
        print("load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
