"""iptables parser vs aerleon's ``iptables`` generator (IPv4 and IPv6 renderings).

aerleon renders each random policy as an iptables rule fragment for the ``FORWARD`` chain
(policy ``DROP``, one user chain per term, excludes as ``RETURN`` rules, ``REJECT`` for
reject); segcheck parses it and decides each packet with the ``FORWARD`` filter. The
``inet6`` rendering carries no ``ip6tables`` marker when a policy has no IPv6 address (only
aerleon's ``# inet6`` comment), so it is parsed with ``family=6`` — as a user loading an
``ip6tables`` fragment would. >= 100 policies x 100 packets per family in CI, 100% agreement.
"""

from __future__ import annotations

import logging

import pytest

from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.parsers import iptables
from tests.oracle import aerleon_harness as H

pytest.importorskip("aerleon")


@pytest.fixture(autouse=True)
def _quiet_aerleon() -> None:
    logging.getLogger("absl").setLevel(logging.ERROR)


def _forward(device: Device, p: Packet) -> str:
    return H.filter_verdict(device, "FORWARD", p)


def _parse4(text: str, path: str) -> Device:
    device = iptables.parse(text, path, family=4)
    assert device.complete, [str(d) for d in device.diagnostics]
    return device


def _parse6(text: str, path: str) -> Device:
    device = iptables.parse(text, path, family=6)
    assert device.complete, [str(d) for d in device.diagnostics]
    return device


@pytest.mark.slow  # scales with SEGCHECK_ORACLE_SCALE (make oracle: x10)
def test_iptables_agrees_with_aerleon_policies() -> None:
    out = H.assert_agreement("iptables", _parse4, _forward)
    assert out.packets >= 100 * 100


@pytest.mark.slow  # scales with SEGCHECK_ORACLE_SCALE (make oracle: x10)
def test_ip6tables_agrees_with_aerleon_policies() -> None:
    out = H.assert_agreement("iptables6", _parse6, _forward)
    assert out.packets >= 100 * 100


def test_renderings_are_detected_as_iptables() -> None:
    for seed in range(20):
        for target in ("iptables", "iptables6"):
            text = H.render(H.random_policy(seed, target), target)
            assert H.detected_vendor(text) == "iptables"
