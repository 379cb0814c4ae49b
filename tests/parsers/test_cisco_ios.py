"""Cisco IOS/IOS-XE parser: one tiny fixture per feature, asserting behaviour (verdicts)."""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path

import pytest

from segcheck.errors import ConfigParseError
from segcheck.model import ranges as R
from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import Action
from segcheck.parsers import cisco_asa, cisco_ios, junos
from segcheck.parsers._cisco import wildcard_ranges


def forward(dev: Device, p: Packet, ingress: str | None, egress: str | None) -> bool:
    for f in dev.forward_filters(dev.context(ingress), dev.context(egress)):
        if f.decide(p)[0] is not Action.PERMIT:
            return False
    return True


TCP = Packet.make


BASIC = """\
hostname r1
!
interface GigabitEthernet0/0
 ip address 10.0.0.1 255.255.255.0
 ip access-group 101 in
!
interface GigabitEthernet0/1
 ip address 10.1.0.1 255.255.255.0
 ip access-group OUTSIDE_OUT out
!
access-list 10 permit 10.0.0.0 0.0.0.255
access-list 101 remark web only
access-list 101 permit tcp 10.0.0.0 0.0.0.255 host 10.1.0.5 eq www 443
access-list 101 deny   ip any any log
ip access-list extended OUTSIDE_OUT
 10 deny tcp any any eq 23
 20 permit ip any any
"""


def test_numbered_and_named_acls_bound_to_interfaces() -> None:
    dev = cisco_ios.parse(BASIC, "r1.cfg")
    assert dev.name == "r1"
    assert dev.complete
    web = TCP("10.0.0.9", "10.1.0.5", "tcp", 40000, 443)
    assert forward(dev, web, "GigabitEthernet0/0", "GigabitEthernet0/1")
    assert not forward(dev, TCP("10.0.0.9", "10.1.0.5", "tcp", 40000, 22),
                       "GigabitEthernet0/0", "GigabitEthernet0/1")
    # the outbound ACL denies telnet for traffic that entered elsewhere
    telnet = TCP("10.9.0.9", "10.1.0.5", "tcp", 40000, 23)
    assert not forward(dev, telnet, "GigabitEthernet0/2", "GigabitEthernet0/1")
    assert forward(dev, TCP("10.9.0.9", "10.1.0.5", "tcp", 40000, 25), "Gi9", "GigabitEthernet0/1")
    # standard ACL 10 matches the source only; it ends in the implicit deny
    std = dev.filters["10"]
    assert std.decide(TCP("10.0.0.7", "192.0.2.1", "udp", 1, 1))[0] is Action.PERMIT
    assert std.decide(TCP("10.0.1.7", "192.0.2.1", "udp", 1, 1))[0] is Action.DENY
    # the rule remembers its line
    rule = dev.filters["101"].rules[0]
    assert rule.span.line == 13
    assert "eq www 443" in (rule.span.text or "")


def test_ipv4_acl_does_not_filter_ipv6_and_ipv6_acl_permits_nd() -> None:
    text = BASIC + """\
ipv6 access-list V6
 permit tcp 2001:db8::/32 any eq 22
interface GigabitEthernet0/2
 ipv6 traffic-filter V6 in
"""
    dev = cisco_ios.parse(text, "r1.cfg")
    v6 = TCP("2001:db8::1", "2001:db8:1::1", "udp", 1, 53)
    assert forward(dev, v6, "GigabitEthernet0/0", "GigabitEthernet0/9")  # v4-only ACL in
    assert not forward(dev, v6, "GigabitEthernet0/2", "GigabitEthernet0/9")
    ns = Packet.make("fe80::1", "ff02::1:ff00:1", "icmpv6", icmp_type=135)
    assert forward(dev, ns, "GigabitEthernet0/2", "GigabitEthernet0/9")
    action, rule = dev.filters["V6"].decide(ns)
    assert action is Action.PERMIT
    assert rule is not None
    assert rule.synthetic


