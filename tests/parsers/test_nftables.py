"""nftables parser: tiny fixtures per feature (text and JSON), the corpus, and bad input.
(Semantics at scale are checked against the kernel in tests/oracle.)"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segcheck.errors import ConfigParseError
from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import IfaceContext
from segcheck.model.source import Level
from segcheck.parsers import nftables


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
