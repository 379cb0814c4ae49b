"""The iptables parser's fast paths give exactly the general paths' answers.

- ``common.address_ranges`` parses canonical dotted IPv4 (``a.b.c.d[/len]``) without
  ``ipaddress``; oracle: ``ipaddress.ip_network(strict=False)`` (and its errors).
- ``rulespec._plain_rule`` parses plain rules (the common shape of large exports) on a fast
  path; oracle: ``rulespec._general_rule`` on the same words, errors included. Its
  ``model.rules.trusted_match`` equals the checked ``Match`` constructor, and
  ``model.rules.fast_rule`` (used when chains are flattened) equals ``Rule``.
- ``rulespec._Collector`` meets one-box conditions field by field instead of conjoining one
  ``Match`` per condition; oracle: ``common.conjoin`` of those conditions as ``Match``es,
  built independently here from the rule's words.
"""

from __future__ import annotations

import ipaddress
from dataclasses import fields, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from segcheck.model import ranges as R
from segcheck.model.rules import (
    RULE_FIELDS,
    Action,
    IfaceMatch,
    Match,
    Rule,
    fast_rule,
    trusted_match,
)
from segcheck.model.source import SourceSpan
from segcheck.parsers import common
from segcheck.parsers.iptables.rulespec import SpecError, _general_rule, _plain_rule, parse_rule

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


# -- plain rules: ``rulespec._plain_rule`` must give exactly ``_general_rule``'s answer ------

_PLAIN_WORDS = {
    "-s": ["10.1.2.0/24", "10.1.2.3", "10.1.2.3/32", "0.0.0.0/0", "10.1.2.3/33", "010.1.2.3",
           "10.0.0.0/255.255.0.0", "10.0.0.1-10.0.0.9", "a,b", "10.0.0.1,10.0.0.2", "",
           "::1", "2001:db8::/32", "!", "host"],
    "-i": ["eth0", "eth+", "", "a" * 16, "a/b", "a b", "!"],
    "-p": ["tcp", "udp", "TCP", "icmp", "all", "6", "sctp", "dccp", "udplite", "bogus", "!"],
    "-m": ["tcp", "udp", "multiport", "limit", "TCP", "!"],
    "--dport": ["80", "080", "65535", "65536", "80:90", ":90", "80:", "90:80", "http", "70000",
                "1,2", "x", "0:65535", "²",
                "!"],
    "-j": ["ACCEPT", "DROP", "REJECT", "LOG", "MYCHAIN", "!"],
}
_ALIASES = {"-s": ["-s", "-d", "--source", "--dst"], "-i": ["-i", "-o", "--in-interface"],
            "-p": ["-p", "--protocol"], "-m": ["-m", "--match"],
            "--dport": ["--dport", "--sport", "--destination-port", "--source-port"],
            "-j": ["-j", "--jump"]}


@st.composite
def plain_ish(draw: st.DrawFn) -> list[str]:
    """Mostly plain rule words, with every way of not being plain mixed in: repeats, ``!``,
    lists, bad values, options outside the plain set, odd word counts, target options."""
    words: list[str] = []
    for _ in range(draw(st.integers(0, 9))):
        opt = draw(st.sampled_from(sorted(_PLAIN_WORDS)))
        words += [draw(st.sampled_from(_ALIASES[opt])), draw(st.sampled_from(_PLAIN_WORDS[opt]))]
    if draw(st.integers(0, 9)) == 0:
        extra = draw(st.sampled_from([["!"], ["--reject-with", "tcp-reset"], ["-g", "X"],
                                      ["--syn"], ["-f"], ["--comment", "c"], ["-4"]]))
        at = draw(st.integers(0, len(words)))
        words[at:at] = extra
    return words


def _outcome(fn: object, words: list[str], family: int) -> str:
    try:
        return repr(fn("FORWARD", list(words), family, None, None))  # type: ignore[operator]
    except SpecError as exc:
        return f"SpecError: {exc}"


@settings(max_examples=1500)
@given(plain_ish(), st.sampled_from([4, 6]))
def test_plain_rule_fast_path_equals_general_path(words: list[str], family: int) -> None:
    assert _outcome(parse_rule, words, family) == _outcome(_general_rule, words, family), words


