"""Random rulesets (iptables-save and nft syntax) and probes for the kernel oracle.

Addresses come from small pools (a few /24s or /64s with 256 host values each) so that
random prefixes, ranges and probes hit each other often; ports and ICMP types come from
short lists of boundary values. Only ICMP types conntrack treats as ``NEW`` are *sent*
(echo/timestamp requests, ICMPv6 echo and node-information queries): other ICMP types are
``INVALID`` to conntrack, which segcheck's "packets are new" assumption does not cover.
Rules may still name any type.
"""

from __future__ import annotations

import ipaddress
import random

from tests.oracle.kernel_lab import LOCAL_ADDRS, ROUTER_IN, ROUTER_OUT, Probe

SRC_POOLS = {4: ["10.64.1.0", "10.64.2.0", "192.168.1.0"],
             6: ["2001:db8:a:1::", "2001:db8:a:2::", "2001:db8:b:1::"]}
DST_POOLS = {4: ["172.16.1.0", "172.16.2.0"], 6: ["2001:db8:ff00:1::", "2001:db8:ff00:2::"]}
BROAD = {4: ["10.64.0.0/14", "10.0.0.0/8", "0.0.0.0/0", "172.16.0.0/12", "10.0.0.0/16"],
         6: ["2001:db8:a::/48", "2001:db8::/32", "::/0", "2001:db8:ff00::/40", "fd00::/8"]}
PORTS = [1, 22, 53, 79, 80, 81, 443, 1000, 1001, 1500, 2000, 2001, 8080, 65535]
IFACES = [ROUTER_IN, ROUTER_OUT, "rin+", "r+", "rout+", "eth0", "eth+", "rin1", "ro+"]
SEND_ICMP = {4: [(8, 0), (8, 1), (13, 0), (8, 5)], 6: [(128, 0), (128, 1), (139, 0), (139, 2)]}
RULE_ICMP = {4: ["8", "13", "echo-request", "8/0", "8/1", "13/0", "0", "any",
                 "timestamp-request", "3", "destination-unreachable"],
             6: ["128", "128/0", "128/1", "echo-request", "139", "129", "1", "139/2"]}
STATES = ["NEW", "ESTABLISHED", "NEW,ESTABLISHED", "RELATED,ESTABLISHED", "INVALID",
          "NEW,RELATED", "UNTRACKED"]


def _addr(version: int, base: str, off: int) -> str:
    return str(ipaddress.ip_address(int(ipaddress.ip_address(base)) + off))


def prefix(rng: random.Random, version: int, pools: list[str]) -> str:
    """A random prefix around the pools (host, small blocks, whole pool, broad)."""
    if rng.random() < 0.15:
        return rng.choice(BROAD[version])
    bits = 32 if version == 4 else 128
    length = bits - rng.choice([8, 8, 7, 5, 3, 1, 0, 0])
    a = _addr(version, rng.choice(pools), rng.randrange(256))
    net = ipaddress.ip_network(f"{a}/{length}", strict=False)
    return str(net) if length != bits else a


def addr_range(rng: random.Random, version: int, pools: list[str]) -> str:
    base = rng.choice(pools)
    lo = rng.randrange(256)
    if rng.random() < 0.2 and len(pools) > 1:
        i = pools.index(base)
        other = pools[(i + 1) % len(pools)]
        a, b = sorted([_addr(version, base, lo), _addr(version, other, rng.randrange(256))],
                      key=lambda s: int(ipaddress.ip_address(s)))
        return f"{a}-{b}"
    hi = min(255, lo + rng.choice([0, 1, 10, 60, 200]))
    return f"{_addr(version, base, lo)}-{_addr(version, base, hi)}"


def port_expr(rng: random.Random, sep: str = ":") -> str:
    a = rng.choice(PORTS)
    r = rng.random()
    if r < 0.5:
        return str(a)
    b = rng.choice(PORTS)
    lo, hi = min(a, b), max(a, b)
    if r < 0.6:
        return f"{sep}{hi}" if sep == ":" else f"0-{hi}"
    if r < 0.7:
        return f"{lo}{sep}" if sep == ":" else f"{lo}-65535"
    return f"{lo}{sep}{hi}"