def test_explicit_final_deny_shadows_the_implicit_nd_permits() -> None:
    dev = cisco_ios.parse("ipv6 access-list V6\n deny ipv6 any any\n", "x")
    ns = Packet.make("fe80::1", "ff02::1", "icmpv6", icmp_type=136)
    assert dev.filters["V6"].decide(ns)[0] is Action.DENY


def test_object_groups_nested_and_cycle_reported() -> None:
    text = """\
object-group network INNER
 host 10.0.0.5
 10.0.1.0 255.255.255.0
object-group network OUTER
 group-object INNER
 range 10.0.2.1 10.0.2.3
object-group network LOOP_A
 group-object LOOP_B
object-group network LOOP_B
 group-object LOOP_A
object-group service WEB
 tcp eq 80
 tcp-udp eq 53
ip access-list extended A
 permit object-group WEB object-group OUTER any
 permit ip object-group LOOP_A any
"""
    dev = cisco_ios.parse(text, "og.cfg")
    f = dev.filters["A"]
    assert f.decide(TCP("10.0.2.3", "1.1.1.1", "udp", 5, 53))[0] is Action.PERMIT
    assert f.decide(TCP("10.0.2.4", "1.1.1.1", "udp", 5, 53))[0] is Action.DENY
    assert f.decide(TCP("10.0.1.200", "1.1.1.1", "tcp", 5, 80))[0] is Action.PERMIT
    assert f.decide(TCP("10.0.1.200", "1.1.1.1", "udp", 5, 80))[0] is Action.DENY
    cycles = [d for d in dev.diagnostics if d.code == "cisco-ios.cycle"]
    assert cycles
    assert cycles[0].span is not None
    assert not dev.complete


def test_non_contiguous_wildcard_is_exact() -> None:
    """Brute force: a matches iff (a & ~w) == (base & ~w), for random addresses."""
    rng = random.Random(7)
    for _ in range(200):
        base = rng.getrandbits(32)
        w = rng.getrandbits(32) & rng.getrandbits(32) & 0x00FF0FFF
        r = wildcard_ranges(str(ipaddress.IPv4Address(base)), str(ipaddress.IPv4Address(w)))
        assert r is not None
        for _ in range(50):
            a = (base & ~w) | (rng.getrandbits(32) & w) if rng.random() < 0.5 else \
                rng.getrandbits(32)
            want = (a & ~w & 0xFFFFFFFF) == (base & ~w & 0xFFFFFFFF)
            assert R.contains(r, a) == want


def test_too_fragmented_wildcard_is_a_diagnostic() -> None:
    dev = cisco_ios.parse("access-list 1 permit 10.0.0.0 0.255.255.254\n", "w")
    assert any(d.code == "cisco-ios.wildcard" and d.span and d.span.line == 1
               for d in dev.diagnostics)


def test_established_matches_no_new_connection() -> None:
    dev = cisco_ios.parse("access-list 150 permit tcp any any established\n", "e")
    p = TCP("1.1.1.1", "2.2.2.2", "tcp", 80, 40000)
    assert dev.filters["150"].decide(p)[0] is Action.DENY
    assert dev.filters["150"].decide(p, state="established")[0] is Action.PERMIT


ZBF = """\
zone security INSIDE
zone security OUTSIDE
class-map type inspect match-any WEB-CLASS
 match protocol http
 match access-group name MGMT
class-map type inspect match-all NOTHING
 match protocol tcp
 match protocol udp
policy-map type inspect IN-OUT
 class type inspect WEB-CLASS
  inspect
 class type inspect NOTHING
  pass
 class class-default
  drop log
zone-pair security IN-OUT source INSIDE destination OUTSIDE
 service-policy type inspect IN-OUT
ip access-list extended MGMT
 permit tcp any host 192.0.2.10 eq 22
interface Gi1
 zone-member security INSIDE
interface Gi2
 zone-member security INSIDE
interface Gi3
 zone-member security OUTSIDE
interface Gi4
 ip address 10.4.0.1 255.255.255.0
interface Gi5
 ip address 10.5.0.1 255.255.255.0
"""


