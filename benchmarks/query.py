"""Benchmark: ``segcheck query`` on a 10k-rule iptables chain vs the naive first-match loop.

Generates an ``iptables-save`` file whose FORWARD chain has N rules (objects from pools like
real rule bases: mixed prefix lengths, host and subnet objects, tcp/udp ports and ranges,
multiport, some ICMP, ACCEPT/DROP/REJECT mix, policy DROP) and a JSONL file of random
packets (half aimed at rule objects so rules really decide). Then, in one run:

- ``query`` library path: read the JSONL, answer with ``Evaluator`` (``BatchDecider`` on the
  specialized filter), in packets per CPU-second (the machine is shared, so CPU time is the
  fair clock);
- ``segcheck query`` CLI end to end (parse + answer + write JSONL), wall clock;
- peer 1: the naive reference loop ``Filter.decide`` on a sample, in packets/s;
- peer 2: the engine's ``Classifier`` (build + ``decide_many`` on all packets), packets/s
  (skip with ``--no-classifier``: it is the slow one on large filters).

All paths answer the same packets; disagreements are reported (must be 0). Not a test:
numbers depend on the machine and its load. Last line: the ratios.

    python benchmarks/query.py [--rules 10000] [--packets 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from segcheck.commands.query import Evaluator, read_queries  # noqa: E402
from segcheck.parsers import iptables  # noqa: E402


def ruleset(rng: random.Random, n: int) -> tuple[str, list[str], list[str]]:
    srcs = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/{rng.choice([16, 20, 24, 24, 28])}"
            for _ in range(300)] + [f"10.{rng.randrange(256)}.{rng.randrange(256)}."
                                    f"{rng.randrange(1, 255)}" for _ in range(300)]
    dsts = [f"172.{rng.randrange(16, 32)}.{rng.randrange(256)}.0/{rng.choice([22, 24, 26])}"
            for _ in range(300)] + [f"172.{rng.randrange(16, 32)}.{rng.randrange(256)}."
                                    f"{rng.randrange(1, 255)}" for _ in range(300)]
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"]
    for i in range(n):
        parts = ["-A FORWARD"]
        if rng.random() < 0.8:
            parts.append(f"-s {rng.choice(srcs)}")
        parts.append(f"-d {rng.choice(dsts)}")
        if rng.random() < 0.2:
            parts.append(f"-i eth{rng.randrange(4)}")
        r = rng.random()
        if r < 0.85:
            proto = rng.choice(["tcp", "tcp", "udp"])
            parts.append(f"-p {proto}")
            q = rng.random()
            if q < 0.6:
                parts.append(f"--dport {rng.choice([22, 80, 443, 502, 3389, 20000, 44818])}")
            elif q < 0.8:
                lo = rng.randrange(1024, 60000)
                parts.append(f"--dport {lo}:{lo + rng.randrange(1, 2000)}")
            else:
                ports = ",".join(str(rng.randrange(1, 65536)) for _ in range(rng.randrange(2, 6)))
                parts.append(f"-m multiport --dports {ports}")
        elif r < 0.92:
            parts.append("-p icmp --icmp-type 8")
        parts.append(f'-m comment --comment "r{i}"')
        parts.append(rng.choice(["-j ACCEPT"] * 6 + ["-j DROP"] * 3 + ["-j REJECT"]))
        lines.append(" ".join(parts))
    lines.append("COMMIT")
    return "\n".join(lines) + "\n", srcs, dsts


def packets(rng: random.Random, n: int, srcs: list[str], dsts: list[str]) -> str:
    def addr(objs: list[str], first: str) -> str:
        if rng.random() < 0.5:
            base = rng.choice(objs).split("/")[0].rsplit(".", 1)[0]
            return f"{base}.{rng.randrange(1, 255)}"
        return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"

    out = []
    for _ in range(n):
        p: dict[str, object] = {"src": addr(srcs, "10"), "dst": addr(dsts, "172"),
                                "in_iface": "eth1", "out_iface": "eth9"}
        r = rng.random()
        if r < 0.9:
            p.update(proto=rng.choice(["tcp", "udp"]), sport=rng.randrange(1024, 65536),
                     dport=rng.choice([22, 80, 443, 502, 3389, rng.randrange(1, 65536)]))
        else:
            p.update(proto="icmp", icmp_type=rng.choice([0, 8]), icmp_code=0)
        out.append(json.dumps(p))
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", type=int, default=10_000)
    ap.add_argument("--packets", type=int, default=100_000)
    ap.add_argument("--peer-sample", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-classifier", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    text, srcs, dsts = ruleset(rng, args.rules)
    jsonl = packets(rng, args.packets, srcs, dsts)
    with tempfile.TemporaryDirectory() as tmp:
        cfg, pk = Path(tmp, "fw.rules"), Path(tmp, "packets.jsonl")
        cfg.write_text(text)
        pk.write_text(jsonl)

        t0 = time.perf_counter()
        device = iptables.parse(text, str(cfg))
        t_parse = time.perf_counter() - t0
        t0 = time.process_time()
        queries = read_queries(jsonl.splitlines(), str(pk), device)
        t_read = time.process_time() - t0
        t0 = time.process_time()
        answers = Evaluator(device).answers(queries)
        t_answer = time.process_time() - t0
        fast_pps = len(queries) / (t_read + t_answer)

        sample = queries[: args.peer_sample]
        flt = device.filters["FORWARD"]
        t0 = time.process_time()
        naive = [flt.decide(q.packet, q.state, q.ingress, q.egress) for q in sample]
        t_naive = time.process_time() - t0
        naive_pps = len(sample) / t_naive
        wrong = sum(
            (a.value, None if r is None else r.span.line)
            != (ans["verdict"], None if ans["rule"] is None else ans["rule"]["line"])  # type: ignore[index]
            for (a, r), ans in zip(naive, answers, strict=False)
        )

        cls_pps = float("nan")
        cls_wrong = -1
        if not args.no_classifier:
            from segcheck.engine.filters import Classifier

            sf = flt.specialize(queries[0].ingress, queries[0].egress)
            t0 = time.process_time()
            got = Classifier(sf).decide_many([q.packet for q in queries])
            cls_pps = len(queries) / (time.process_time() - t0)
            cls_wrong = sum(
                (a.value, None if r is None else sf.rules[r].span.line)
                != (ans["verdict"], None if ans["rule"] is None else ans["rule"]["line"])  # type: ignore[index]
                for (a, r), ans in zip(got, answers, strict=True)
            )

        env = dict(os.environ, PYTHONPATH=str(ROOT))
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "segcheck.cli", "query", "--config", str(cfg),
                              "--packets", str(pk)], capture_output=True, text=True, env=env,
                             check=True).stdout
        t_cli = time.perf_counter() - t0
    permits = sum(a["verdict"] == "permit" for a in answers)
    answer_pps = len(queries) / t_answer
    print(f"ruleset: {args.rules} FORWARD rules ({len(flt.rules)} after parsing), "
          f"parse {t_parse:.2f} s")
    print(f"packets: {len(queries)} ({permits} permitted, "
          f"{sum(a['rule'] is not None for a in answers)} decided by a rule)")
    print(f"query in-process (read JSONL + answer; CPU time): read {t_read:.2f} s + answer "
          f"{t_answer:.2f} s = {fast_pps:,.0f} packets/s")
    print(f"query CLI end to end (start-up, parse, read, answer, write; wall clock): "
          f"{t_cli:.2f} s for {len(out.splitlines())} answers = "
          f"{len(queries) / t_cli:,.0f} packets/s")
    print(f"answering only (CPU time): BatchDecider {answer_pps:,.0f} packets/s | engine "
          f"Classifier (build + decide_many) {cls_pps:,.0f} packets/s, disagreements "
          f"{cls_wrong} | naive Filter.decide ({len(sample)} packets) {naive_pps:,.0f} "
          f"packets/s, disagreements {wrong}")
    print(f"ratios: query {fast_pps:,.0f} packets/s (target >= 50,000); answering: "
          f"{answer_pps / cls_pps:,.1f}x the Classifier, {answer_pps / naive_pps:,.0f}x the "
          f"naive loop")


if __name__ == "__main__":
    main()
