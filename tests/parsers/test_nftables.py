"""nftables parser: tiny fixtures per feature (text and JSON), the corpus, and bad input.
(Semantics at scale are checked against the kernel in tests/oracle.)"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segcheck.errors import ConfigParseError
from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import IfaceContext
from segcheck.model.source import Level
from segcheck.parsers import nftables
from tests.conftest import CORPUS


def verdicts(d: Device, p: Packet, state: str = "new", i: str | None = "lan0",
             o: str | None = "wan0", local: bool = False) -> list[tuple[str, str, int | None]]:
    """(filter, verdict, line) for every stage the packet crosses, in order."""
    out = []
    for stage in d.local if local else d.forward:
        f = d.filters[stage.filter]
        action, rule = f.decide(p, state, IfaceContext(i), IfaceContext(None if local else o))
        out.append((stage.filter, action.value, None if rule is None else rule.span.line))
    return out


RULESET = """define web = { 80, 443 }
table inet filter {
  set admins {
    type ipv4_addr
    flags interval
    elements = { 10.0.0.0/24,
                 10.0.9.1-10.0.9.9 }
  }
  chain web {
    tcp dport $web accept
    ip saddr 10.0.1.0/24 return
    drop
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan*" oifname != "dmz0" ip saddr @admins tcp dport 22 accept comment "ssh"
    meta l4proto tcp jump web
    udp dport { 53, 1000-2000 } counter accept
    ip6 daddr 2001:db8::/32 icmpv6 type echo-request accept
    ip saddr . tcp dport { 10.0.5.5 . 25 } accept
    tcp dport vmap { 23 : drop, 8080 : jump web }
  }
  chain input {
    type filter hook input priority 0; policy accept;
    ct state != { established, related } iifname "wan0" drop
  }
}
table ip extra {
  chain f {
    type filter hook forward priority 10; policy accept;
    ip saddr 10.0.2.0/24 drop
  }
}
"""


def test_text_features() -> None:
    d = nftables.parse(RULESET, "fw.nft")
    assert d.complete, [str(x) for x in d.diagnostics]
    assert [s.filter for s in d.forward] == ["inet filter/forward", "ip extra/f"]
    assert [s.filter for s in d.local] == ["inet filter/input"]
    fwd = d.filters["inet filter/forward"]
    assert fwd.default_span is not None
    assert fwd.default_span.line == 15
    ssh = Packet.make("10.0.9.5", "10.9.0.1", "tcp", 1000, 22)
    assert verdicts(d, ssh)[0] == ("inet filter/forward", "permit", 17)
    assert fwd.rules[1].name == "ssh"
    assert verdicts(d, ssh, o="dmz0")[0] == ("inet filter/forward", "deny", 12)  # web: drop
    web = Packet.make("10.0.1.1", "10.9.0.1", "tcp", 1, 443)
    assert verdicts(d, web)[0][1:] == ("permit", 10)
    ret = Packet.make("10.0.1.1", "10.9.0.1", "tcp", 1, 23)
    assert verdicts(d, ret)[0][1:] == ("deny", 22)  # returned from web, then the vmap
    assert verdicts(d, Packet.make("10.0.5.5", "1.1.1.1", "tcp", 1, 25))[0][1:] == ("deny", 12)
    assert verdicts(d, Packet.make("10.0.3.1", "1.1.1.1", "udp", 1, 1500))[0][1:] == ("permit", 19)
    assert verdicts(d, ssh, state="established")[0][1:] == ("permit", 16)


def test_several_base_chains_must_all_accept_and_ip_tables_skip_ipv6() -> None:
    d = nftables.parse(RULESET, "fw.nft")
    p = Packet.make("10.0.2.1", "10.9.0.1", "udp", 1, 53)
    assert verdicts(d, p) == [("inet filter/forward", "permit", 19), ("ip extra/f", "deny", 32)]
    v6 = Packet.make("2001:db8:1::1", "2001:db8::1", "icmpv6", icmp_type=128)
    got = verdicts(d, v6)
    assert got[0] == ("inet filter/forward", "permit", 20)
    assert got[1][1] == "permit"  # the ip table's synthetic rule lets IPv6 through
    assert d.filters["ip extra/f"].rules[0].synthetic


def test_local_stage() -> None:
    d = nftables.parse(RULESET, "fw.nft")
    p = Packet.make("1.2.3.4", "10.0.0.1", "tcp", 1, 22)
    assert verdicts(d, p, i="wan0", local=True) == [("inet filter/input", "deny", 26)]
    assert verdicts(d, p, i="lan0", local=True) == [("inet filter/input", "permit", None)]


def test_ct_state_not_equal_flag_list_matches_everything() -> None:
    text = ("table inet t {\n chain f {\n  type filter hook forward priority 0; policy accept;\n"
            "  ct state != established,new drop\n }\n}\n")
    d = nftables.parse(text, "x.nft")
    p = Packet.make("10.0.0.1", "10.0.0.2", "tcp", 1, 2)
    assert verdicts(d, p)[0][1:] == ("deny", 4)


def test_json_matches_text_and_has_columns() -> None:
    doc = {"nftables": [
        {"metainfo": {"version": "1.0.6"}},
        {"table": {"family": "inet", "name": "t"}},
        {"chain": {"family": "inet", "table": "t", "name": "fwd", "type": "filter",
                   "hook": "forward", "prio": 0, "policy": "drop"}},
        {"rule": {"family": "inet", "table": "t", "chain": "fwd", "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                       "right": {"prefix": {"addr": "10.0.0.0", "len": 8}}}},
            {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                       "right": {"set": [22, {"range": [1000, 2000]}]}}},
            {"counter": None}, {"accept": None}]}},
        {"rule": {"family": "inet", "table": "t", "chain": "fwd", "expr": [
            {"match": {"op": "in", "left": {"ct": {"key": "state"}},
                       "right": ["established", "related"]}}, {"accept": None}]}},
    ]}
    text = json.dumps(doc)
    d = nftables.parse(text, "x.json")
    assert d.complete
    rules = d.filters["inet t/fwd"].rules
    assert [r.span.line for r in rules] == [1, 1]
    assert rules[0].span.col < rules[1].span.col
    assert d.filters["inet t/fwd"].decide(Packet.make("10.1.1.1", "1.1.1.1", "tcp", 1, 1500))[
        1] is rules[0]
    assert d.filters["inet t/fwd"].decide(Packet.make("10.1.1.1", "1.1.1.1", "tcp", 1, 80),
                                          "established")[1] is rules[1]


def test_unsupported_statements_are_diagnosed_with_lines() -> None:
    text = ("table inet t {\n chain f {\n  type filter hook forward priority 0;\n"
            "  meta mark 0x1 drop\n  limit rate 10/second accept\n  tcp dport 22 queue\n"
            "  tcp dport 80 counter\n  ip saddr . tcp dport != { 10.0.0.1 . 22 } drop\n"
            "  fib daddr type local drop\n }\n}\ntable netdev n {\n chain i {\n"
            "  type filter hook ingress device eth0 priority 0; policy drop;\n }\n}\n"
            "table ip nat {\n chain pre {\n  type nat hook prerouting priority dstnat;\n"
            "  tcp dport 80 dnat to 10.0.0.5\n }\n}\ninclude \"other.nft\"\n")
    d = nftables.parse(text, "x.nft")
    got = {(x.span.line if x.span else 0, x.level) for x in d.diagnostics}
    assert {(4, Level.UNSUPPORTED), (5, Level.UNSUPPORTED), (6, Level.UNSUPPORTED),
            (8, Level.UNSUPPORTED), (9, Level.UNSUPPORTED), (12, Level.UNSUPPORTED),
            (20, Level.UNSUPPORTED), (23, Level.UNSUPPORTED)} <= got
    assert (7, Level.UNSUPPORTED) not in got  # a counter-only rule cannot decide
    assert [n.kind for n in d.nat] == ["dnat"]
    assert not d.complete


def test_bad_input_is_an_error_not_a_crash() -> None:
    with pytest.raises(ConfigParseError):
        nftables.parse("{ not json", "x.json")
    with pytest.raises(ConfigParseError):
        nftables.parse('{"something": []}', "x.json")
    with pytest.raises(ConfigParseError):
        nftables.parse("hostname fw\n", "x.cfg")
    d = nftables.parse("table inet t {\n chain f {\n  ip saddr 10.0.0.300 accept\n"
                       "  jump nowhere\n", "x.nft")
    lines = {(x.span.line if x.span else 0, x.code) for x in d.diagnostics}
    assert (3, "nftables.syntax") in lines
    assert (4, "nftables.bad-jump") in lines
    assert any(x.code == "nftables.syntax" and "unbalanced" in x.message for x in d.diagnostics)


def test_corpus_files_parse_or_fail_cleanly(corpus: Path) -> None:
    files = sorted(p for p in (corpus / "firewalls" / "nftables").rglob("*") if p.is_file())
    assert files
    parsed = 0
    for path in files:
        text = path.read_text(errors="replace")
        if nftables.detect(text) == 0:
            continue  # shell scripts wrapping JSON test input
        d = nftables.parse(text, str(path))
        parsed += 1
        for diag in d.diagnostics:
            assert diag.span is not None, (path, diag)
            assert diag.span.line >= 1, (path, diag)
    assert parsed >= 25


def test_corpus_concatenated_set_and_policy(corpus: Path) -> None:
    path = (corpus / "firewalls" / "nftables" / "nftables-src" / "tests" / "shell" / "testcases"
            / "sets" / "dumps" / "0037_set_with_inet_service_0.nft")
    d = nftables.parse(path.read_text(), str(path))
    assert d.complete
    f = d.filters["inet filter/forward"]
    assert f.decide(Packet.make("1.1.1.1", "192.168.0.12", "udp", 1, 53))[1] is not None
    assert f.decide(Packet.make("1.1.1.1", "192.168.0.13", "udp", 1, 53))[1] is None


def test_ct_match_before_conntrack_sees_invalid() -> None:
    text = ("table inet t {\n chain raw {\n  type filter hook prerouting priority raw;\n"
            "  ct state new drop\n  ct state invalid tcp dport 22 drop\n }\n}\n")
    d = nftables.parse(text, "x.nft")
    assert d.complete
    assert verdicts(d, Packet.make("10.0.0.1", "10.0.0.2", "tcp", 1, 22)) == [
        ("inet t/raw", "deny", 5)]
    assert verdicts(d, Packet.make("10.0.0.1", "10.0.0.2", "tcp", 1, 23)) == [
        ("inet t/raw", "permit", None)]


_WORDS = ["table", "inet", "ip", "t", "{", "}", ";", "\n", "chain", "c", "type", "filter", "hook",
          "forward", "priority", "0", "policy", "drop", "accept", "ip", "saddr", "daddr",
          "10.0.0.0/8", "1-2", "tcp", "dport", "!=", "ct", "state", "new,established", "jump",
          "goto", "return", "@s", "set", "s", "elements", "=", ",", ".", ":", "vmap", '"eth*"',
          "iifname", "meta", "l4proto", "counter", "log", "limit", "rate", "define", "$x", "#",
          "icmp", "echo-request", "reject", "with", "dnat", "to", "{ 1, 2 }", "\\"]


@given(st.lists(st.sampled_from(_WORDS), max_size=60).map(" ".join))
def test_random_text_never_crashes(body: str) -> None:
    try:
        d = nftables.parse("table inet t {\n" + body + "\n}\n", "fuzz.nft")
    except ConfigParseError:
        return
    for diag in d.diagnostics:
        assert diag.span is not None


@given(st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.sampled_from(
        ["accept", "drop", "tcp", "dport", "saddr", "ip", "@s", "state", "10.0.0.0", "inet", "t",
         "c", "forward", "filter", "==", "!=", "in", "new"]),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.sampled_from(
        ["nftables", "table", "chain", "rule", "expr", "match", "left", "right", "payload",
         "protocol", "field", "meta", "key", "ct", "op", "set", "range", "prefix", "addr", "len",
         "family", "name", "hook", "prio", "policy", "vmap", "data", "jump", "target", "elem",
         "concat", "accept", "drop", "map"]), kids, max_size=4),
    max_leaves=30))
def test_random_json_never_crashes(doc: object) -> None:
    with contextlib.suppress(ConfigParseError):
        nftables.parse(json.dumps({"nftables": doc if isinstance(doc, list) else [doc]}), "f.json")


def test_neq_pair_meaning_depends_on_nft_version() -> None:
    text = ("table inet t {\n chain f {\n  type filter hook forward priority 0; policy drop;\n"
            "  tcp sport != 1 tcp dport != 2 accept\n }\n}\n")
    p = Packet.make("10.0.0.1", "10.0.0.2", "tcp", 1, 3)  # sport equal, dport differs
    old = nftables.parse(text, "x.nft", nft_version="1.0.6")
    assert verdicts(old, p)[0][1:] == ("permit", 4)  # merged: either differs
    new = nftables.parse(text, "x.nft", nft_version="1.1.1")
    assert verdicts(new, p)[0][1:] == ("deny", None)
    unknown = nftables.parse(text, "x.nft")
    assert [x.code for x in unknown.diagnostics] == ["nftables.unsupported"]
    doc = {"nftables": [{"metainfo": {"version": "1.0.6"}},
                        {"chain": {"family": "inet", "table": "t", "name": "f", "type": "filter",
                                   "hook": "forward", "prio": 0, "policy": "drop"}},
                        {"rule": {"family": "inet", "table": "t", "chain": "f", "expr": [
                            {"match": {"op": "!=", "left": {"payload": {
                                "protocol": "tcp", "field": "sport"}}, "right": 1}},
                            {"match": {"op": "!=", "left": {"payload": {
                                "protocol": "tcp", "field": "dport"}}, "right": 2}},
                            {"accept": None}]}}]}
    assert verdicts(nftables.parse(json.dumps(doc), "x.json"), p)[0][1] == "permit"


def test_tcp_flags_syn_without_ack_is_the_initiating_packet() -> None:
    text = ("table inet t {\n chain f {\n  type filter hook forward priority 0; policy accept;\n"
            "  tcp flags & (fin|syn|rst|ack) != syn drop\n"
            "  tcp dport 80 tcp flags syn / syn,ack drop\n"
            "  tcp dport 81 tcp flags & (syn|ack) == syn|ack drop\n }\n}\n")
    d = nftables.parse(text, "x.nft")
    assert [(x.span.line if x.span else 0) for x in d.diagnostics] == [6]  # syn|ack: unsupported
    syn80 = Packet.make("10.0.0.1", "10.0.0.2", "tcp", 1, 80)
    assert verdicts(d, syn80)[0][1:] == ("deny", 5)
    assert verdicts(d, syn80, state="established")[0][1:] == ("deny", 4)
    assert verdicts(d, Packet.make("10.0.0.1", "10.0.0.2", "tcp", 1, 22))[0][1:] == (
        "permit", None)


# -- malformed input: a ConfigParseError or a diagnostic at its line, never another exception --


@pytest.mark.parametrize(("chain", "message"), [
    ("type filter hook", "'hook' without a value"),
    ("type filter hook ingress device", "'device' without a value"),
    ("type hook forward", "'type' without a value"),
    ("type filter hook froward priority 0", "unknown hook 'froward'"),
    ("type filter hook forward priority fliter", "priority not understood"),
])
def test_base_chain_declaration_missing_a_value_is_an_error_at_its_line(
        chain: str, message: str) -> None:
    d = nftables.parse(f"table inet t {{\n chain c {{\n  {chain}; policy drop;\n"
                       "  tcp dport 22 accept\n }\n}\n", "x.nft")
    errors = [x for x in d.diagnostics if x.level is Level.ERROR]
    assert [(x.span.line if x.span else 0) for x in errors] == [3], d.diagnostics
    assert message in errors[0].message
    assert not d.complete


def test_policy_other_than_accept_or_drop_is_an_error() -> None:
    d = nftables.parse("table inet t {\n chain c {\n  type filter hook forward priority 0;\n"
                       "  policy dorp;\n }\n}\n", "x.nft")
    assert [(x.level, x.span.line if x.span else 0) for x in d.diagnostics] == [(Level.ERROR, 4)]


JT = {"table": {"family": "inet", "name": "t", "handle": 1}}
JC = {"chain": {"family": "inet", "table": "t", "name": "c", "handle": 1, "type": "filter",
                "hook": "forward", "prio": 0, "policy": "drop"}}
MATCH = {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                   "right": 22}}


def _jrule(*expr: object) -> dict[str, object]:
    return {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 2,
                     "expr": list(expr)}}


def _with(obj: Mapping[str, object], **changes: object) -> dict[str, object]:
    (kind, body), = obj.items()
    assert isinstance(body, dict)
    return {kind: {**body, **changes}}


@pytest.mark.parametrize("bad", [
    _with(_jrule(), expr=None),
    _with(_jrule(), chain=["c"]),
    _jrule({"jump": {}}),
    _jrule({"goto": "c"}),
    _jrule(MATCH, {"accept": None}, 7),
    _jrule({"match": {"op": "==", "left": {"payload": {"protocol": "tcp"}}, "right": 22}}),
    _jrule({"match": {"left": {"meta": {"key": ["l4proto"]}}, "right": "tcp"}}),
    _jrule({"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                      "right": {"prefix": {"len": 8}}}}),
    _jrule({"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                      "right": {"range": [1, 2, 3]}}}),
    _jrule({"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}}}),
    _jrule({"match": {"op": 5, "left": {"ct": {"key": "state"}}, "right": "new"}}),
    _jrule({"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}},
                     "data": {"set": [[22, {"accept": None}, 1]]}}}),
    _with(JT, family=["inet"]),
    _with(JT, name=None),
    _with(JC, hook=["forward"]),
    _with(JC, hook="froward"),
    _with(JC, name={}),
    _with(JC, prio="0"),
    _with(JC, policy="dorp"),
    {"set": {"family": "inet", "table": "t", "name": "s", "elem": {"a": 1}}},
    {"map": {"family": "inet", "table": "t", "name": "m", "elem": [22]}},
    {"table": {"family": "inet", "name": "t"}, "chain": {}},
    ["table"],
], ids=lambda bad: json.dumps(bad)[:60])
def test_json_of_the_wrong_shape_is_a_parse_error_at_its_object(bad: object) -> None:
    doc = {"nftables": [JT, JC, _jrule(MATCH, {"accept": None}), bad]}
    text = json.dumps(doc)
    with pytest.raises(ConfigParseError, match="malformed nft JSON") as info:
        nftables.parse(text, "x.json")
    span = info.value.span
    assert span is not None
    assert (span.line, span.col) == (1, text.rindex(json.dumps(bad)) + 1)


def test_json_spans_follow_pretty_printed_lines() -> None:
    doc = {"nftables": [JT, JC, _jrule(MATCH, {"accept": None}), _jrule({"jump": {}})]}
    text = json.dumps(doc, indent=2)
    items = [n for n, line in enumerate(text.splitlines(), 1) if line == "    {"]
    assert len(items) == 4
    with pytest.raises(ConfigParseError) as info:
        nftables.parse(text, "x.json")
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.col) == (items[3], 5)
    good = json.dumps({"nftables": doc["nftables"][:3]}, indent=2)
    d = nftables.parse(good, "x.json")
    assert d.filters["inet t/c"].rules[0].span.line == items[2]
    assert d.filters["inet t/c"].default_span is not None
    assert d.filters["inet t/c"].default_span.line == items[1]


def test_well_formed_but_unmodelled_json_is_a_diagnostic() -> None:
    """Shapes a real nft can print that segcheck does not model stay diagnostics: the rest
    of the ruleset is still read."""
    doc = {"nftables": [JT, JC,
                        _jrule({"match": {"op": "==", "left": {"fib": {"flags": ["daddr"]}},
                                          "right": "local"}}, {"drop": None}),
                        _jrule({"match": {"op": "==", "left": {"payload": {
                            "protocol": "tcp", "field": "flags"}}, "right": {"set": [
                                "syn", "ack"]}}}, {"drop": None}),
                        {"flowtable": {"family": "inet", "table": "t", "name": "f"}},
                        _jrule(MATCH, {"accept": None})]}
    d = nftables.parse(json.dumps(doc), "x.json")
    assert not d.complete
    assert len(d.filters["inet t/c"].rules) == 1
    assert {x.code for x in d.diagnostics} == {"nftables.unsupported", "nftables.object"}


# -- fuzz: real ``nft -j`` documents with values replaced by nulls, lists, objects, numbers --


@functools.cache
def _json_seeds() -> tuple[str, ...]:
    """Real nft JSON: the corpus's JSON test inputs, and (as root, with nft) this module's
    text fixtures loaded into a private network namespace and listed with ``nft -j``; plus
    the hand-written documents above, so the fuzz never runs on nothing."""
    seeds = [json.dumps({"nftables": [JT, JC, _jrule(MATCH, {"accept": None})]})]
    json_dir = CORPUS / "firewalls" / "nftables" / "nftables-src" / "tests" / "shell" / \
        "testcases" / "json"
    if json_dir.is_dir():
        for path in sorted(json_dir.iterdir()):
            if path.is_file():
                m = re.search(r"RULESET='(\{.*?\})'", path.read_text(errors="replace"), re.S)
                if m:
                    seeds.append(m.group(1))
    if os.geteuid() == 0 and shutil.which("nft") and shutil.which("unshare"):
        texts = [RULESET, "table ip nat {\n chain pre {\n  type nat hook prerouting priority "
                 "dstnat;\n  tcp dport 80 dnat to 10.0.0.5\n }\n}\ntable ip6 f {\n set s {\n"
                 "  type ipv6_addr . inet_service\n  elements = { 2001:db8::1 . 22 }\n }\n"
                 " chain c {\n  type filter hook forward priority 0; policy drop;\n"
                 "  ip6 saddr . tcp dport @s accept\n  tcp flags & (syn|ack) == syn counter"
                 " drop\n  meta l4proto icmpv6 icmpv6 type { echo-request, nd-neighbor-solicit }"
                 " accept\n  iifname \"eth*\" oifname != \"lo\" ct state new limit rate "
                 "5/second reject\n }\n}\n"]
        for text in texts:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                r = subprocess.run(["unshare", "--net", "sh", "-c",
                                    "nft -f - && nft -j list ruleset"], input=text,
                                   capture_output=True, text=True, timeout=20, check=True)
                seeds.append(r.stdout)
    return tuple(seeds)


def _paths(v: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
    for k, x in items:
        yield from _paths(x, (*at, k))


def _replace(doc: Any, at: tuple[Any, ...], new: Any, delete: bool = False) -> Any:
    if not at:
        return new
    parent = doc
    for k in at[:-1]:
        parent = parent[k]
    if delete:
        del parent[at[-1]]
    else:
        parent[at[-1]] = new
    return doc


_SCALARS = (st.none() | st.booleans() | st.integers(-3, 70_000)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=4)
            | st.sampled_from(["accept", "drop", "forward", "input", "inet", "ip", "t", "c",
                               "@s", "10.0.0.0", "tcp", "dport", "state", "==", "!="]))
_KEYS = st.sampled_from(["table", "chain", "rule", "expr", "match", "left", "right", "payload",
                         "protocol", "field", "meta", "key", "ct", "op", "set", "range",
                         "prefix", "addr", "len", "family", "name", "hook", "prio", "policy",
                         "vmap", "data", "jump", "target", "elem", "val", "concat", "accept",
                         "&", "|"])
_REPLACEMENT = (_SCALARS | st.lists(_SCALARS, max_size=3)
                | st.dictionaries(_KEYS, _SCALARS | st.lists(_SCALARS, max_size=2), max_size=2))


def _parse_or_error(text: str) -> Device | ConfigParseError:
    try:
        return nftables.parse(text, "fuzz.json")
    except ConfigParseError as exc:
        return exc


@settings(max_examples=400)
@given(st.data())
def test_mutated_real_json_gives_parse_errors_or_diagnostics_only(data: st.DataObject) -> None:
    seeds = _json_seeds()
    doc = json.loads(data.draw(st.sampled_from(seeds), label="seed"))
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        paths = list(_paths(doc))
        at = data.draw(st.sampled_from(paths), label="path")
        how = data.draw(st.sampled_from(["replace", "replace", "graft", "delete"]), label="how")
        if how == "delete" and at:
            doc = _replace(doc, at, None, delete=True)
        elif how == "graft":  # another part of the same document, in the wrong place
            donor = data.draw(st.sampled_from(paths), label="donor")
            piece = doc
            for k in donor:
                piece = piece[k]
            doc = _replace(doc, at, copy.deepcopy(piece))
        else:
            doc = _replace(doc, at, data.draw(_REPLACEMENT, label="value"))
    d = _parse_or_error(json.dumps(doc))
    if isinstance(d, ConfigParseError):
        assert d.span is not None
        assert d.span.line >= 1
        return
    for diag in d.diagnostics:
        assert diag.span is not None, diag
        assert diag.span.line >= 1, diag
    p = Packet.make("10.0.0.1", "10.0.0.2", "tcp", 1, 22)
    for stage in (*d.forward, *d.local):
        d.filters[stage.filter].decide(p, "new", IfaceContext("eth0"), IfaceContext("eth1"))


def test_json_seeds_include_real_nft_output() -> None:
    seeds = _json_seeds()
    if len(seeds) < 3:
        pytest.skip("no corpus JSON and no nft to list a ruleset with")
    devices = [nftables.parse(text, "seed.json") for text in seeds]
    assert sum(bool(d.forward) for d in devices) >= 2
