"""nftables verdicts against the Linux kernel (see ``kernel_lab``).

Random rulesets (inet/ip/ip6 tables, several base chains on one hook, regular chains with
jump/goto/return, named and anonymous sets, intervals, concatenations, verdict maps,
ct state, l4proto, interface wildcards, negations) are loaded with ``nft -f``. For each,
segcheck parses three renderings of the same kernel state — our source text, ``nft list
ruleset`` and ``nft -j list ruleset`` — and each must agree with the kernel on every probe.
Scale with SEGCHECK_ORACLE_SCALE.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import pytest

from segcheck.parsers import nftables
from tests.oracle.kernel_gen import nft_ruleset, probes
from tests.oracle.kernel_lab import Lab, Tally, segcheck_verdicts

pytestmark = pytest.mark.root

SCALE = int(os.environ.get("SEGCHECK_ORACLE_SCALE", "1"))
RULESETS = 200 * SCALE
PACKETS = 200
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def _record(line: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "oracle-kernel.txt", "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    sys.stderr.write(line + "\n")


def _check(lab: Lab, text: str, name: str, ps: list, tallies: dict[str, Tally]) -> None:
    lab.load_nft(text)
    kernel = lab.observe(ps)
    answers = {}
    for form, rendering in (("source", text), ("list", lab.list_ruleset()),
                            ("json", lab.list_ruleset(json_format=True))):
        device = nftables.parse(rendering, f"{name}.{form}", nft_version=lab.nft_version)
        bad = [str(d) for d in device.diagnostics if d.level.makes_incomplete]
        assert not bad, (form, bad, rendering)
        answers[form] = (rendering, segcheck_verdicts(device, ps))
    for _, ours in answers.values():
        kernel = lab.recheck(ps, kernel, ours)
    for form, (rendering, ours) in answers.items():
        tallies[form].add(rendering, ps, kernel, ours)


@pytest.mark.parametrize("version", [4, 6])
def test_random_rulesets_agree_with_kernel(kernel_lab: Lab, version: int) -> None:
    rng = random.Random(2000 + version)
    tallies = {form: Tally() for form in ("source", "list", "json")}
    start = time.monotonic()
    for i in range(RULESETS):
        text = nft_ruleset(rng, version)
        _check(kernel_lab, text, f"random-{i}", probes(rng, version, PACKETS), tallies)
    for form, tally in tallies.items():
        tally.seconds = time.monotonic() - start
        _record(tally.summary(f"nftables IPv{version} ({form})"))
    for tally in tallies.values():
        assert not tally.failures, "\n\n".join(tally.failures)
        assert 0.1 * tally.packets < tally.permitted < 0.9 * tally.packets


EDGE_CASES = [
    # two base chains on the forward hook: accept in the first does not skip the second
    """table ip a {
  chain f { type filter hook forward priority -10; policy accept;
    tcp dport 80 accept
  }
}
table inet b {
  chain f { type filter hook forward priority 10; policy drop;
    ip saddr 10.64.1.0/24 accept
    meta l4proto icmp accept
  }
}
""",
    # goto leaves the caller; return in a base chain applies the policy; vmap with jump
    """table inet t {
  set web { type ipv4_addr . inet_service; flags interval;
            elements = { 172.16.1.5 . 80, 172.16.2.0/24 . 443 }; }
  chain g { tcp dport 1000-2000 drop
    ip saddr 10.64.2.0/24 return
    udp dport 53 accept
  }
  chain v { ip daddr . tcp dport @web accept
    return
  }
  chain forward { type filter hook forward priority filter; policy drop;
    meta l4proto udp goto g
    udp sport 53 accept
    ct state != { established, related } tcp dport vmap { 80 : jump v, 443 : jump v, 22 : drop }
    tcp sport 1000-2000 jump g
    ip saddr 192.168.1.0/24 return
    meta l4proto tcp accept
  }
  chain input { type filter hook input priority 0; policy accept;
    ct state != new,established drop
    iifname != "rin*" drop
    icmp type { echo-request, timestamp-request } icmp code != 0 drop
    meta l4proto { tcp, udp } th dport { 22, 1000-2000 } drop
  }
}
""",
    # family scoping: an ip table's drop policy never sees IPv6, an ip6 table never IPv4
    """table ip four {
  chain f { type filter hook forward priority 0; policy drop;
    ip saddr 10.64.1.0/24 accept
  }
  chain i { type filter hook input priority 0; policy drop;
    meta l4proto udp accept
  }
}
table ip6 six {
  chain f { type filter hook forward priority 0; policy drop;
    ip6 saddr 2001:db8:a:1::/64 accept
  }
}
table inet both {
  chain f { type filter hook forward priority 5; policy accept;
    meta nfproto ipv6 tcp dport 80 drop
    ip protocol icmp drop
  }
}
""",
    # nft < 1.1.0 merges '!=' on adjacent fields into one compare: either differs -> match
    """table inet m {
  chain f { type filter hook forward priority 0; policy drop;
    tcp sport != 81 tcp dport != 80 accept
    ip saddr != 10.64.1.5 ip daddr != 172.16.1.5 meta l4proto udp accept
    icmp type != echo-request icmp code != 0 accept
    udp sport != 53 udp dport != { 53 } accept
  }
}
""",
    # "SYN without ACK" tests, in nft's two spellings (our TCP probes are SYNs)
    """table inet fl {
  chain f { type filter hook forward priority 0; policy accept;
    tcp flags & (fin|syn|rst|ack) != syn ct state new drop
    tcp dport 80 tcp flags & (syn|ack) == syn drop
    tcp dport 81 tcp flags syn / syn,ack drop
  }
}
""",
    # a prerouting chain before conntrack (priority raw) sees every packet as invalid
    """table inet r {
  chain p { type filter hook prerouting priority raw; policy accept;
    meta l4proto tcp ct state new drop
    meta l4proto udp ct state invalid drop
    meta l4proto gre ct state != invalid drop
  }
}
""",
]


@pytest.mark.parametrize("case", range(len(EDGE_CASES)))
def test_edge_cases_agree_with_kernel(kernel_lab: Lab, case: int) -> None:
    rng = random.Random(case)
    tallies = {form: Tally() for form in ("source", "list", "json")}
    ps = probes(rng, 4, 300) + probes(rng, 6, 300)
    _check(kernel_lab, EDGE_CASES[case], f"edge-{case}", ps, tallies)
    for tally in tallies.values():
        assert not tally.failures, "\n\n".join(tally.failures)