def test_zone_based_firewall() -> None:
    dev = cisco_ios.parse(ZBF, "zbf.cfg")
    http = TCP("10.0.0.1", "192.0.2.1", "tcp", 40000, 80)
    ssh = TCP("10.0.0.1", "192.0.2.10", "tcp", 40000, 22)
    ssh_other = TCP("10.0.0.1", "192.0.2.11", "tcp", 40000, 22)
    assert forward(dev, http, "Gi1", "Gi3")
    assert forward(dev, ssh, "Gi1", "Gi3")
    assert not forward(dev, ssh_other, "Gi1", "Gi3")  # class-default drop
    assert not forward(dev, http, "Gi3", "Gi1")  # no zone-pair in that direction
    assert forward(dev, ssh_other, "Gi1", "Gi2")  # same zone
    assert not forward(dev, http, "Gi1", "Gi4")  # zoned -> unzoned
    assert not forward(dev, http, "Gi4", "Gi1")
    assert forward(dev, http, "Gi4", "Gi5")  # unzoned -> unzoned


def test_unknown_syntax_and_nat_are_diagnostics_with_lines() -> None:
    text = "ip access-list extended X\n permit tcp any any eq 80 dscp ef\n" \
           " permit frobnicate any any\nip nat outside source static 1.1.1.1 2.2.2.2\n"
    dev = cisco_ios.parse(text, "d")
    lines = sorted(d.span.line for d in dev.diagnostics if d.span)
    assert lines == [2, 3, 4]
    assert not dev.complete
    assert dev.nat
    assert dev.nat[0].span.line == 4


def test_access_group_naming_missing_acl_permits() -> None:
    dev = cisco_ios.parse("interface Gi1\n ip access-group NOPE in\n", "m")
    assert forward(dev, TCP("1.1.1.1", "2.2.2.2", "tcp", 1, 2), "Gi1", "Gi2")
    assert any(d.code == "cisco-ios.undefined-acl" for d in dev.diagnostics)


def test_detection_does_not_claim_other_vendors() -> None:
    asa = ("ASA Version 9.9\ninterface Gi0\n nameif inside\n"
           "access-list A extended permit ip any any\n")
    srx = "set security policies from-zone a to-zone b policy p then permit\n"
    assert cisco_ios.detect(BASIC) >= 50
    assert cisco_asa.detect(BASIC) < 50
    assert junos.detect(BASIC) < 50
    assert cisco_ios.detect(asa) == 0
    assert cisco_ios.detect(srx) == 0


_FUZZ_WORDS = ["any", "host", "eq", "range", "object-group", "object", "{", "}", ";", "[", "]",
               "except", "inactive:", "permit", "deny", "10.0.0.0", "255.255.255.0",
               "0.0.0.255", "2001:db8::/32", "tcp", "icmp", "80", "-1", "99999", "300", "log",
               "term", "from", "then", "policy", "match", "application", "zone", '"', "!", "#",
               "/*", "group-object", "interface", "unit", "family", "inet", "filter",
               "input-list", "source", "destination", "lt", "gt", "neq", "0", "65535",
               "icmp6", "echo", "time-range", "established", "set", "deactivate", "address",
               "address-set", "range-address", "to", "global", "nameif", "security-level"]


