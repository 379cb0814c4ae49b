"""Benchmark: segcheck's packet-set engine vs a straightforward CUDD BDD (``dd.cudd``).

Generates realistic random ACLs (objects reused from pools like real rule bases: mixed
prefix lengths, host and subnet objects, port singletons/ranges/any, tcp/udp/icmp/any,
permit/deny mixes, ~10% IPv6, 20% any-source, 1% any-destination, never any-to-any except
a final deny-any) of 1k, 10k and 100k rules, and measures, each in a fresh subprocess (so
peak RSS is per engine and per size; address space capped by ``--mem-gb`` so a blow-up
fails alone instead of taking the shared machine down):

- segcheck: ``permitted`` alone; ``analyze`` (permitted + shadowed/redundant statuses, which
  the engine computes on first read: both the call and the reads are timed);
  ``Classifier`` build and ``decide_many`` on 100k random packets;
- BDD: rule BDDs, forward construction (P |= M & R; R &= ~M) with a dead-rule check per
  rule (shadow analysis), point queries ``P & cube(packet)``.

Both engines answer the same random packets; the run reports disagreements (must be 0).
segcheck runs its native kernel when built (``segcheck.engine.native``); up to
``--python-upto`` rules it also runs ``analyze`` on the pure-Python path and checks that both
give the same statuses and the same permitted set (structural digests). Diagram sizes are
printed per size. Not a test: numbers depend on the machine and its load. Last line: the
ratios.

    python benchmarks/engine.py [--sizes 1000,10000,100000] [--queries 100000] [--seed 1]

Note (2026-11-26, x86_64 AMD EPYC, 2 cores shared with two other engineers' jobs, load
1.0-2.5; ``--queries 20000 --mem-gb 5``; native kernel; two runs each):

    rules  permitted    analyze+statuses  peak RSS  queries/s   pure Python  dd.cudd build+fwd
    1k     0.013-0.017  0.013-0.020 s     23 MB     1.2-1.8M    0.21 s       1.28 s (205 MB)
    10k    0.41-0.53 s  0.42-0.45 s       94-102 MB 525-655k    7.8-8.0 s    54.3 s (2.2 GB)
    100k   10.8-12.1 s  10.6-12.1 s       895-914 MB 674-712k   (not run)    > 900 s (gave up)

Update (same day, 02:56 UTC, load 2.2-3.2, ``--sizes 10000,100000 --queries 2000 --no-bdd``,
two runs; the kernel now has a compact node layout and an 8-ary composition tree full at the
top): 10k permitted 0.31-0.39 s, analyze 0.35-0.49 s (83 MB), pure Python 7.0-10.8 s;
100k permitted 12.75 s / 8.99 s wall (the second: 8.99 s CPU), analyze 8.98 s / 10.21 s
wall (the second: 10.21 s CPU; 888-900 MB). CPU time swings by ~20 % with the other jobs'
memory traffic (the CPU columns were added to the output in this update).

Pure Python and native agree (statuses, permitted set) at 1k and 10k; dd.cudd answers the
same sampled packets. At 100k the benchmark ACL's classification has 1.54M nodes (two-level
diagram 2.38M, the permitted set 390k): 1% any-destination rules meet every destination
branch, so the diagrams grow faster than the rule count; the kernel composes rule blocks in
a balanced 8-ary tree (native module docstring), so that costs about the diagrams' size per
tree level instead of rules x diagram (the sequential paint took ~240 s and 2.8 GB there).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from segcheck.model import ranges as R  # noqa: E402
from segcheck.model.packet import Packet  # noqa: E402
from segcheck.model.rules import Action, Filter, Match, Rule  # noqa: E402
from segcheck.model.source import SourceSpan  # noqa: E402

WELL_KNOWN = [22, 23, 25, 53, 80, 102, 123, 161, 443, 445, 502, 1433, 1883, 2404, 3389,
              4840, 5432, 8080, 8443, 20000, 44818, 47808]


def _pool(rng: random.Random, n: int) -> tuple[list[R.Ranges], list[R.Ranges]]:
    """Address objects: IPv4 and IPv6 networks of mixed prefix lengths, hosts most often."""
    v4: list[R.Ranges] = []
    v6: list[R.Ranges] = []
    bases = [ipaddress.ip_network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
    for _ in range(max(8, n)):
        base = rng.choice(bases)
        plen = rng.choices([8, 12, 16, 20, 22, 24, 26, 28, 30, 32],
                           weights=[0.05, 0.1, 1, 2, 4, 25, 6, 6, 5, 50])[0]
        plen = max(plen, base.prefixlen)
        addr = int(base.network_address) + rng.randrange(base.num_addresses)
        net = ipaddress.ip_network((addr, plen), strict=False)
        v4.append(R.from_networks([net]))
    for _ in range(max(4, n // 8)):
        plen = rng.choice([32, 48, 56, 64, 64, 64, 128, 128])
        addr = (0x20010DB8 << 96) | rng.getrandbits(96)
        v6.append(R.from_networks([ipaddress.ip_network((addr, plen), strict=False)]))
    return v4, v6


def _ports(rng: random.Random) -> R.Ranges | None:
    kind = rng.random()
    if kind < 0.6:
        return R.single(rng.choice(WELL_KNOWN))
    if kind < 0.75:
        return R.normalize((p, p) for p in rng.sample(WELL_KNOWN, rng.randint(2, 4)))
    if kind < 0.88:
        lo = rng.randrange(1024, 60000)
        return R.single(lo, lo + rng.choice([1, 10, 100, 1000]))
    return None


def make_acl(n: int, seed: int) -> Filter:
    rng = random.Random(seed * 1_000_003 + n)
    v4, v6 = _pool(rng, max(16, n // 3))
    rules: list[Rule] = []
    for i in range(n - 1):
        fam = 6 if rng.random() < 0.1 else 4
        pool = v6 if fam == 6 else v4
        src = None if rng.random() < 0.2 else rng.choice(pool)
        dst = None if rng.random() < 0.01 and src is not None else rng.choice(pool)
        kind = rng.random()
        kw: dict[str, object] = {"family": fam, "src": src, "dst": dst}
        if kind < 0.6:
            kw.update(protocols=R.single(6), dports=_ports(rng))
        elif kind < 0.85:
            kw.update(protocols=R.single(17), dports=_ports(rng))
        elif kind < 0.92:
            icmp = 1 if fam == 4 else 58
            kw.update(protocols=R.single(icmp))
            if rng.random() < 0.5:
                kw["icmp_types"] = R.single(rng.choice([0, 3, 8, 11]))
        elif kind < 0.95:
            kw.update(protocols=R.single(rng.choice([47, 50, 89])))
        action = Action.PERMIT if rng.random() < 0.7 else Action.DENY
        rules.append(Rule(action, (Match(**kw),), SourceSpan("bench.acl", i + 1)))  # type: ignore[arg-type]
    rules.append(Rule(Action.DENY, (Match(),), SourceSpan("bench.acl", n)))
    return Filter("bench", tuple(rules), Action.DENY)


def make_packets(flt: Filter, count: int, seed: int) -> list[Packet]:
    """Random packets, half drawn inside random rules' boxes (so queries hit deep rules)."""
    rng = random.Random(seed)
    out: list[Packet] = []
    for _ in range(count):
        m = rng.choice(flt.rules).matches[0]
        fam = m.family or 4
        bits = 32 if fam == 4 else 128

        def pick(rs: R.Ranges | None, top: int) -> int:
            if rs is None or rng.random() < 0.2:
                return rng.randrange(top + 1)
            lo, hi = rng.choice(rs)
            return rng.randint(lo, hi)

        proto = 6 if m.protocols is None else m.protocols[0][0]
        sport = dport = itype = icode = 0
        if proto in (6, 17):
            sport, dport = rng.randint(1024, 65535), pick(m.dports, 65535)
        elif proto in (1, 58):
            itype, icode = pick(m.icmp_types, 255), 0
        out.append(Packet(fam, pick(m.src, (1 << bits) - 1), pick(m.dst, (1 << bits) - 1),
                          proto, sport, dport, itype, icode))
    return out


