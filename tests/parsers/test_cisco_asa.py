"""Cisco ASA parser: tiny fixtures per feature, asserting verdicts through the device stages."""

from __future__ import annotations

import pytest

from segcheck.errors import ConfigParseError
from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import Action
from segcheck.parsers import cisco_asa, cisco_ios, junos
from tests.parsers.test_cisco_ios import mutations

P = Packet.make


def forward(dev: Device, p: Packet, ingress: str, egress: str) -> bool:
    return all(f.decide(p)[0] is Action.PERMIT
               for f in dev.forward_filters(dev.context(ingress), dev.context(egress)))


IFACES = """\
ASA Version 9.12
hostname fw1
interface GigabitEthernet0/0
 nameif outside
 security-level 0
 ip address 198.51.100.1 255.255.255.0
interface GigabitEthernet0/1
 nameif inside
 security-level 100
 ip address 10.0.0.1 255.255.255.0
interface GigabitEthernet0/2
 nameif dmz
 security-level 50
 ip address 10.50.0.1 255.255.255.0
interface GigabitEthernet0/3
 nameif dmz2
 security-level 50
 ip address 10.51.0.1 255.255.255.0
"""


def test_security_levels_without_acls() -> None:
    dev = cisco_asa.parse(IFACES, "fw1.cfg")
    assert dev.complete
    p = P("10.0.0.5", "10.50.0.5", "tcp", 40000, 443)
    assert forward(dev, p, "GigabitEthernet0/1", "GigabitEthernet0/2")  # 100 -> 50
    assert not forward(dev, p, "GigabitEthernet0/2", "GigabitEthernet0/1")  # 50 -> 100
    assert not forward(dev, p, "GigabitEthernet0/2", "GigabitEthernet0/3")  # 50 -> 50
    assert not forward(dev, p, "GigabitEthernet0/2", "GigabitEthernet0/2")  # hairpin
    # the nameif works as interface name too
    assert forward(dev, p, "inside", "outside")
    # an interface without nameif (or an unknown one) passes nothing
    assert not forward(dev, p, "Management0/0", "outside")


def test_same_security_traffic_options() -> None:
    dev = cisco_asa.parse(IFACES + "same-security-traffic permit inter-interface\n"
                          "same-security-traffic permit intra-interface\n", "fw1.cfg")
    p = P("10.50.0.5", "10.51.0.5", "udp", 1, 53)
    assert forward(dev, p, "dmz", "dmz2")
    assert forward(dev, p, "dmz", "dmz")
    assert not forward(dev, p, "dmz", "inside")


ACLS = IFACES + """\
object network WEB
 host 10.50.0.80
object network WEB6
 subnet 2001:db8:50::/64
object network CLOUD
 fqdn www.example.com
object service HTTPS
 service tcp destination eq https
object-group service WEBPORTS tcp
 port-object eq www
 port-object range 8080 8081
object-group network SERVERS
 network-object object WEB
 network-object object WEB6
 group-object MORE
object-group network MORE
 network-object 10.50.1.0 255.255.255.0
object-group protocol TCPUDP
 protocol-object tcp
 protocol-object udp
object-group icmp-type PINGS
 icmp-object echo
access-list OUT_IN remark inbound from the internet
access-list OUT_IN extended permit tcp any object-group SERVERS object-group WEBPORTS
access-list OUT_IN extended permit object HTTPS any4 object WEB
access-list OUT_IN extended permit icmp any any object-group PINGS
access-list OUT_IN extended deny tcp any host 10.50.0.80 eq ssh inactive
access-list OUT_IN extended permit object-group TCPUDP any object CLOUD
access-list OUT_IN extended permit tcp any any eq ssh
access-list DMZ_OUT extended deny udp any any
access-list DMZ_OUT extended permit ip any any
access-list GLOBAL extended permit tcp any any eq 25
access-group OUT_IN in interface outside
access-group DMZ_OUT out interface dmz
"""


def test_interface_acl_replaces_security_level_default() -> None:
    dev = cisco_asa.parse(ACLS, "fw1.cfg")
    www = P("203.0.113.9", "10.50.0.80", "tcp", 40000, 80)
    assert forward(dev, www, "outside", "dmz")
    assert forward(dev, P("203.0.113.9", "10.50.1.7", "tcp", 40000, 8081), "outside", "dmz")
    assert not forward(dev, P("203.0.113.9", "10.50.1.7", "tcp", 40000, 8082), "outside", "dmz")
    v6 = P("2001:db8::9", "2001:db8:50::1", "tcp", 40000, 80)
    assert forward(dev, v6, "outside", "dmz")
    assert forward(dev, P("203.0.113.9", "10.50.0.80", "tcp", 1, 443), "outside", "dmz")
    # any4 in the entry: not IPv6
    assert not forward(dev, P("2001:db8::9", "2001:db8:50::1", "tcp", 1, 443), "outside", "dmz")
    ping = P("203.0.113.9", "10.0.0.5", "icmp", icmp_type=8)
    assert forward(dev, ping, "outside", "inside")
    assert not forward(dev, P("203.0.113.9", "10.0.0.5", "icmp", icmp_type=13),
                       "outside", "inside")