def probes(rng: random.Random, version: int, n: int) -> list[Probe]:
    out: list[Probe] = []
    for _ in range(n):
        src = _addr(version, rng.choice(SRC_POOLS[version]), rng.randrange(256))
        local = rng.random() < 0.3
        dst = (rng.choice(LOCAL_ADDRS[version]) if local
               else _addr(version, rng.choice(DST_POOLS[version]), rng.randrange(256)))
        r = rng.random()
        if r < 0.35:
            proto = 6
        elif r < 0.65:
            proto = 17
        elif r < 0.85:
            proto = 1 if version == 4 else 58
        else:
            proto = 47
        sport = dport = itype = icode = 0
        if proto in (6, 17):
            sport = rng.choice(PORTS) if rng.random() < 0.6 else rng.randrange(1, 65536)
            dport = rng.choice(PORTS) if rng.random() < 0.8 else rng.randrange(1, 65536)
        elif proto in (1, 58):
            itype, icode = rng.choice(SEND_ICMP[version])
        out.append(Probe(version, src, dst, proto, sport, dport, itype, icode, local))
    return out


# -- iptables ------------------------------------------------------------------------------

def iptables_rule(rng: random.Random, version: int, chain: str, users: list[str]) -> str:
    """One ``-A`` line for ``chain`` (``users``: user chains it may jump to)."""
    parts = [f"-A {chain}"]
    local_ok = chain in ("INPUT",) or chain.startswith("U")
    multi = False
    if rng.random() < 0.4:
        neg = "! " if rng.random() < 0.25 else ""
        if not neg and rng.random() < 0.1:
            multi = True
            parts.append(f"-s {prefix(rng, version, SRC_POOLS[version])},"
                         f"{prefix(rng, version, SRC_POOLS[version])}")
        else:
            pre = prefix(rng, version, SRC_POOLS[version])
            parts.append(f"{'' if pre.endswith('/0') else neg}-s {pre}")
    if rng.random() < 0.3:
        neg = "! " if rng.random() < 0.25 and not multi else ""
        pools = DST_POOLS[version]
        if local_ok and rng.random() < 0.5:
            parts.append(f"{neg}-d {rng.choice(LOCAL_ADDRS[version])}")
        else:
            pre = prefix(rng, version, pools)
            parts.append(f"{'' if pre.endswith('/0') else neg}-d {pre}")
    if rng.random() < 0.3:
        neg = "! " if rng.random() < 0.25 else ""
        iface = rng.choice(IFACES)
        opt = "-o" if chain == "FORWARD" and rng.random() < 0.5 else "-i"
        if chain.startswith("U"):
            opt = "-i"
        parts.append(f"{neg}{opt} {iface}")
    icmp = "icmp" if version == 4 else "ipv6-icmp"
    r = rng.random()
    if r < 0.6:
        proto = rng.choice(["tcp", "tcp", "udp", "udp", icmp, "47", "all"])
        if proto in ("tcp", "udp") and rng.random() < 0.1:
            parts.append(f"! -p {proto}")
        else:
            parts.append(f"-p {proto}")
            if proto in ("tcp", "udp") and rng.random() < 0.7:
                parts.append(_iptables_ports(rng, proto))
            if proto == "tcp" and rng.random() < 0.1:
                parts.append(rng.choice(["--syn", "! --syn"]))
            if proto == icmp and rng.random() < 0.6:
                neg = "! " if rng.random() < 0.25 else ""
                opt = "-m icmp --icmp-type" if version == 4 else "-m icmp6 --icmpv6-type"
                mod, flag = opt.rsplit(" ", 1)
                parts.append(f"{mod} {neg}{flag} {rng.choice(RULE_ICMP[version])}")
    if rng.random() < 0.15:
        neg = "! " if rng.random() < 0.25 else ""
        side = rng.choice(["src", "dst"])
        pools = SRC_POOLS[version] if side == "src" else DST_POOLS[version]
        parts.append(f"-m iprange {neg}--{side}-range {addr_range(rng, version, pools)}")
    if rng.random() < 0.2:
        neg = "! " if rng.random() < 0.2 else ""
        if rng.random() < 0.5:
            parts.append(f"-m state {neg}--state {rng.choice(STATES)}")
        else:
            parts.append(f"-m conntrack {neg}--ctstate {rng.choice(STATES)}")
    if rng.random() < 0.15:
        parts.append(f'-m comment --comment "rule {rng.randrange(1000)} x"')
    r = rng.random()
    if users and r < 0.18:
        parts.append(f"-j {rng.choice(users)}")
    elif users and r < 0.24:
        parts.append(f"-g {rng.choice(users)}")
    else:
        parts.append(rng.choice(["-j ACCEPT"] * 6 + ["-j DROP"] * 5 + [
            "-j REJECT", "-j RETURN", "-j RETURN", '-j LOG --log-prefix "x: "', "-j NFLOG"]))
    return " ".join(parts)


