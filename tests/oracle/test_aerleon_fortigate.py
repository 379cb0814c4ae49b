"""FortiGate parser vs aerleon's ``fortigate`` generator (differential oracle, 100 x 100 in CI).

aerleon (1.18 has a ``fortigate`` target) renders each random policy as ``config firewall
policy`` entries from interface ``a`` to ``b``; segcheck parses the CLI back and decides
each packet crossing ``a -> b``. The verdict must equal the policy's own first-match
meaning (``aerleon_harness``). The harness already avoids what this generator cannot
render (no ``reject``, no ICMP terms).

Pinned aerleon bug (1.18): a term with a protocol but no ports (``tcp`` alone, or ``esp``,
``ah``, ``gre``, ``sctp``) is rendered with ``set service "ALL"`` — any protocol — so the
rendering permits/denies more than the term. ``test_aerleon_portless_protocol_bug_is_pinned``
shows it; the agreement run gives such tcp/udp terms the explicit range 1-65535 and turns
other-protocol terms into any-protocol terms (both then mean what aerleon renders).
"""

from __future__ import annotations

import dataclasses
import logging

import pytest

from segcheck.model.packet import Packet
from segcheck.parsers import fortigate
from tests.oracle import aerleon_harness as H

pytest.importorskip("aerleon")


@pytest.fixture(autouse=True)
def _quiet_aerleon() -> None:
    logging.getLogger("absl").setLevel(logging.ERROR)


def _renderable(t: H.Term) -> H.Term:
    if t.protocols and set(t.protocols) <= set(H.PORT_PROTOS) and not t.dports:
        return dataclasses.replace(t, dports=((1, 65535),))
    if t.protocols and not set(t.protocols) <= set(H.PORT_PROTOS):
        return dataclasses.replace(t, protocols=())
    return t


def _policy(seed: int) -> H.Policy:
    pol = H.random_policy(seed, "fortigate")
    return dataclasses.replace(pol, terms=tuple(_renderable(t) for t in pol.terms))


@pytest.mark.slow
def test_fortigate_agrees_with_aerleon_policies() -> None:
    checked = agreed = 0
    bad: list[str] = []
    for seed in range(100 * H.scale()):
        pol = _policy(seed)
        device = fortigate.parse(H.render(pol, "fortigate"), f"<aerleon fortigate {seed}>")
        for p in H.random_packets(pol, 100, seed):
            want = H.reference_verdict(pol, p)
            got = H.zone_verdict(device, p, "a", "b")
            checked += 1
            if want == got:
                agreed += 1
            elif len(bad) < 5:
                bad.append(f"seed {seed}: {p}: policy {want} (term "
                           f"{H.reference_term(pol, p)}), segcheck {got}")
    assert checked >= 100 * 100
    assert agreed == checked, f"{agreed}/{checked} agree\n" + "\n".join(bad)


def test_fortigate_renderings_are_complete() -> None:
    for seed in range(40):
        device = fortigate.parse(H.render(_policy(seed), "fortigate"), f"seed{seed}")
        assert device.complete, [str(d) for d in device.diagnostics]


def test_aerleon_portless_protocol_bug_is_pinned() -> None:
    """When aerleon renders protocol-only terms properly, drop ``_renderable``."""
    term = H.Term("t0", "accept", protocols=("esp",))
    pol = H.Policy(seed=0, terms=(term,))
    text = H.render(pol, "fortigate")
    assert 'set service "ALL"' in text
    device = fortigate.parse(text, "bug")
    tcp = Packet.make("10.0.0.1", "10.0.0.2", "tcp", 1000, 80)
    # The rendering permits TCP although the term only names ESP.
    assert H.reference_verdict(pol, tcp) == "deny"
    assert H.zone_verdict(device, tcp, "a", "b") == "permit"

