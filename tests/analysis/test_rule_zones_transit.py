"""Regression: SC-ANY-RULE / SC-BROAD-PORTS name the zones a rule's packets really join.

Found with the substation example site: a permit on an edge firewall whose destination lies
behind a second firewall (transit through the DMZ) matched the crossing's own zones on no
crossing, and the finding then named the *first* interface pair the rule sat on — here
``z-it -> z-ext`` for a rule that lets z-it reach z-ot. The zones must be those of the
rule's packets (the witness's addresses), computed by hand below.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from segcheck.analysis.check import run_check

POLICY = """\
segcheck: 1
suc: T
services: {https: {tcp: [443]}}
zones:
  - {id: z-ext, kind: external, purdue_level: 5, cidrs: [198.51.100.0/24]}
  - {id: z-it, kind: it, purdue_level: 4, sl_t: 1, cidrs: [10.1.0.0/16]}
  - {id: z-dmz, kind: dmz, purdue_level: 3.5, sl_t: 2, cidrs: [10.2.0.0/24]}
  - {id: z-ot, kind: ot, purdue_level: 2, sl_t: 2, cidrs: [10.3.0.0/24]}
conduits:
  - {id: C-1, between: [z-it, z-dmz], justification: j, owner: o,
     flows: [{from: z-it, to: z-dmz, service: https}]}
global_rules: {default_action: deny, no_any_in_cross_zone_rules: true, max_port_span: 16}
"""

TOPOLOGY = """\
segcheck: 1
devices:
  - {id: fw-edge, vendor: iptables, config: edge.rules,
     interfaces: {eth0: z-ext, eth1: z-it, eth2: z-dmz}}
  - {id: fw-ot, vendor: iptables, config: ot.rules,
     interfaces: {eth0: z-dmz, eth1: z-ot}}
"""

EDGE = """\
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i eth1 -o eth2 -s 10.1.0.0/16 -d 10.2.0.0/24 -p tcp --dport 443 -j ACCEPT
-A FORWARD -i eth1 -s 10.1.0.0/16 -d 10.3.0.0/24 -j ACCEPT
COMMIT
"""

OT = """\
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i eth0 -o eth1 -s 10.1.0.0/16 -d 10.3.0.0/24 -p tcp --dport 1000:2000 -j ACCEPT
COMMIT
"""


def test_transit_rule_names_the_zones_of_its_packets(tmp_path: Path) -> None:
    for name, text in (("p.yaml", POLICY), ("t.yaml", TOPOLOGY), ("edge.rules", EDGE),
                       ("ot.rules", OT)):
        (tmp_path / name).write_text(text)
    result = run_check(tmp_path / "p.yaml", tmp_path / "t.yaml", today=date(2026, 6, 1)).result
    got = {(f.code, f.src_zone, f.dst_zone, f.evidence[0].device, f.evidence[0].span.line)
           for f in result.findings if f.code in ("SC-ANY-RULE", "SC-BROAD-PORTS")}
    # edge.rules:6 (any service, z-it -> 10.3.0.0/24 = z-ot) crosses fw-edge eth1->eth2 or
    # eth1->eth0; ot.rules:5 (1001 ports) crosses fw-ot z-dmz -> z-ot with z-it sources.
    assert got == {("SC-ANY-RULE", "z-it", "z-ot", "fw-edge", 6),
                   ("SC-BROAD-PORTS", "z-it", "z-ot", "fw-ot", 5)}
    # unnamed rules are named file-basename:line, never by the checkout's absolute path
    msgs = [f.message for f in result.findings]
    assert any("rule edge.rules:6 permits" in m for m in msgs)
    assert not any(str(tmp_path) in m for m in msgs)
