"""iptables/ip6tables verdicts against the Linux kernel (see ``kernel_lab``).

Random rulesets (user chains, -j/-g, RETURN, negations, ranges, multiport, iprange,
interface wildcards, states, policies) and hand-written edge cases are loaded into the
router with ``iptables-restore``; the same text is parsed by segcheck and every probe's
kernel fate is compared with segcheck's ``query`` verdict. Scale with SEGCHECK_ORACLE_SCALE.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import pytest

from segcheck.parsers import iptables
from tests.oracle.kernel_gen import iptables_ruleset, probes
from tests.oracle.kernel_lab import Lab, Probe, Tally, segcheck_verdicts

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


@pytest.mark.parametrize("version", [4, 6])
def test_random_rulesets_agree_with_kernel(kernel_lab: Lab, version: int) -> None:
    rng = random.Random(1000 + version)
    tally = Tally()
    start = time.monotonic()
    for i in range(RULESETS):
        text = iptables_ruleset(rng, version)
        ps = probes(rng, version, PACKETS)
        kernel_lab.load_iptables(text, version)
        kernel = kernel_lab.observe(ps)
        device = iptables.parse(text, f"random-{i}.rules", backend=kernel_lab.iptables_backend)
        assert device.complete, [str(d) for d in device.diagnostics]
        ours = segcheck_verdicts(device, ps)
        tally.add(text, ps, kernel_lab.recheck(ps, kernel, ours), ours)
    tally.seconds = time.monotonic() - start
    _record(tally.summary(f"iptables IPv{version}"))
    assert not tally.failures, "\n\n".join(tally.failures)
    assert 0.1 * tally.packets < tally.permitted < 0.9 * tally.packets, "probes not discriminating"


EDGE_CASES = [
    # RETURN from a built-in chain applies the policy; later rules do not see the packet.
    """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p tcp --dport 22 -j RETURN
-A FORWARD -p tcp -j ACCEPT
-A FORWARD -p udp -j ACCEPT
COMMIT
""",
    # -g: when the target chain runs out, the caller is left too (policy decides).
    """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
-A FORWARD -p tcp -j A
-A FORWARD -p tcp --dport 80 -j DROP
-A A -p tcp --dport 1000:2000 -g B
-A A -p tcp --sport 53 -j DROP
-A B -p tcp --dport 1500 -j DROP
-A B -p tcp --dport 1001 -j RETURN
-A B -p tcp -j ACCEPT
COMMIT
""",
    # nested RETURNs, LOG in the middle, negated interface wildcard, empty user chain
    """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
:E - [0:0]
-A FORWARD -j E
-A FORWARD ! -i rout+ -j A
-A FORWARD -j LOG --log-prefix "fwd "
-A FORWARD -p udp -j ACCEPT
-A A -s 10.64.1.0/25 -j RETURN
-A A -j B
-A A -p tcp -j ACCEPT
-A B -p tcp --dport 80 -j RETURN
-A B -p tcp -j DROP
-A INPUT -i rin+ -p icmp -m icmp ! --icmp-type 8/1 -j ACCEPT
-A INPUT -m multiport -p tcp --ports 22,53 -j ACCEPT
-A INPUT -m iprange ! --src-range 10.64.1.0-10.64.1.127 -p udp -j ACCEPT
COMMIT
""",
    # states: ! --state, conntrack, -p all, protocol number, REJECT with options
    """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack ! --ctstate NEW -j DROP
-A FORWARD -p 47 -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -p all -s 192.168.1.0/24 -m state --state NEW -j DROP
-A FORWARD -p tcp --tcp-flags SYN,RST,ACK,FIN SYN --dport 1000:2000 -j DROP
-A INPUT -p tcp ! --syn -j DROP
-A INPUT -p tcp --dport 22 -j DROP
COMMIT
""",
    # a mangle chain that drops is a stage before filter; raw too
    """*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp --dport 53 -j DROP
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -s 10.64.0.0/14 -j ACCEPT
-A INPUT -p tcp -j DROP
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -s 10.64.2.0/24 -j DROP
COMMIT
""",
    # the raw table runs before conntrack: every packet is INVALID there
    """*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m state --state NEW -j DROP
-A PREROUTING -p udp -m state --state INVALID -j DROP
-A PREROUTING -p 47 -m conntrack ! --ctstate INVALID -j DROP
COMMIT
""",
    # iptables-nft drops a negated full-range port match (the rule then matches every port)
    """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp ! --dport :65535 -j DROP
-A FORWARD -p tcp ! --sport 0:65535 -j DROP
COMMIT
""",
]


@pytest.mark.parametrize("case", range(len(EDGE_CASES)))
def test_edge_cases_agree_with_kernel(kernel_lab: Lab, case: int) -> None:
    text = EDGE_CASES[case]
    rng = random.Random(case)
    ps: list[Probe] = probes(rng, 4, 400)
    kernel_lab.load_iptables(text, 4)
    kernel = kernel_lab.observe(ps)
    device = iptables.parse(text, f"edge-{case}.rules", backend=kernel_lab.iptables_backend)
    assert device.complete, [str(d) for d in device.diagnostics]
    tally = Tally()
    ours = segcheck_verdicts(device, ps)
    tally.add(text, ps, kernel_lab.recheck(ps, kernel, ours), ours)
    assert not tally.failures, "\n\n".join(tally.failures)