def mutations(texts: list[str], n: int, seed: int) -> list[str]:
    """``n`` damaged copies of ``texts``: words deleted, inserted, replaced, lines doubled."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lines = rng.choice(texts).splitlines()
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(lines))
            toks = lines[i].split(" ")
            op = rng.random()
            if op < 0.3 and toks:
                del toks[rng.randrange(len(toks))]
            elif op < 0.6:
                toks.insert(rng.randrange(len(toks) + 1), rng.choice(_FUZZ_WORDS))
            elif op < 0.8 and toks:
                toks[rng.randrange(len(toks))] = rng.choice(_FUZZ_WORDS)
            else:
                lines.insert(rng.randrange(len(lines) + 1), lines[i])
            lines[i] = " ".join(toks)
        out.append("\n".join(lines))
    return out


def test_damaged_configs_never_crash() -> None:
    """Any damage yields a Device (with diagnostics) or a ConfigParseError, never a traceback."""
    for text in mutations([BASIC, ZBF], 400, 1):
        try:
            device = cisco_ios.parse(text, "fuzz")
        except ConfigParseError:
            continue
        assert all(d.span is None or d.span.line >= 1 for d in device.diagnostics)


def test_zone_pair_to_self_guards_the_router() -> None:
    text = ZBF + """\
class-map type inspect match-any SSH
 match protocol ssh
policy-map type inspect TO-SELF
 class type inspect SSH
  drop
 class class-default
  pass
zone-pair security OUT-SELF source OUTSIDE destination self
 service-policy type inspect TO-SELF
"""
    dev = cisco_ios.parse(text, "zbf.cfg")
    ssh = TCP("192.0.2.9", "10.0.0.1", "tcp", 40000, 22)
    web = TCP("192.0.2.9", "10.0.0.1", "tcp", 40000, 443)

    def local(p: Packet, ingress: str) -> bool:
        return all(f.decide(p)[0] is Action.PERMIT for f in dev.local_filters(dev.context(ingress)))

    assert not local(ssh, "Gi3")  # OUTSIDE -> self: ssh dropped
    assert local(web, "Gi3")  # class-default pass
    assert local(ssh, "Gi1")  # INSIDE -> self has no zone-pair: passes


IPTABLES_SAVE = """\
# Generated by iptables-save v1.8.9
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
-A FORWARD -s 10.10.0.0/16 -d 10.30.0.40/32 -p tcp -m tcp --dport 443 -j ACCEPT
COMMIT
"""


def test_foreign_file_is_refused() -> None:
    """Not one IOS command (an iptables-save export): ConfigParseError at line 1, so a wrong
    --vendor cisco-ios exits 2 instead of answering from an empty device."""
    for text in (IPTABLES_SAVE, IPTABLES_SAVE + "end\n"):  # 'end' alone proves nothing
        with pytest.raises(ConfigParseError, match="does not look like a Cisco IOS") as info:
            cisco_ios.parse(text, "fw-it.rules")
        assert info.value.span is not None
        assert info.value.span.line == 1


CLASSIFIED = """\
version 15.2
hostname r1
logging host 192.0.2.50
ntp server 192.0.2.1
banner motd ^C
 access-list 1 permit any
This is free text
^C
frobnicate everything
ip route 0.0.0.0 0.0.0.0 192.0.2.1
interface GigabitEthernet0/1
 description uplink
 nameif outside
 ip address 10.0.0.1 255.255.255.0
 ip verify unicast source reachable-via rx
line vty 0 4
 access-class MGMT in
 transport input ssh
access-list 10 permit 10.0.0.0 0.0.0.255
"""


def test_every_line_is_read_known_irrelevant_or_reported() -> None:
    """Exact or incomplete: unknown top-level commands (9), unknown interface sub-commands
    (13: ASA 'nameif') and vty access-class (17) are UNSUPPORTED at their lines; uRPF is a
    warning; logging/ntp/routes/banner text (6-8, a fake ACL inside the banner) are silent."""
    dev = cisco_ios.parse(CLASSIFIED, "r1.cfg")
    got = sorted((d.span.line, d.level.name) for d in dev.diagnostics if d.span)
    assert got == [(9, "UNSUPPORTED"), (13, "UNSUPPORTED"), (15, "WARNING"),
                   (17, "UNSUPPORTED")]
    assert not dev.complete
    assert list(dev.filters) == ["10"]  # the banner's 'access-list 1' is text, not an ACL
    clean = "\n".join(ln for k, ln in enumerate(CLASSIFIED.splitlines(), 1)
                      if k not in (9, 13, 15, 16, 17, 18))
    assert cisco_ios.parse(clean, "r1.cfg").complete


IOS_ROUTER = """\
hostname r1
interface GigabitEthernet0/1
 ip access-group FROM-OT in
