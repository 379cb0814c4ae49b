"""PacketSet against brute force: every operation on a tiny universe, every packet."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from segcheck.engine.mdd import TRUE
from segcheck.engine.packetset import PacketSet
from segcheck.engine.vector import flatten, walk
from segcheck.model import ranges as R
from segcheck.model.packet import Packet
from segcheck.model.rules import Match

from .strategies import TINY, TINY2, all_packets, matches

PACKETS = {id(u): all_packets(u) for u in (TINY, TINY2)}
NATIVE_FREE = True
"""PacketSet's algebra is pure Python in both engine modes: one pass is enough."""


def brute(ms: list[Match], u: object) -> frozenset[Packet]:
    return frozenset(p for p in PACKETS[id(u)] if any(m.contains(p) for m in ms))


def as_set(s: PacketSet) -> frozenset[Packet]:
    """Members by the vectorised walk (cross-checked against ``contains`` on a sample)."""
    pk = PACKETS[id(s.universe_of)]
    hits = walk(s.universe_of, flatten(s.universe_of, s.node), pk)
    out = frozenset(p for p, t in zip(pk, hits, strict=True) if t == TRUE)
    assert all((p in out) == s.contains(p) for p in pk[::97])
    return out


@st.composite
def operands(draw: st.DrawFn) -> tuple[object, list[Match], list[Match]]:
    u = draw(st.sampled_from([TINY, TINY2]))
    a = draw(st.lists(matches(u), max_size=3))
    b = draw(st.lists(matches(u), max_size=3))
    return u, a, b


@given(operands())
@settings(max_examples=50)
@example((TINY, [Match(family=6)], [Match(family=4)]))
@example((TINY, [Match(protocols=R.single(47))], [Match(family=4, protocols=R.single(58))]))
def test_algebra_matches_brute_force(ops: tuple[object, list[Match], list[Match]]) -> None:
    u, ma, mb = ops
    a = PacketSet.from_matches(ma, u)  # type: ignore[arg-type]
    b = PacketSet.from_matches(mb, u)  # type: ignore[arg-type]
    sa, sb = brute(ma, u), brute(mb, u)
    everything = frozenset(PACKETS[id(u)])
    assert as_set(a) == sa
    assert as_set(b) == sb
    assert as_set(a | b) == sa | sb
    assert as_set(a & b) == sa & sb
    assert as_set(a - b) == sa - sb
    assert as_set(a ^ b) == sa ^ sb
    assert as_set(~a) == everything - sa
    assert a.is_empty() == (not sa)
    assert (a == b) == (sa == sb)
    assert (a <= b) == (sa <= sb)
    assert ~~a == a
    assert (a | b) - b == a - b
    w = a.sample()
    assert (w is None) == (not sa)
    if w is not None:
        assert w in sa
    cover = a.to_matches()
    assert brute(cover, u) == sa
    assert PacketSet.from_matches(cover, u) == a  # type: ignore[arg-type]
    pp = dict(a.protocols_and_ports())
    assert set(pp) == {p.proto for p in sa}
    for proto, ports in pp.items():
        want = R.normalize((p.dport, p.dport) for p in sa if p.proto == proto)
        assert ports == (want if proto in (6, 17) else ())
    assert isinstance(a.summary(), str)


def test_families_never_mix() -> None:
    v4 = PacketSet.from_match(Match(family=4))
    v6 = PacketSet.from_match(Match(family=6))
    both = PacketSet.from_match(Match())
    assert (v4 & v6).is_empty()
    assert v4 | v6 == both == PacketSet.universe()
    p6 = Packet.make("::1", "::2", "tcp", 1000, 22)
    p4 = Packet.make("10.0.0.1", "10.0.0.2", "tcp", 1000, 22)
    assert p6 not in v4
    assert p4 in v4
    assert p6 in v6
    assert p6 in both


def test_states_other_than_new_are_empty() -> None:
    assert PacketSet.from_match(Match(states=frozenset({"established"}))).is_empty()
    assert PacketSet.from_match(Match(states=frozenset({"new"}))) == PacketSet.universe()


def test_interface_conditions_must_be_resolved() -> None:
    from segcheck.model.rules import IfaceMatch

    with pytest.raises(ValueError, match="interface"):
        PacketSet.from_match(Match(in_iface=(IfaceMatch(("eth0",)),)))


def test_real_universe_summary_and_sample() -> None:
    src = R.from_networks([ipaddress.ip_network("10.10.0.0/16")])
    dst = R.from_networks([ipaddress.ip_network("10.40.1.0/24")])
    s = PacketSet.from_match(Match(family=4, src=src, dst=dst, protocols=R.single(6),
                                   dports=((502, 502), (3389, 3389))))
    assert s.summary() == "tcp/502,3389 from 10.10.0.0/16 to 10.40.1.0/24"
    w = s.sample()
    assert w == Packet.make("10.10.0.1", "10.40.1.1", "tcp", 49152, 502)
    assert s.protocols_and_ports() == [(6, ((502, 502), (3389, 3389)))]
    v6 = PacketSet.from_match(Match(family=6, dst=R.from_networks(
        [ipaddress.ip_network("2001:db8::/32")]), protocols=R.single(17), dports=R.single(53)))
    assert v6.summary() == "udp/53 from ::/0 to 2001:db8::/32"
    assert v6.sample() == Packet.make("::1", "2001:db8::1", "udp", 49152, 53)
    assert PacketSet.universe().summary() == "any"
    assert PacketSet.empty().summary() == "nothing"
    assert PacketSet.empty().sample() is None


def test_complement_is_relative_to_canonical_packets() -> None:
    tcp = PacketSet.from_match(Match(protocols=R.single(6)))
    rest = ~tcp
    assert Packet.make("10.0.0.1", "10.0.0.2", "udp", 1, 2) in rest
    assert Packet.make("10.0.0.1", "10.0.0.2", "tcp", 1, 2) not in rest
    assert rest | tcp == PacketSet.universe()
