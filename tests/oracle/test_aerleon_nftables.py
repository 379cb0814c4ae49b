"""nftables parser vs aerleon's ``nftables`` generator (header ``mixed INPUT``).

aerleon renders each random policy as an ``inet filtering_policies`` table: one regular
chain per term and a base chain ``root0`` (hook input, policy drop, established/related
accepted first) that jumps to them in order. segcheck decides each new packet with the
``inet filtering_policies/root0`` filter; >= 100 policies x 100 packets in CI, 100%.

Pinned aerleon 1.18 divergences (the rendering does not mean the policy; each has a test):

- A term whose source and destination addresses share no family (IPv4 sources, IPv6
  destinations) matches no packet, but is rendered *without any address match* — e.g.
  ``ct state new accept``: it permits everything. The agreement run drops such terms.
- An ``icmpv6`` term is rendered ``meta l4proto icmpv6`` without an ``ip6`` qualifier, so in
  an ``inet`` table it also matches IPv4 packets carrying protocol 58; the agreement run
  does not send those (they are not ICMPv6 in the policy's sense).
"""

from __future__ import annotations

import dataclasses
import logging

import pytest

from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.parsers import nftables
from tests.oracle import aerleon_harness as H

pytest.importorskip("aerleon")

ROOT = "inet filtering_policies/root0"


@pytest.fixture(autouse=True)
def _quiet_aerleon() -> None:
    logging.getLogger("absl").setLevel(logging.ERROR)


def _disjoint_families(t: H.Term) -> bool:
    if not t.src or not t.dst:
        return False
    return not ({n.version for n in t.src} & {n.version for n in t.dst})


def _policy(seed: int) -> H.Policy:
    pol = H.random_policy(seed, "nftables")
    terms = tuple(t for t in pol.terms if not _disjoint_families(t))
    return dataclasses.replace(pol, terms=terms or (H.Term("t0", "deny"),))


def _parse(text: str, path: str) -> Device:
    device = nftables.parse(text, path)
    assert device.complete, [str(d) for d in device.diagnostics]
    return device


@pytest.mark.slow  # scales with SEGCHECK_ORACLE_SCALE (make oracle: x10)
def test_nftables_agrees_with_aerleon_policies() -> None:
    checked = agreed = 0
    bad: list[str] = []
    for seed in range(100 * H.scale()):
        pol = _policy(seed)
        device = _parse(H.render(pol, "nftables"), f"<aerleon nftables seed {seed}>")
        for p in H.random_packets(pol, 120, seed):
            if p.version == 4 and p.proto == 58:
                continue
            want = H.reference_verdict(pol, p)
            got = H.filter_verdict(device, ROOT, p)
            checked += 1
            if want == got:
                agreed += 1
            elif len(bad) < 5:
                bad.append(f"seed {seed}: {p}: policy {want} (term "
                           f"{H.reference_term(pol, p)}), segcheck {got}")
    assert checked >= 100 * 100
    assert agreed == checked, f"{agreed}/{checked} agree\n" + "\n".join(bad)


def test_disjoint_family_term_rendering_bug_is_pinned() -> None:
    v4 = H.random_policy(5, "nftables").terms[0]
    assert _disjoint_families(v4)
    pol = H.Policy(seed=5, terms=(v4,))
    device = _parse(H.render(pol, "nftables"), "x")
    p = Packet.make("198.51.100.1", "198.51.100.2", "ah")
    assert H.reference_verdict(pol, p) == "deny"
    assert H.filter_verdict(device, ROOT, p) == "permit"


def test_unqualified_icmpv6_rendering_is_pinned() -> None:
    pol = H.Policy(seed=1, terms=(H.Term("t0", "accept", protocols=("icmpv6",)),))
    device = _parse(H.render(pol, "nftables"), "x")
    odd = Packet(4, 1, 2, 58)
    assert H.reference_verdict(pol, odd) == "deny"
    assert H.filter_verdict(device, ROOT, odd) == "permit"
    ping6 = Packet.make("2001:db8::1", "2001:db8::2", "icmpv6", icmp_type=128)
    assert H.filter_verdict(device, ROOT, ping6) == "permit"