!
ip access-list extended FROM-OT
 permit tcp 10.40.1.0 0.0.0.255 host 10.30.0.10 eq 5450
 deny   ip any any log
"""


def test_ios_router_forced_as_asa_is_incomplete() -> None:
    """The ASA parser reports the IOS ACL and its binding instead of dropping them."""
    dev = cisco_asa.parse(IOS_ROUTER, "r1.cfg")
    assert not dev.complete
    lines = {d.span.line for d in dev.diagnostics if d.span and d.level.name == "UNSUPPORTED"}
    assert lines == {3, 5}
    assert cisco_ios.parse(IOS_ROUTER, "r1.cfg").complete


MIXED_DIALECT = """\
hostname cisco_acl
ip access-list BLAH-BLAH
 permit ip any any
ip access-list extended
ip access-list PROTOCOLS
 permit tcp any any
access-list TEST extended deny ip any any log 7 interval 600
"""
IPV6_ONLY = """\
hostname v6
ipv6 access-list RT404888-XO
 permit ipv6 host 2610:18:10:1000::15 any
 deny icmpv6 any any nd
"""


def test_detection_prefers_ios_syntax_over_one_asa_line() -> None:
    """batfish's mixed 'cisco_acl' (many 'ip access-list' stanzas, one ASA line) and a pure
    'ipv6 access-list' file are IOS; real ASA text still is not."""
    for text in (MIXED_DIALECT, IPV6_ONLY, IOS_ROUTER):
        assert cisco_ios.detect(text) >= 50, text
        assert cisco_asa.detect(text) < cisco_ios.detect(text), text
    asa = ("ASA Version 9.9\ninterface Gi0\n nameif inside\n security-level 100\n"
           " ip address 10.0.0.1 255.255.255.0\naccess-list A extended permit ip any any\n"
           "object-group network G\n network-object host 10.0.0.5\n")
    assert cisco_asa.detect(asa) >= 50
    assert cisco_ios.detect(asa) == 0
    no_version = asa.replace("ASA Version 9.9\n", "")
    assert cisco_asa.detect(no_version) > cisco_ios.detect(no_version)


def test_nameless_ip_access_list_is_reported() -> None:
    """'ip access-list extended' with no name (batfish's cisco_acl has one): its entries
    belong to no ACL, so the line is UNSUPPORTED rather than dropped with them."""
    dev = cisco_ios.parse("hostname r\nip access-list extended\n permit ip any any\n", "r.cfg")
    assert [(d.span.line, d.level.name) for d in dev.diagnostics if d.span] == [
        (2, "UNSUPPORTED")]
    assert not dev.filters


@pytest.mark.parametrize("vendor", ["cisco-asa", "cisco-ios", "junos"])
@pytest.mark.parametrize("command", ["query", "rules"])
def test_cli_forced_wrong_vendor_exits_2(tmp_path: Path, vendor: str, command: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """`segcheck query|rules --config <iptables export> --vendor <cisco/junos>` used to answer
    (exit 0, a permit / an empty listing): now exit 2 naming the file at line 1."""
    from segcheck.cli import main

    root = tmp_path
    cfg = root / "fw-it.rules"
    cfg.write_text(IPTABLES_SAVE)
    packets = root / "p.jsonl"
    packets.write_text('{"src": "10.10.0.5", "dst": "10.30.0.40", "proto": "tcp", '
                       '"dport": 443, "in_iface": "eth3", "out_iface": "eth1"}\n')
    extra = ["--packets", str(packets)] if command == "query" else []
    rc = main([command, "--config", str(cfg), "--vendor", vendor, *extra])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert f"{cfg}:1:" in err
    assert "does not look like a" in err
    assert "Traceback" not in err
