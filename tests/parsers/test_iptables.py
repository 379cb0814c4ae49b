"""iptables parser: one tiny fixture per feature, behaviour asserted on packets, plus the
corpus. (Semantics at scale are checked against the kernel in tests/oracle.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segcheck.errors import ConfigParseError
from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import Action, IfaceContext
from segcheck.model.source import Level
from segcheck.parsers import iptables
from segcheck.parsers.registry import detect

HEAD = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"


def dev(body: str, head: str = HEAD, **kw: object) -> Device:
    return iptables.parse(head + body + "COMMIT\n", "fw.rules", **kw)  # type: ignore[arg-type]


def verdict(d: Device, p: Packet, chain: str = "FORWARD", state: str = "new",
            i: str | None = None, o: str | None = None) -> tuple[str, int | None]:
    action, rule = d.filters[chain].decide(p, state, IfaceContext(i), IfaceContext(o))
    return action.value, None if rule is None else rule.span.line


TCP = Packet.make("10.0.0.1", "10.9.0.1", "tcp", 40000, 22)


def codes(d: Device) -> list[tuple[int, str]]:
    return [(x.span.line if x.span else 0, x.code) for x in d.diagnostics]


def test_policy_is_the_default_with_its_line() -> None:
    d = dev("")
    f = d.filters["FORWARD"]
    assert f.default_action is Action.DENY
    assert f.default_span is not None
    assert f.default_span.line == 3
    assert verdict(d, TCP) == ("deny", None)
    assert d.complete
    assert [s.filter for s in d.forward] == ["FORWARD"]
    assert [s.filter for s in d.local] == ["INPUT"]


def test_addresses_ports_negation_and_comment_name() -> None:
    d = dev('-A FORWARD -s 10.0.0.0/8 ! -d 10.9.0.0/16 -p tcp --dport 22 -j ACCEPT\n'
            '-A FORWARD -p tcp ! --dport 1:1000 -m comment --comment "high ports" -j ACCEPT\n'
            "-A FORWARD -p tcp -m multiport --dports 22,80:90 -j REJECT --reject-with tcp-reset\n")
    assert verdict(d, TCP) == ("deny", 7)
    assert d.filters["FORWARD"].rules[2].detail == "REJECT --reject-with tcp-reset"
    assert verdict(d, Packet.make("10.0.0.1", "10.8.0.1", "tcp", 1, 22)) == ("permit", 5)
    assert verdict(d, Packet.make("10.0.0.1", "10.9.0.1", "tcp", 1, 2000)) == ("permit", 6)
    assert d.filters["FORWARD"].rules[1].name == "high ports"


def test_user_chain_return_and_goto() -> None:
    d = dev("-A FORWARD -p tcp -j A\n-A FORWARD -p tcp --dport 22 -j ACCEPT\n"
            "-A A -s 10.0.0.0/24 -j RETURN\n-A A -p tcp --dport 22 -g B\n-A A -p tcp -j DROP\n"
            "-A B -s 10.0.1.0/24 -j DROP\n",
            HEAD + ":A - [0:0]\n:B - [0:0]\n")
    assert verdict(d, TCP) == ("permit", 8)  # RETURN from A: FORWARD goes on
    # goto B; when B runs out, processing resumes in A's caller, not in A
    assert verdict(d, Packet.make("10.0.2.1", "10.9.0.1", "tcp", 1, 22)) == ("permit", 8)
    assert verdict(d, Packet.make("10.0.2.1", "10.9.0.1", "tcp", 1, 23)) == ("deny", 11)
    assert verdict(d, Packet.make("10.0.1.1", "10.9.0.1", "tcp", 1, 22)) == ("deny", 12)
    inlined = d.filters["FORWARD"].rules[0]
    assert [s.line for s in inlined.extra_spans] == [7, 10]
    assert set(d.filters) >= {"A", "B"}


def test_return_in_builtin_chain_applies_policy() -> None:
    d = dev("-A FORWARD -p tcp -j RETURN\n-A FORWARD -j ACCEPT\n")
    assert verdict(d, TCP) == ("deny", None)
    assert verdict(d, Packet.make("10.0.0.1", "10.9.0.1", "udp", 1, 53)) == ("permit", 6)


def test_interfaces_wildcards_and_negation() -> None:
    d = dev("-A FORWARD -i eth+ ! -o eth1 -j ACCEPT\n")
    assert verdict(d, TCP, i="eth0", o="eth2") == ("permit", 5)
    assert verdict(d, TCP, i="eth0", o="eth1") == ("deny", None)
    assert verdict(d, TCP, i="wlan0", o="eth2") == ("deny", None)


def test_states_and_non_terminating_targets() -> None:
    d = dev("-A FORWARD -j LOG --log-prefix \"x \"\n-A FORWARD -m limit --limit 1/s -j NFLOG\n"
            "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n"
            "-A FORWARD -m state ! --state NEW -j DROP\n-A FORWARD -j ACCEPT\n")
    assert verdict(d, TCP) == ("permit", 9)
    assert verdict(d, TCP, state="established") == ("permit", 7)
    assert verdict(d, TCP, state="invalid") == ("deny", 8)
    assert d.complete  # the unknown -m limit is on a LOG-like rule: info only
    assert (6, "iptables.unknown-match") in codes(d)


def test_icmp_types_names_numbers_and_codes() -> None:
    d = dev("-A FORWARD -p icmp --icmp-type echo-request -j ACCEPT\n"
            "-A FORWARD -p icmp ! --icmp-type 3/1 -j DROP\n-A FORWARD -p icmp -j ACCEPT\n")
    echo = Packet.make("10.0.0.1", "10.9.0.1", "icmp", icmp_type=8, icmp_code=3)
    assert verdict(d, echo) == ("permit", 5)
    assert verdict(d, Packet.make("10.0.0.1", "10.9.0.1", "icmp", icmp_type=3, icmp_code=1)) \
        == ("permit", 7)
    assert verdict(d, Packet.make("10.0.0.1", "10.9.0.1", "icmp", icmp_type=3, icmp_code=2)) \
        == ("deny", 6)


def test_ip6tables_is_detected_and_icmpv6() -> None:
    text = ("# Generated by ip6tables-save v1.8.9\n*filter\n:FORWARD DROP [0:0]\n"
            "-A FORWARD -s 2001:db8::/32 -p ipv6-icmp -m icmp6 --icmpv6-type echo-request "
            "-j ACCEPT\nCOMMIT\n")
    d = iptables.parse(text, "fw.rules6")
    p = Packet.make("2001:db8::1", "2001:db8:1::1", "icmpv6", icmp_type=128)
    assert verdict(d, p) == ("permit", 4)
    assert all(m.family == 6 for r in d.filters["FORWARD"].rules for m in r.matches)


def test_fragment_without_frame_and_command_prefix() -> None:
    text = ("iptables -P FORWARD DROP\niptables -N web\n"
            "iptables -A web -p tcp --dport 80 -j ACCEPT\n"
            "iptables -A FORWARD -j web\niptables -I FORWARD 1 -s 10.0.0.1 -j DROP\n"
            "iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE\n")
    d = iptables.parse(text, "rules.sh")
    assert verdict(d, Packet.make("10.0.0.2", "1.1.1.1", "tcp", 1, 80)) == ("permit", 3)
    assert verdict(d, Packet.make("10.0.0.1", "1.1.1.1", "tcp", 1, 80)) == ("deny", 5)
    assert [n.kind for n in d.nat] == ["masquerade"]
    assert d.complete


def test_iprange_and_ipset() -> None:
    sets = ("create ot hash:net family inet\nadd ot 10.40.0.0/16\nadd ot 10.40.9.0/24 nomatch\n"
            "create svc hash:ip,port family inet\nadd svc 10.9.0.1,tcp:502\n")
    d = dev("-A FORWARD -m set --match-set ot src -m set --match-set svc dst,dst -j ACCEPT\n"
            "-A FORWARD -m iprange ! --src-range 10.0.0.0-10.0.0.9 -j ACCEPT\n", ipsets=sets)
    assert verdict(d, Packet.make("10.40.1.1", "10.9.0.1", "tcp", 1, 502)) == ("permit", 5)
    assert verdict(d, Packet.make("10.40.9.1", "10.9.0.1", "tcp", 1, 502)) == ("permit", 6)
    assert verdict(d, Packet.make("10.0.0.5", "10.9.0.1", "tcp", 1, 502)) == ("deny", None)
    no_sets = dev("-A FORWARD -m set --match-set ot src -j ACCEPT\n")
    assert not no_sets.complete
    assert (5, "iptables.unsupported-match") in codes(no_sets)


def test_unknown_match_and_target_are_dropped_with_diagnostics() -> None:
    d = dev("-A FORWARD -m recent --rcheck -j DROP\n-A FORWARD -j TARPIT\n"
            "-A FORWARD -j NFQUEUE --queue-num 1\n-A FORWARD -j nowhere\n-A FORWARD -j ACCEPT\n")
    assert verdict(d, TCP) == ("permit", 9)
    got = codes(d)
    assert (5, "iptables.unknown-match") in got
    assert (6, "iptables.unknown-target") in got
    assert (7, "iptables.userspace-target") in got
    assert (8, "iptables.undefined-chain") in got
    assert not d.complete


def test_malformed_lines_are_errors_with_lines_not_crashes() -> None:
    d = dev("-A FORWARD -s 10.0.0.300 -j ACCEPT\n-A FORWARD --dport 22 -j ACCEPT\n"
            '-A FORWARD -m comment --comment "unterminated -j ACCEPT\n-A FORWARD -j\n'
            "-A INPUT -o eth0 -j ACCEPT\n")
    lines = {line for line, code in codes(d) if code == "iptables.syntax"}
    assert lines == {5, 6, 7, 8, 9}
    assert not d.complete


def test_nat_dnat_marks_incomplete_snat_does_not() -> None:
    nat = ("*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
           "-A PREROUTING -i eth0 -p tcp --dport 443 -j DNAT --to-destination 10.0.0.5\n"
           "-A POSTROUTING -o eth0 -j SNAT --to-source 1.2.3.4\nCOMMIT\n")
    d = iptables.parse(nat + HEAD + "COMMIT\n", "fw.rules")
    assert [n.kind for n in d.nat] == ["dnat", "snat"]
    assert [(x.level, x.span.line if x.span else 0) for x in d.diagnostics] == [
        (Level.UNSUPPORTED, 4), (Level.INFO, 5)]


def test_mangle_chain_that_drops_is_a_stage() -> None:
    text = ("*mangle\n:PREROUTING DROP [0:0]\n-A PREROUTING -s 10.0.0.0/8 -j ACCEPT\nCOMMIT\n"
            + HEAD.replace("DROP", "ACCEPT") + "COMMIT\n")
    d = iptables.parse(text, "fw.rules")
    assert [s.filter for s in d.forward] == ["mangle/PREROUTING", "FORWARD"]
    assert [s.filter for s in d.local] == ["mangle/PREROUTING", "INPUT"]


def test_detection_is_unambiguous() -> None:
    assert detect(HEAD + "COMMIT\n", "x") == "iptables"
    assert detect("table inet filter {\n chain forward {\n }\n}\n", "x") == "nftables"
    with pytest.raises(ConfigParseError):
        iptables.parse("hostname fw1\ninterface eth0\n", "x.cfg")


def test_corpus_files_parse_or_fail_cleanly(corpus: Path) -> None:
    files = sorted(p for p in (corpus / "firewalls" / "iptables").rglob("*") if p.is_file())
    assert files
    parsed = 0
    for path in files:
        text = path.read_text(errors="replace")
        if iptables.detect(text) == 0:
            with pytest.raises(ConfigParseError):
                iptables.parse(text, str(path))
            continue
        d = iptables.parse(text, str(path))
        parsed += 1
        assert "FORWARD" in d.filters
        assert "INPUT" in d.filters
        for diag in d.diagnostics:
            assert diag.span is not None, (path, diag)
            assert diag.span.line >= 1, (path, diag)
    assert parsed >= 7


def test_corpus_unsupported_commands_are_reported(corpus: Path) -> None:
    path = corpus / "firewalls" / "iptables" / "batfish-grammar" / "unsupported_command"
    d = iptables.parse(path.read_text(), str(path))
    unsupported = {x.span.line for x in d.diagnostics
                   if x.code == "iptables.command" and x.span is not None}
    # --check, --delete, -h, --list, --list-rules, --rename-chain, --replace; --flush,
    # --delete-chain and --zero are understood (they change or keep the rule set)
    assert unsupported == {7, 10, 18, 24, 27, 36, 39}
    assert len(d.filters["INPUT"].rules) == 1  # --append, then --flush, then --insert


def test_state_match_in_raw_table_sees_invalid() -> None:
    text = ("*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m state --state NEW -j DROP\n"
            "-A PREROUTING -p tcp -m state --state INVALID -j DROP\nCOMMIT\n")
    d = iptables.parse(text, "fw.rules")
    assert d.complete
    assert [s.filter for s in d.forward] == ["raw/PREROUTING", "FORWARD"]
    assert verdict(d, TCP, "raw/PREROUTING") == ("deny", 4)
    assert verdict(d, Packet.make("10.0.0.1", "10.9.0.1", "udp", 1, 2), "raw/PREROUTING") == (
        "permit", None)


_WORDS = ["-A", "FORWARD", "INPUT", "-s", "-d", "!", "-p", "tcp", "udp", "icmp", "--dport",
          "--sport", "22", "1:2", ":", "-m", "multiport", "--dports", "1,2:3", "state", "--state",
          "NEW", "-j", "ACCEPT", "DROP", "RETURN", "X", "-N", "-g", "10.0.0.0/8", "::1", "300",
          "--icmp-type", "8/0", "-i", "eth+", '"', "'", "\\", "comment", "--comment", "-t", "nat",
          "DNAT", "--to-destination", "*filter", "COMMIT", ":X", "-", "[0:0]", "iprange",
          "--src-range", "1.1.1.1-1.1.1.0", "set", "--match-set", "-I", "2", "-P", "-F"]


@given(st.lists(st.lists(st.sampled_from(_WORDS), max_size=12).map(" ".join), max_size=15))
def test_random_lines_never_crash(lines: list[str]) -> None:
    text = "*filter\n:FORWARD DROP [0:0]\n:X - [0:0]\n" + "\n".join(lines) + "\nCOMMIT\n"
    d = iptables.parse(text, "fuzz.rules")
    for diag in d.diagnostics:
        assert diag.span is not None


def test_negated_full_port_range_depends_on_backend() -> None:
    body = "-A FORWARD -p tcp ! --dport 0:65535 -j ACCEPT\n"
    udp = Packet.make("10.0.0.1", "10.9.0.1", "tcp", 1, 22)
    assert verdict(dev(body, backend="nft"), udp) == ("permit", 5)
    assert verdict(dev(body, backend="legacy"), udp) == ("deny", None)
    unknown = dev(body)
    assert (5, "iptables.unsupported-match") in codes(unknown)
    assert not unknown.complete
    header = "# Generated by iptables-save v1.8.9 (nf_tables) on Wed Nov 25 2026\n"
    assert verdict(dev(body, header + HEAD), udp) == ("permit", 6)
