"""Small policy/topology texts for the policy tests, and a way to find a marker's line:col."""

from __future__ import annotations

from pathlib import Path

BASE = """\
segcheck: 1
suc: TEST
services:
  https: {tcp: [443]}
  modbus: {tcp: [502], app: modbus}
zones:
  - id: z-it
    kind: it
    sl_t: 1
    cidrs: [10.1.0.0/16]
    assets:
      client: {ip: 10.1.0.5, role: client}
  - id: z-ot
    kind: ot
    sl_t: 2
    cidrs: [10.2.0.0/16, "2001:db8:2::/48"]
    assets:
      plc: {ips: [10.2.0.10, 10.2.0.11], role: plc}
conduits:
  - id: C-1
    between: [z-it, z-ot]
    sl_t: 2
    flows:
      - {from: client, to: plc, service: modbus, operations: [read]}
global_rules:
  max_exception_days: 90
  conduit_sl_ge_zone_sl: true
exceptions:
  - {id: E-1, finding: SC-ANY-RULE, object: "fw:1", created: 2026-01-01, expires: 2026-02-01}
"""
"""A clean minimal policy (no lint diagnostics before 2026-02-01)."""

TOPO = """\
segcheck: 1
policy: policy.yaml
devices:
  - id: fw
    vendor: iptables
    config: fw/fw.rules
    management: [10.1.0.1]
    interfaces: {eth0: z-it, eth1: z-ot}
"""


def where(text: str, marker: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the ``nth`` occurrence of ``marker`` in ``text``.

    A ``|`` in the marker points inside it: ``"sl_t: |5"`` is the column of the ``5``.
    """
    pre, _, post = marker.rpartition("|")
    seen = 0
    for i, line in enumerate(text.splitlines(), start=1):
        col = line.find(pre + post)
        if col >= 0:
            if seen == nth:
                return i, col + len(pre) + 1
            seen += 1
    raise AssertionError(f"marker {marker!r} not in text")


def change(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def write_site(tmp: Path, policy: str = BASE, topo: str = TOPO) -> tuple[Path, Path]:
    """policy.yaml, topo.yaml and fw/fw.rules under ``tmp``; returns (policy, topology)."""
    (tmp / "fw").mkdir(exist_ok=True)
    (tmp / "fw" / "fw.rules").write_text("*filter\n:FORWARD DROP [0:0]\nCOMMIT\n")
    p = tmp / "policy.yaml"
    p.write_text(policy)
    t = tmp / "topo.yaml"
    t.write_text(topo)
    return p, t
