"""The iptables parser's fast paths give exactly the general paths' answers.

- ``common.address_ranges`` parses canonical dotted IPv4 (``a.b.c.d[/len]``) without
  ``ipaddress``; oracle: ``ipaddress.ip_network(strict=False)`` (and its errors).
- ``rulespec._Collector`` meets one-box conditions field by field instead of conjoining one
  ``Match`` per condition; oracle: ``common.conjoin`` of those conditions as ``Match``es,
  built independently here from the rule's words.
"""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from segcheck.model import ranges as R
from segcheck.model.rules import IfaceMatch, Match
from segcheck.parsers import common
from segcheck.parsers.iptables.rulespec import parse_rule

octet = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["00", "01", "010", "255"]))
plen = st.one_of(st.none(), st.integers(0, 40).map(str), st.sampled_from(["00", "08", ""]))


@settings(max_examples=400)
@given(st.lists(octet, min_size=4, max_size=4), plen)
def test_v4_fast_path_equals_ipaddress(octets: list[str], length: str | None) -> None:
    text = ".".join(octets) + ("" if length is None else "/" + length)
    try:
        net = ipaddress.ip_network(text, strict=False)
        want: object = ((int(net.network_address), int(net.broadcast_address)),)
    except ValueError:
        want = ValueError
    try:
        got: object = common.address_ranges(text, 4)
    except ValueError:
        got = ValueError
    assert got == want, text


def _addr(draw: st.DrawFn) -> str:
    a = draw(st.integers(0, 3))
    b = draw(st.integers(0, 255))
    n = draw(st.sampled_from([16, 24, 30, 32]))
    return f"10.{a}.{b}.{draw(st.integers(0, 255))}/{n}"


@st.composite
def rules(draw: st.DrawFn) -> tuple[list[str], list[tuple[Match, ...]]]:
    """Rule words and, built independently, one disjunction of ``Match``es per condition."""
    words: list[str] = []
    parts: list[tuple[Match, ...]] = [(Match(family=4),)]
    for side, opt in (("src", "-s"), ("dst", "-d")):
        for _ in range(draw(st.integers(0, 2))):  # repeated options conjoin
            text = _addr(draw)
            neg = draw(st.booleans())
            rs = common.address_ranges(text, 4)
            if neg:
                rs = R.complement(rs, (1 << 32) - 1)
            words += (["!"] if neg else []) + [opt, text]
            parts.append((Match(family=4, src=rs) if side == "src" else Match(family=4, dst=rs),))
    for opt, field in (("-i", "in_iface"), ("-o", "out_iface")):
        if draw(st.booleans()):
            name, neg = draw(st.sampled_from(["eth0", "eth+", "br1"])), draw(st.booleans())
            words += (["!"] if neg else []) + [opt, name]
            parts.append((Match(**{field: (IfaceMatch((name,), negate=neg),)}),))
    proto = draw(st.sampled_from([None, "tcp", "udp", "icmp"]))
    if proto is not None:
        num = {"tcp": 6, "udp": 17, "icmp": 1}[proto]
        words += ["-p", proto]
        parts.append((Match(family=4, protocols=R.single(num)),))
        if proto in ("tcp", "udp") and draw(st.booleans()):
            lo = draw(st.integers(0, 65535))
            hi = draw(st.integers(lo, 65535))
            neg = draw(st.booleans())
            ports = R.single(lo, hi)
            sel = R.complement(ports, 65535) if neg else ports
            words += ["-m", proto] + (["!"] if neg else []) + ["--dport", f"{lo}:{hi}"]
            parts.append((Match(protocols=R.single(num), dports=sel),))
            if proto == "tcp" and draw(st.booleans()):  # --ports: two boxes
                p = draw(st.integers(1, 65535))
                words += ["-m", "multiport", "--ports", str(p)]
                parts.append((Match(protocols=R.single(6), sports=R.single(p)),
                               Match(protocols=R.single(6), dports=R.single(p))))
        if proto == "icmp" and draw(st.booleans()):
            neg = draw(st.booleans())
            words += ["-m", "icmp"] + (["!"] if neg else []) + ["--icmp-type", "3/1"]
            if neg:
                parts.append((
                    Match(family=4, protocols=R.single(1),
                          icmp_types=R.complement(R.single(3), 255)),
                    Match(family=4, protocols=R.single(1), icmp_types=R.single(3),
                          icmp_codes=R.complement(R.single(1), 255))))
            else:
                parts.append((Match(family=4, protocols=R.single(1), icmp_types=R.single(3),
                                    icmp_codes=R.single(1)),))
    if draw(st.booleans()):
        states = draw(st.sampled_from(["NEW", "ESTABLISHED,RELATED", "NEW,ESTABLISHED"]))
        neg = draw(st.booleans())
        words += ["-m", "conntrack"] + (["!"] if neg else []) + ["--ctstate", states]
        named = {s.lower() for s in states.split(",")}
        full = {"new", "established", "related", "invalid", "untracked"}
        parts.append((Match(states=frozenset(full - named if neg else named)),))
    words += ["-j", "ACCEPT"]
    return words, parts


@settings(max_examples=400)
@given(rules())
def test_collector_equals_conjoin(rule: tuple[list[str], list[tuple[Match, ...]]]) -> None:
    words, parts = rule
    spec = parse_rule("FORWARD", words, 4, None, "legacy")
    assert not spec.problem, spec.problem
    assert spec.matches == common.conjoin(parts), words


interval = st.tuples(st.integers(-3, 40), st.integers(-3, 40))


@settings(max_examples=500)
@given(st.lists(st.one_of(interval, interval.map(list)), max_size=5), st.booleans())
def test_match_normalized_check_equals_normalize(items: list[object], as_list: bool) -> None:
    """``Match`` validation's linear check says exactly what ``normalize(v) == v`` says."""
    from segcheck.model.rules import _normalized

    value = items if as_list else tuple(items)
    assert _normalized(value) == (R.normalize(value) == value)  # type: ignore[arg-type]