# -- workers (one fresh process each) -------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cap_memory(gb: float) -> None:
    limit = int(gb * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def digest(u: object, root: int) -> str:
    """A digest of a diagram's structure (local numbering, so equal across processes: equal
    sets are equal reduced diagrams)."""
    import hashlib

    store = u.store  # type: ignore[attr-defined]
    local: dict[int, int] = {}
    h = hashlib.sha256()
    todo: list[tuple[int, bool]] = [(root, False)]
    while todo:
        n, done = todo.pop()
        if n < 0 or (n in local and not done):
            continue
        if not done:
            todo.append((n, True))
            todo.extend((k, False) for k in store.kids[n] if k >= 0 and k not in local)
            continue
        if n in local:
            continue
        local[n] = len(local)
        kids = [k if k < 0 else local[k] for k in store.kids[n]]
        h.update(f"{store.level[n]}:{store.breaks[n]}:{kids};".encode())
    h.update(f"root {root if root < 0 else local[root]}".encode())
    return h.hexdigest()[:16]


def worker_segcheck(n: int, seed: int, queries: int, mode: str) -> dict[str, object]:
    from segcheck.engine import native
    from segcheck.engine.filters import Classifier, analyze, permitted

    flt = make_acl(n, seed)
    base = _rss_mb()
    out: dict[str, object] = {"native": native.enabled()}
    if mode == "permitted":
        t, c = time.perf_counter(), time.process_time()
        p = permitted(flt)
        out["permitted_s"] = time.perf_counter() - t
        out["permitted_cpu_s"] = time.process_time() - c
        out["permitted_nodes"] = p.node_count()
    elif mode == "analyze":
        t, c = time.perf_counter(), time.process_time()
        fa = analyze(flt)
        out["analyze_call_s"] = time.perf_counter() - t
        statuses: dict[str, int] = {}
        for ra in fa.rules:  # statuses are computed on first read: timed with the call
            statuses[ra.status] = statuses.get(ra.status, 0) + 1
        out["analyze_s"] = time.perf_counter() - t
        out["analyze_cpu_s"] = time.process_time() - c
        out["rss_mb"] = _rss_mb()  # peak of the timed work (the checks below add their own)
        out["statuses"] = statuses
        shared = fa.rules[0]._shared
        kernel = getattr(shared, "kernel", None)
        if kernel is not None:
            out["two_level_nodes"] = kernel.store.count(kernel.c2)
            out["classification_nodes"] = kernel.store.count(kernel.classification())
            out["store_nodes"] = len(kernel.store)
            out["store_mb"] = kernel.store.nbytes() / 1e6
        out["permitted_nodes"] = fa.permitted.node_count()
        import hashlib

        out["statuses_digest"] = hashlib.sha256(
            ",".join(ra.status for ra in fa.rules).encode()).hexdigest()[:16]
        out["permitted_digest"] = digest(fa.permitted.universe_of, fa.permitted.node)
    else:
        t = time.perf_counter()
        clf = Classifier(flt)
        out["classifier_build_s"] = time.perf_counter() - t
        pk = make_packets(flt, queries, seed)
        t = time.perf_counter()
        answers = clf.decide_many(pk)
        out["query_s"] = time.perf_counter() - t
        out["verdicts"] = [a is Action.PERMIT for a, _ in answers[:2000]]
    out.setdefault("rss_mb", _rss_mb())
    out["rss_base_mb"] = base
    return out


def worker_bdd(n: int, seed: int, queries: int) -> dict[str, object]:
    from dd import cudd

    flt = make_acl(n, seed)
    base = _rss_mb()
    bdd = cudd.BDD()
    bdd.configure(reordering=False)  # a fixed order, like the segcheck engine
    widths = [("v", 1), ("p", 8), ("dp", 16), ("sp", 16), ("it", 8), ("ic", 8),
              ("d", 128), ("s", 128)]
    names: dict[str, list[str]] = {}
    for f, w in widths:
        names[f] = [f"{f}{k}" for k in range(w)]  # most significant bit first
        bdd.declare(*names[f])
    var = {x: bdd.var(x) for xs in names.values() for x in xs}

    def rng_bdd(f: str, lo: int, hi: int, bits: int) -> object:
        size = hi - lo + 1
        if size & (size - 1) == 0 and lo % size == 0:  # a prefix: one cube
            free = size.bit_length() - 1
            fixed = names[f][: len(names[f]) - free]
            width = len(names[f])
            return bdd.cube({x: bool((lo >> (width - 1 - k)) & 1) for k, x in enumerate(fixed)})
        xs = [var[x] for x in names[f]][-bits:] if bits < len(names[f]) else [
            var[x] for x in names[f]]
        ge, le = bdd.true, bdd.true
        for k, x in enumerate(reversed(xs)):
            ge = (x & ge) if (lo >> k) & 1 else (x | ge)
            le = (~x | le) if (hi >> k) & 1 else (~x & le)
        high_zero = bdd.true
        if bits < len(names[f]):
            high_zero = bdd.cube(dict.fromkeys(names[f][:len(names[f]) - bits], False))
        return ge & le & high_zero

    def field(f: str, rs: R.Ranges | None, bits: int) -> object:
        if rs is None:
            if bits < len(names[f]):
                return bdd.cube(dict.fromkeys(names[f][:len(names[f]) - bits], False))
            return bdd.true
        out = bdd.false
        for lo, hi in rs:
            out = out | rng_bdd(f, lo, hi, bits)
        return out

    def match_bdd(m: Match) -> object:
        fam = m.family or 4
        ab = 32 if fam == 4 else 128
        node = bdd.true if m.family is None else (var["v0"] if fam == 6 else ~var["v0"])
        for f, rs, bits in (("p", m.protocols, 8), ("dp", m.dports, 16), ("sp", m.sports, 16),
                            ("it", m.icmp_types, 8), ("ic", m.icmp_codes, 8),
                            ("d", m.dst, ab), ("s", m.src, ab)):
            node = node & field(f, rs, bits)
        return node

    t = time.perf_counter()
    ms = [match_bdd(r.matches[0]) for r in flt.rules]
    build = time.perf_counter() - t
    t = time.perf_counter()
    perm, rest = bdd.false, bdd.true
    dead = 0
    for r, m in zip(flt.rules, ms, strict=True):
        hit = m & rest
        if hit == bdd.false:
            dead += 1
            continue
        if r.action is Action.PERMIT:
            perm = perm | hit
        rest = rest & ~m
    forward = time.perf_counter() - t
    pk = make_packets(flt, min(queries, 20000), seed)

    def cube(p: Packet) -> dict[str, bool]:
        ab = 32 if p.version == 4 else 128
        vals = {"v": (1 if p.version == 6 else 0, 1), "p": (p.proto, 8), "dp": (p.dport, 16),
                "sp": (p.sport, 16), "it": (p.icmp_type, 8), "ic": (p.icmp_code, 8),
                "d": (p.dst, ab), "s": (p.src, ab)}
        out: dict[str, bool] = {}
        for f, (v, _bits) in vals.items():
            xs = names[f]
            for k, x in enumerate(reversed(xs)):
                out[x] = bool((v >> k) & 1)
        return out

    t = time.perf_counter()
    verdicts = [bdd.let(cube(p), perm) == bdd.true for p in pk]
    query = time.perf_counter() - t
    return {"build_s": build, "forward_s": forward, "dead": dead, "query_s": query,
            "queries": len(pk), "verdicts": verdicts[:2000], "rss_mb": _rss_mb(),
            "rss_base_mb": base, "nodes": len(bdd)}


# -- driver ---------------------------------------------------------------------------------


def _run(args: list[str], timeout: float | None = None,
         env_extra: dict[str, str] | None = None) -> dict[str, object]:
    env = dict(os.environ, PYTHONHASHSEED="0", **(env_extra or {}))
    t = time.perf_counter()
    try:
        res = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                             env=env, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s", "timeout": timeout}
    if res.returncode != 0:
        last = res.stderr.strip().splitlines()[-1] if res.stderr else "failed"
        return {"error": f"{last} (after {time.perf_counter() - t:.0f} s)"}
    data: dict[str, object] = json.loads(res.stdout.strip().splitlines()[-1])
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-bdd", action="store_true", help="skip the dd.cudd baseline")
    ap.add_argument("--bdd-timeout", type=float, default=1200.0,
                    help="seconds before the dd.cudd worker is given up (reported as such)")
    ap.add_argument("--mem-gb", type=float, default=6.0,
                    help="address-space cap per worker process (GB)")
    ap.add_argument("--python-upto", type=int, default=10_000,
                    help="also run analyze on the pure-Python path (SEGCHECK_NATIVE=0) up to this"
                         " size and check both paths agree (statuses, permitted set)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="analyze", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        _cap_memory(a.mem_gb)
        n = int(a.sizes)
        if a.worker == "bdd":
            out = worker_bdd(n, a.seed, a.queries)
        else:
            out = worker_segcheck(n, a.seed, a.queries, a.mode)
        print(json.dumps(out))
        return
    print(f"# machine: {platform.machine()} {platform.processor() or ''} "
          f"{os.cpu_count()} cpus, python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.1f} (shared with other jobs)")
    ratios = []
    for n in (int(x) for x in a.sizes.split(",")):
        common = ["--sizes", str(n), "--seed", str(a.seed), "--queries", str(a.queries),
                  "--mem-gb", str(a.mem_gb)]
        perm = _run(["--worker", "segcheck", "--mode", "permitted", *common])
        ana = _run(["--worker", "segcheck", "--mode", "analyze", *common])
        qry = _run(["--worker", "segcheck", "--mode", "query", *common])
        def secs(d: dict[str, object], key: str) -> str:
            return f"{float(d[key]):.3f} s" if key in d else f"[{d.get('error')}]"  # type: ignore[arg-type]

        rate = (f"{a.queries / float(qry['query_s']):,.0f} packets/s"  # type: ignore[arg-type]
                if "query_s" in qry else "")
        print(f"{n:>7} rules segcheck: permitted {secs(perm, 'permitted_s')}"
              f" (CPU {secs(perm, 'permitted_cpu_s')},"
              f" {perm.get('permitted_nodes')} nodes, {perm.get('rss_mb', 0):.0f} MB);"
              f" analyze {secs(ana, 'analyze_s')} (CPU {secs(ana, 'analyze_cpu_s')},"
              f" call {secs(ana, 'analyze_call_s')},"
              f" the rest reading statuses) {ana.get('statuses', '')}"
              f" ({ana.get('rss_mb', 0):.0f} MB); classifier build"
              f" {secs(qry, 'classifier_build_s')}, {rate}"
              f" ({qry.get('rss_mb', 0):.0f} MB peak RSS)")
        if "classification_nodes" in ana:
            print(f"{n:>7} rules diagrams: classification {ana['classification_nodes']} nodes"
                  f" (two-level: {ana['two_level_nodes']}),"
                  f" permitted {ana.get('permitted_nodes')} nodes, native store"
                  f" {ana['store_nodes']} nodes ({float(ana['store_mb']):.0f} MB)")  # type: ignore[arg-type]
        if n <= a.python_upto and ana.get("native"):
            py = _run(["--worker", "segcheck", "--mode", "analyze", *common],
                      env_extra={"SEGCHECK_NATIVE": "0"})
            same = all(py.get(k) == ana.get(k) and k in py
                       for k in ("statuses_digest", "permitted_digest"))
            print(f"{n:>7} rules pure Python: analyze {secs(py, 'analyze_s')}"
                  f" ({py.get('rss_mb', 0):.0f} MB); native vs pure Python:"
                  f" {'statuses and permitted set identical' if same else 'DIFFERENT'}")
        if a.no_bdd:
            continue
        bdd = _run(["--worker", "bdd", *common], timeout=a.bdd_timeout)
        if "error" in bdd:
            print(f"{n:>7} rules dd.cudd: {bdd['error']}")
            if "timeout" in bdd and "analyze_s" in ana:
                ratios.append(f"{n}: analyze >{a.bdd_timeout / float(ana['analyze_s']):.1f}x"  # type: ignore[arg-type]
                              " (dd.cudd timed out)")
            else:
                ratios.append(f"{n}: dd.cudd failed ({bdd['error']})")
            continue
        bq = float(bdd["queries"]) / float(bdd["query_s"])  # type: ignore[arg-type]
        total = float(bdd["build_s"]) + float(bdd["forward_s"])  # type: ignore[arg-type]
        print(f"{n:>7} rules dd.cudd : build {bdd['build_s']:.3f} s, forward permitted+dead"
              f" {bdd['forward_s']:.3f} s (dead {bdd['dead']}, {bdd['nodes']} nodes),"
              f" {bq:,.0f} queries/s, {bdd['rss_mb']:.0f} MB peak RSS")
        agree = sum(x == y for x, y in zip(qry.get("verdicts", []), bdd["verdicts"],  # type: ignore[arg-type]
                                           strict=False))
        print(f"{n:>7} rules agreement on {len(bdd['verdicts'])} packets: "  # type: ignore[arg-type]
              f"{agree}/{len(bdd['verdicts'])}")  # type: ignore[arg-type]
        if "analyze_s" in ana and "permitted_s" in perm:
            ratios.append(
                f"{n}: analyze {total / float(ana['analyze_s']):.1f}x"  # type: ignore[arg-type]
                f" permitted {total / float(perm['permitted_s']):.1f}x"  # type: ignore[arg-type]
                f" query {a.queries / float(qry['query_s']) / bq:.1f}x"  # type: ignore[arg-type]
            )
    print("ratios (dd.cudd time / segcheck time; query: segcheck rate / dd rate): "
          + ("; ".join(ratios) if ratios else "n/a"))


if __name__ == "__main__":
    main()
