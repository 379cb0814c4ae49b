"""The harness's reference meaning vs aerleon's own policy evaluator (``aclcheck``).

``aerleon_harness.reference_verdict`` is the yardstick every vendor oracle test uses, so it
is checked against an independent implementation: aerleon's ``AclCheck`` evaluates a
policy for one concrete packet. ``AclCheck`` ignores excludes and ICMP types, so this test
uses the random policies without those two features (the rest — address families, port
ranges, protocol lists, term order, actions — is compared as generated).
"""

from __future__ import annotations

import dataclasses
import logging

import pytest

from segcheck.model.packet import Packet
from tests.oracle import aerleon_harness as H

pytest.importorskip("aerleon")

_NAMES = {6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah", 132: "sctp"}


@pytest.fixture(autouse=True)
def _quiet_aerleon() -> None:
    logging.getLogger("absl").setLevel(logging.ERROR)


def _plain_policy(seed: int) -> H.Policy:
    pol = H.random_policy(seed)
    terms = tuple(dataclasses.replace(t, src_exclude=(), dst_exclude=())
                  for t in pol.terms if not {"icmp", "icmpv6"} & set(t.protocols))
    return dataclasses.replace(pol, terms=terms or (H.Term("t0", "accept"),))


def _aclcheck_verdict(pol: H.Policy, p: Packet) -> str:
    from aerleon.lib import aclcheck, naming

    policy_dict, defs = pol.to_aerleon("cisco")
    definitions = naming.Naming()
    definitions.ParseDefinitionsObject(defs, "")
    ports = p.proto in (6, 17, 132)
    check = aclcheck.AclCheck.FromPolicyDict(
        policy_dict, definitions, str(p.src_ip), str(p.dst_ip),
        p.sport if ports else "any", p.dport if ports else "any",
        _NAMES.get(p.proto, str(p.proto)),
    )
    exact = check.ExactMatches()
    if not exact:
        return "deny"
    return "permit" if "accept" in exact[0].action else "deny"


@pytest.mark.slow  # scales with SEGCHECK_ORACLE_SCALE (make oracle: x10)
def test_reference_meaning_agrees_with_aerleon_aclcheck() -> None:
    checked = 0
    bad: list[str] = []
    for seed in range(40 * H.scale()):
        pol = _plain_policy(seed)
        for p in H.random_packets(pol, 50, seed):
            if p.proto not in _NAMES or (p.proto in (6, 17, 132) and 0 in (p.sport, p.dport)):
                continue  # aclcheck reads port 0 as "any"
            checked += 1
            want = _aclcheck_verdict(pol, p)
            got = H.reference_verdict(pol, p)
            if want != got and len(bad) < 5:
                bad.append(f"seed {seed}: {p}: aclcheck {want}, reference {got}")
    assert checked > 500
    assert not bad, "\n".join(bad)