def test_inactive_entry_is_kept_but_decides_nothing() -> None:
    dev = cisco_asa.parse(ACLS, "fw1.cfg")
    ssh = P("203.0.113.9", "10.50.0.80", "tcp", 40000, 22)
    inactive = [r for r in dev.filters["OUT_IN"].rules if not r.enabled]
    assert len(inactive) == 1
    assert inactive[0].span.line == 45
    assert forward(dev, ssh, "outside", "dmz")


def test_outbound_acl_and_fqdn_diagnostic() -> None:
    dev = cisco_asa.parse(ACLS, "fw1.cfg")
    dns = P("10.0.0.5", "10.50.0.53", "udp", 1000, 53)
    assert not forward(dev, dns, "inside", "dmz")  # outbound ACL on dmz
    assert forward(dev, dns, "inside", "outside")
    fq = [d for d in dev.diagnostics if d.code == "cisco-asa.fqdn"]
    assert fq
    assert fq[0].span is not None
    assert fq[0].span.line == 24
    assert not dev.complete


def test_global_acl_follows_interface_acls_and_replaces_defaults() -> None:
    dev = cisco_asa.parse(ACLS + "access-group GLOBAL global\n", "fw1.cfg")
    smtp = P("10.0.0.5", "10.50.0.25", "tcp", 1000, 25)
    https = P("10.0.0.5", "10.50.0.25", "tcp", 1000, 443)
    assert forward(dev, smtp, "inside", "dmz")  # global permits
    assert not forward(dev, https, "inside", "dmz")  # level default no longer applies
    assert forward(dev, P("203.0.113.9", "10.0.0.25", "tcp", 1, 25), "outside", "inside")


def test_object_group_cycle_and_undefined_names_are_reported() -> None:
    text = ("object-group network A\n group-object B\nobject-group network B\n group-object A\n"
            "access-list X extended permit ip object-group A object NOPE\n")
    dev = cisco_asa.parse(text, "c")
    codes = {d.code for d in dev.diagnostics}
    assert {"cisco-asa.cycle", "cisco-asa.undefined"} <= codes
    assert all(d.span is not None for d in dev.diagnostics)


def test_nat_parsed_with_warning_and_pre83_nat_incomplete() -> None:
    text = IFACES + ("object network SRV\n host 10.50.0.80\n"
                     " nat (dmz,outside) static 198.51.100.80\n"
                     "nat (inside,outside) source dynamic any interface\n")
    dev = cisco_asa.parse(text, "n")
    assert [n.kind for n in dev.nat] == ["static", "twice"]
    assert dev.complete
    old = cisco_asa.parse(IFACES + "static (dmz,outside) 198.51.100.80 10.50.0.80\n", "o")
    assert not old.complete


def test_webtype_acl_ignored_with_warning() -> None:
    dev = cisco_asa.parse("access-list W webtype permit url http://x/*\n", "w")
    assert dev.complete
    assert [d.code for d in dev.diagnostics] == ["cisco-asa.acl-kind"]


def test_detection() -> None:
    assert cisco_asa.detect(ACLS) >= 90
    assert cisco_ios.detect(ACLS) == 0
    assert junos.detect(ACLS) == 0


def test_damaged_configs_never_crash() -> None:
    """Any damage yields a Device (with diagnostics) or a ConfigParseError, never a traceback."""
    for text in mutations([ACLS], 400, 2):
        try:
            device = cisco_asa.parse(text, "fuzz")
        except ConfigParseError:
            continue
        assert all(d.span is None or d.span.line >= 1 for d in device.diagnostics)


def test_foreign_file_is_refused() -> None:
    """Not one ASA command (an iptables-save export): ConfigParseError at line 1."""
    from tests.parsers.test_cisco_ios import IPTABLES_SAVE

    with pytest.raises(ConfigParseError, match="does not look like a Cisco ASA") as info:
        cisco_asa.parse(IPTABLES_SAVE, "fw-it.rules")
    assert info.value.span is not None
    assert info.value.span.line == 1


def test_unknown_commands_reported_known_irrelevant_silent() -> None:
    """Management/logging/routing commands are ASA syntax with no say over new flows
    (silent); 'sysopt connection permit-vpn' (bypasses the ACLs for VPN traffic) and an
    unknown interface sub-command are UNSUPPORTED at their lines; uRPF is a warning; a
    stray top-level 'remark' (aerleon renders them) is a comment."""
    text = IFACES + """\
logging enable
logging host inside 10.0.0.9
ntp server 10.0.0.1
ssh 10.0.0.0 255.255.255.0 inside
route outside 0.0.0.0 0.0.0.0 198.51.100.254 1
threat-detection basic-threat
sysopt connection permit-vpn
ip verify reverse-path interface outside
interface GigabitEthernet0/4
 ip access-group X in
 description spare
"""
    dev = cisco_asa.parse(text, "fw.cfg")
    base = len(IFACES.splitlines())
    got = sorted((d.span.line - base, d.level.name) for d in dev.diagnostics if d.span)
    assert got == [(7, "UNSUPPORTED"), (8, "WARNING"), (10, "UNSUPPORTED")]
    assert not dev.complete
    quiet = IFACES + "logging enable\nntp server 10.0.0.1\nremark Term t not rendered\n"
    dev = cisco_asa.parse(quiet, "fw.cfg")
    assert dev.complete
    assert not dev.diagnostics