def test_plain_rule_fast_path_is_taken_for_plain_lines() -> None:
    """The fast path is really used (the test above would pass without it)."""
    words = "-s 10.1.0.0/16 -d 10.2.3.4 -i eth0 -o eth1 -p tcp -m tcp --dport 80:90 -j DROP"
    spec = _plain_rule("FORWARD", words.split(), 4)
    assert spec is not None
    assert repr(spec) == repr(_general_rule("FORWARD", words.split(), 4, None, None))
    assert _plain_rule("FORWARD", ["!", *words.split()], 4) is None


@settings(max_examples=300)
@given(st.sampled_from([None, 4, 6]), st.booleans(), st.booleans(),
       st.sampled_from([None, 6, 17, 1]), st.booleans(), st.booleans())
def test_trusted_match_equals_checked_match(family: int | None, src: bool, dst: bool,
                                            proto: int | None, ports: bool,
                                            ifaces: bool) -> None:
    top = (1 << (32 if family != 6 else 128)) - 1
    kw: dict[str, object] = {
        "family": family,
        "src": ((1, 5), (9, top)) if src and family else None,
        "dst": ((0, 0),) if dst and family else None,
        "protocols": R.single(proto) if proto is not None else None,
        "sports": R.single(1, 2) if ports and proto in (6, 17) else None,
        "dports": ((80, 80), (443, 443)) if ports and proto in (6, 17) else None,
        "in_iface": (IfaceMatch(("eth0",)),) if ifaces else (),
        "out_iface": (IfaceMatch(("eth+",), negate=True),) if ifaces else (),
    }
    checked = Match(**kw)  # type: ignore[arg-type]
    trusted = trusted_match(**kw)  # type: ignore[arg-type]
    assert trusted == checked
    assert hash(trusted) == hash(checked)
    assert repr(trusted) == repr(checked)


def test_rule_fields_list_is_complete() -> None:
    """``fast_rule`` sets every field of ``Rule`` (a new field must be added to it)."""
    assert tuple(f.name for f in fields(Rule)) == RULE_FIELDS


def test_match_fields_list_is_complete() -> None:
    """``trusted_match`` and ``Match.without_ifaces`` set every field of ``Match``, the
    interface conditions last."""
    from segcheck.model import rules

    assert tuple(f.name for f in fields(Match)) == rules._FIELDS
    assert rules._FIELDS[-2:] == ("in_iface", "out_iface")


@given(st.booleans(), st.booleans(), st.booleans())
def test_field_copies_equal_replace(icmp: bool, states: bool, ifaces: bool) -> None:
    """``Match.without_ifaces`` and ``Rule.with_matches`` (slot-setter copies) equal
    ``dataclasses.replace`` — same value, hash and repr."""
    m = Match(family=4, src=((1, 9),), protocols=R.single(1 if icmp else 6),
              dports=None if icmp else ((22, 22),), icmp_types=R.single(8) if icmp else None,
              states=frozenset({"new"}) if states else None,
              in_iface=(IfaceMatch(("eth0",)),) if ifaces else (),
              out_iface=(IfaceMatch(("eth+",), negate=True),) if ifaces else ())
    stripped, reference = m.without_ifaces(), replace(m, in_iface=(), out_iface=())
    assert (stripped, hash(stripped), repr(stripped)) == (
        reference, hash(reference), repr(reference))
    rule = Rule(Action.DENY, (m,), SourceSpan("a.rules", 2), name="r", detail="DROP",
                excludes=(Match(family=4),), extra_spans=(SourceSpan("a.rules", 1),))
    copy, reference_rule = rule.with_matches((stripped,), ()), replace(
        rule, matches=(stripped,), excludes=())
    assert (copy, hash(copy), repr(copy)) == (
        reference_rule, hash(reference_rule), repr(reference_rule))


@settings(max_examples=100)
@given(st.sampled_from(list(Action)), st.booleans(), st.booleans(), st.text(max_size=3),
       st.booleans())
def test_fast_rule_equals_rule(action: Action, enabled: bool, synthetic: bool, name: str,
                               extras: bool) -> None:
    span = SourceSpan("a.rules", 3, "-A FORWARD -j ACCEPT")
    kw: dict[str, object] = {
        "name": name, "enabled": enabled, "synthetic": synthetic, "detail": name * 2,
        "excludes": (Match(family=4),) if extras else (),
        "extra_spans": (SourceSpan("a.rules", 1),) if extras else ()}
    ms = (Match(protocols=R.single(6)),)
    fast = fast_rule(action, ms, span, **kw)  # type: ignore[arg-type]
    slow = Rule(action, ms, span, **kw)  # type: ignore[arg-type]
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
