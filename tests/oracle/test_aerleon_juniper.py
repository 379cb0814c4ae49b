"""JunOS parser vs aerleon's ``juniper`` (firewall filters) and ``srx`` generators.

- ``juniper`` (header ``f1 mixed``): aerleon emits ``family inet filter f14`` and ``family
  inet6 filter f16``; IPv4 packets are decided by ``inet:f14``, IPv6 by ``inet6:f16``.
- ``srx`` (header ``from-zone a to-zone b mixed``): a global address book, applications and
  ``from-zone a to-zone b`` policies; packets cross from zone ``a`` to ``b`` through the
  device's forward stages (policies, then the default deny-all).

Agreement must be 100% on >= 100 policies x 100 packets per target in CI. aerleon renders the
curly-brace format only; ``test_set_format_renderings_agree`` re-reads each rendering as
``display set`` lines (written from the lexer's statements) so the set-format path meets
the same oracle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.parsers import junos
from segcheck.parsers.junos.lexer import statements
from tests.oracle import aerleon_harness as H

pytest.importorskip("aerleon")


@pytest.fixture(autouse=True)
def _quiet_aerleon() -> None:
    logging.getLogger("absl").setLevel(logging.ERROR)


def _filter_verdict(device: Device, p: Packet) -> str:
    return H.filter_verdict(device, "inet:f14" if p.version == 4 else "inet6:f16", p)


def _srx_verdict(device: Device, p: Packet) -> str:
    return H.zone_verdict(device, p, "a", "b")


def _as_set(text: str) -> str:
    def word(w: str) -> str:
        return f'"{w}"' if (not w or any(c in w for c in ' ;{}[]"#')) else w

    return "".join(f"set {' '.join(word(w) for w in st.words)}\n" for st in statements(text))


@pytest.mark.slow  # scales with SEGCHECK_ORACLE_SCALE (make oracle: x10)
def test_juniper_filters_agree_with_aerleon_policies() -> None:
    out = H.assert_agreement("juniper", junos.parse, _filter_verdict)
    assert out.packets >= 100 * 100


@pytest.mark.slow  # scales with SEGCHECK_ORACLE_SCALE (make oracle: x10)
def test_srx_policies_agree_with_aerleon_policies() -> None:
    out = H.assert_agreement("srx", junos.parse, _srx_verdict)
    assert out.packets >= 100 * 100


@pytest.mark.parametrize(("target", "verdict"), [("juniper", _filter_verdict),
                                                 ("srx", _srx_verdict)])
def test_set_format_renderings_agree(target: str,
                                     verdict: Callable[[Device, Packet], str]) -> None:
    def parse_as_set(text: str, path: str) -> Device:
        return junos.parse(_as_set(text), path)

    H.assert_agreement(target, parse_as_set, verdict, policies=30 * H.scale(), first_seed=5000)


@pytest.mark.parametrize("target", ["juniper", "srx"])
def test_renderings_are_detected_and_complete(target: str) -> None:
    for seed in range(30):
        text = H.render(H.random_policy(seed, target), target)
        assert H.detected_vendor(text) == "junos"
        assert H.detected_vendor(_as_set(text)) == "junos"
        device = junos.parse(text, f"seed{seed}")
        assert device.complete, [str(d) for d in device.diagnostics]


def test_srx_other_zone_pairs_meet_the_default_policy() -> None:
    pol = H.random_policy(3, "srx")
    device = junos.parse(H.render(pol, "srx"), "x")
    for p in H.random_packets(pol, 50, 3):
        assert H.zone_verdict(device, p, "b", "a") == "deny"
        assert H.zone_verdict(device, p, "a", "a") == "deny"


@pytest.mark.parametrize("target", ["juniper", "srx"])
def test_engine_classifier_agrees_on_rendered_filters(target: str) -> None:
    """The fast path ``query`` uses (engine Classifier) decides these filters as the
    reference ``Filter.decide`` does (SRX: specialized to the zone pair a -> b)."""
    from segcheck.engine.filters import Classifier
    from segcheck.model.rules import IfaceContext

    for seed in range(15):
        pol = H.random_policy(seed, target)
        device = junos.parse(H.render(pol, target), "x")
        if target == "srx":
            flts = [device.filters["security-policy"].specialize(IfaceContext(None, "a"),
                                                                 IfaceContext(None, "b"))]
        else:
            flts = [device.filters["inet:f14"], device.filters["inet6:f16"]]
        for flt in flts:
            fast = Classifier(flt)
            for p in H.random_packets(pol, 60, seed):
                assert fast.decide(p)[0] == flt.decide(p)[0], (seed, flt.name, str(p))