def _iptables_ports(rng: random.Random, proto: str) -> str:
    neg = "! " if rng.random() < 0.2 else ""
    r = rng.random()
    if r < 0.6:
        return f"{neg}--{rng.choice(['dport', 'dport', 'sport'])} {port_expr(rng)}"
    exprs = [port_expr(rng).strip(":") for _ in range(rng.randrange(1, 5))]
    ok = [e for e in exprs if ":" not in e or e.split(":")[0] != e.split(":")[1]]
    items = ",".join(ok) or "1"
    return f"-m multiport {neg}--{rng.choice(['dports', 'sports', 'ports'])} {items}"


def iptables_ruleset(rng: random.Random, version: int) -> str:
    users = [f"U{i}" for i in range(rng.randrange(0, 4))]
    lines = ["*filter"]
    for c in ("INPUT", "FORWARD"):
        lines.append(f":{c} {rng.choice(['ACCEPT', 'DROP'])} [0:0]")
    lines.append(":OUTPUT ACCEPT [0:0]")
    lines += [f":{u} - [0:0]" for u in users]
    for c in ("FORWARD", "INPUT"):
        lines += [iptables_rule(rng, version, c, users) for _ in range(rng.randrange(2, 12))]
    for i, u in enumerate(users):
        n = rng.randrange(0, 7)
        lines += [iptables_rule(rng, version, u, users[i + 1 :]) for _ in range(n)]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


# -- nftables ------------------------------------------------------------------------------

def _span_of(item: str) -> tuple[int, int]:
    """The integer interval an address/prefix/range or port/range item covers."""
    if "/" in item:
        net = ipaddress.ip_network(item, strict=False)
        return int(net.network_address), int(net.broadcast_address)
    if "-" in item:
        a, b = item.split("-", 1)
        if a.isdigit():
            return int(a), int(b)
        return int(ipaddress.ip_address(a)), int(ipaddress.ip_address(b))
    if item.isdigit():
        return int(item), int(item)
    n = int(ipaddress.ip_address(item))
    return n, n


def disjoint(items: list[str]) -> list[str]:
    """Keep items that overlap no earlier kept one (nft refuses overlapping intervals)."""
    kept: list[str] = []
    spans: list[tuple[int, int]] = []
    for it in items:
        lo, hi = _span_of(it)
        if all(hi < a or lo > b for a, b in spans):
            kept.append(it)
            spans.append((lo, hi))
    return kept


def _nft_addr_set(rng: random.Random, version: int, pools: list[str]) -> str:
    items = []
    for _ in range(rng.randrange(1, 4)):
        items.append(addr_range(rng, version, pools) if rng.random() < 0.3
                     else prefix(rng, version, pools))
    items = [i for i in items if not i.endswith("/0")] or ["10.0.0.0/8" if version == 4
                                                           else "fd00::/8"]
    return "{ " + ", ".join(disjoint(items)) + " }"


def nft_rule(rng: random.Random, version: int, chain: str, users: list[str],
             sets: list[str], other_family: bool) -> str:
    ip = "ip" if version == 4 else "ip6"
    parts: list[str] = []
    local_ok = chain == "input" or chain.startswith("u")
    if rng.random() < 0.4:
        op = "!= " if rng.random() < 0.25 else ""
        r = rng.random()
        if sets and r < 0.15:
            parts.append(f"{ip} saddr {op}@{rng.choice(sets)}")
        elif r < 0.4:
            parts.append(f"{ip} saddr {op}{_nft_addr_set(rng, version, SRC_POOLS[version])}")
        else:
            pre = prefix(rng, version, SRC_POOLS[version])
            parts.append(f"{ip} saddr {'' if pre.endswith('/0') else op}{pre}")
    if rng.random() < 0.3:
        op = "!= " if rng.random() < 0.25 else ""
        if local_ok and rng.random() < 0.5:
            parts.append(f"{ip} daddr {op}{rng.choice(LOCAL_ADDRS[version])}")
        else:
            pre = prefix(rng, version, DST_POOLS[version])
            parts.append(f"{ip} daddr {'' if pre.endswith('/0') else op}{pre}")
    other_added = False
    if other_family and not parts and rng.random() < 0.1:
        other_added = True
        o = 6 if version == 4 else 4
        parts.append(f"{'ip' if o == 4 else 'ip6'} saddr {prefix(rng, o, SRC_POOLS[o])}")
    if rng.random() < 0.3:
        op = "!= " if rng.random() < 0.25 else ""
        names = [n.replace("+", "*") for n in IFACES]
        key = "oifname" if chain == "forward" and rng.random() < 0.5 else "iifname"
        if rng.random() < 0.2:
            picks = sorted({rng.choice(names) for _ in range(2)})
            parts.append(f"{key} {op}{{ " + ", ".join(f'"{n}"' for n in picks) + " }")
        else:
            parts.append(f'{key} {op}"{rng.choice(names)}"')
    icmp = "icmp" if version == 4 else "icmpv6"
    r = rng.random()
    tcp_ok = True
    if r < 0.6:
        proto = rng.choice(["tcp", "tcp", "udp", "udp", icmp, "gre", "l4set"])
        tcp_ok = False
        if proto in ("tcp", "udp"):
            if rng.random() < 0.7:
                op = "!= " if rng.random() < 0.2 else ""
                tcp_ok = proto == "tcp"
                field = rng.choice(["dport", "dport", "sport"])
                if rng.random() < 0.3:
                    items = ", ".join(disjoint([port_expr(rng, "-")
                                                for _ in range(rng.randrange(1, 4))]))
                    parts.append(f"{proto} {field} {op}{{ {items} }}")
                else:
                    parts.append(f"{proto} {field} {op}{port_expr(rng, '-')}")
            else:
                parts.append(f"meta l4proto {'!= ' if rng.random() < 0.15 else ''}{proto}")
        elif proto == icmp:
            if rng.random() < 0.6:
                op = "!= " if rng.random() < 0.25 else ""
                names = (["echo-request", "timestamp-request", "echo-reply", "8", "13"]
                         if version == 4 else ["echo-request", "echo-reply", "139", "128"])
                if rng.random() < 0.3:
                    parts.append(f"{icmp} type {op}{{ {rng.choice(names)}, {rng.choice(names)} }}")
                else:
                    parts.append(f"{icmp} type {op}{rng.choice(names)}")
                if rng.random() < 0.2:
                    parts.append(f"{icmp} code {rng.choice(['0', '1', '!= 0', '< 2'])}")
            else:
                parts.append(f"meta l4proto {icmp}")
        elif proto == "gre":
            if other_added or rng.random() < 0.5:
                parts.append("meta l4proto gre")
            else:
                parts.append(f"{'ip protocol' if version == 4 else 'ip6 nexthdr'} gre")
        else:
            parts.append("meta l4proto { tcp, udp }")
            if rng.random() < 0.5:
                parts.append(f"th dport {port_expr(rng, '-')}")
    if tcp_ok and not other_added and rng.random() < 0.1:
        a = _addr(version, rng.choice(SRC_POOLS[version]), rng.randrange(256))
        b = _addr(version, rng.choice(SRC_POOLS[version]), rng.randrange(256))
        parts.append(f"{ip} saddr . tcp dport {{ {a} . {rng.choice(PORTS)}, "
                     f"{b} . {port_expr(rng, '-')} }}")
    if rng.random() < 0.2:
        states = rng.choice(["new", "established", "new,established", "established,related",
                             "invalid", "new,related", "untracked"])
        parts.append(f"ct state {'!= ' if rng.random() < 0.2 else ''}{states}")
    if rng.random() < 0.2:
        parts.append(rng.choice(["counter", 'log prefix "x: "', "counter packets 0 bytes 0"]))
    r = rng.random()
    if users and r < 0.15:
        parts.append(f"jump {rng.choice(users)}")
    elif users and r < 0.2:
        parts.append(f"goto {rng.choice(users)}")
    elif r < 0.27 and tcp_ok:
        targets = ["accept", "drop"] + [f"jump {u}" for u in users]
        keys = disjoint([str(rng.choice(PORTS)), port_expr(rng, "-")])
        parts.append("tcp dport vmap { " + ", ".join(f"{k} : {rng.choice(targets)}"
                                                      for k in keys) + " }")
    else:
        parts.append(rng.choice(["accept"] * 6 + ["drop"] * 5 + [
            "reject", "return", "return", "counter", "continue"]))
    if rng.random() < 0.1:
        parts.append(f'comment "rule {rng.randrange(1000)}"')
    return " ".join(parts)


def nft_ruleset(rng: random.Random, version: int) -> str:
    fam = rng.choice(["inet", "ip" if version == 4 else "ip6"])
    users = [f"u{i}" for i in range(rng.randrange(0, 4))]
    sets = [f"s{i}" for i in range(rng.randrange(0, 3))]
    lines = [f"table {fam} t1 {{"]
    for s in sets:
        kind = "ipv4_addr" if version == 4 else "ipv6_addr"
        elems = _nft_addr_set(rng, version, SRC_POOLS[version])
        lines += [f"  set {s} {{", f"    type {kind}", "    flags interval",
                  f"    elements = {elems}", "  }"]
    for c in ("forward", "input"):
        lines.append(f"  chain {c} {{")
        lines.append(f"    type filter hook {c} priority 0; policy "
                     f"{rng.choice(['accept', 'drop'])};")
        lines += ["    " + nft_rule(rng, version, c, users, sets, fam == "inet")
                  for _ in range(rng.randrange(2, 12))]
        lines.append("  }")
    for i, u in enumerate(users):
        lines.append(f"  chain {u} {{")
        lines += ["    " + nft_rule(rng, version, u, users[i + 1 :], sets, fam == "inet")
                  for _ in range(rng.randrange(0, 7))]
        lines.append("  }")
    lines.append("}")
    if rng.random() < 0.4:  # a second base chain on the same hook: both must accept
        hook = rng.choice(["forward", "input", "prerouting"])
        prio = rng.choice([-10, 10, "filter - 5", "filter + 5", "raw"])
        lines += [f"table {fam} t2 {{", "  chain c2 {",
                  f"    type filter hook {hook} priority {prio}; policy "
                  f"{rng.choice(['accept', 'accept', 'drop'])};"]
        lines += ["    " + nft_rule(rng, version, "forward" if hook == "forward" else "input",
                                    [], [], fam == "inet") for _ in range(rng.randrange(1, 5))]
        lines += ["  }", "}"]
    return "\n".join(lines) + "\n"
