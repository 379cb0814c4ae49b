"""Cisco ASA traffic to the box (``_asa_mgmt``): each construct decides concrete packets at
its own line, through the reference ``Filter.decide`` over the local stages and through
``segcheck query --local``.

Oracle: the vendor's documented behaviour, written per case below (sources in the
``_asa_mgmt`` docstring): management entries admit their sources to the addresses of the
named interface only; Telnet is refused on the lowest-security interface; ``icmp``/``ipv6
icmp`` rules are first-match per interface and family with an implicit deny after them, and
all ICMP to the interface's addresses without any; a control-plane ACL filters to-the-box
traffic (its implicit deny included) without granting management access.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from segcheck.cli import main
from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import Action, IfaceContext, Rule
from segcheck.model.source import Level
from segcheck.parsers import cisco_asa

CFG = """\
ASA Version 9.16(4)
hostname fw
interface GigabitEthernet0/0
 nameif outside
 security-level 0
 ip address 198.51.100.1 255.255.255.0
interface GigabitEthernet0/1
 nameif inside
 security-level 100
 ip address 10.1.0.1 255.255.0.0
 ipv6 address 2001:db8:1::1/48
interface GigabitEthernet0/2
 nameif dmz
 security-level 50
 ip address 10.2.0.1 255.255.255.0
access-list CP extended deny ip host 198.51.100.66 any
access-list CP extended permit ip any any
access-group CP in interface outside control-plane
ssh 0 0 outside
ssh 10.9.0.0 255.255.255.0 inside
telnet 0 0 outside
telnet 10.9.0.0 255.255.255.0 inside
http server enable
http 10.9.0.10 255.255.255.255 inside
snmp-server host inside 10.9.0.20 poll community public
snmp-server host inside 10.9.0.21 trap community public
snmp-server community public
icmp deny any echo outside
icmp permit 203.0.113.0 255.255.255.0 outside
ipv6 icmp permit any echo inside
icmp unreachable rate-limit 1 burst-size 1
ssh version 2
ssh timeout 5
no snmp-server location
"""
LINE = {text: no for no, text in enumerate(CFG.splitlines(), 1)}

ECHO, ECHO_REPLY, UNREACH, ECHO6 = 8, 0, 3, 128


def packet(src: str, dst: str, proto: int, dport: int = 0, icmp: int = 0) -> Packet:
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    ports = proto in (6, 17)
    return Packet(s.version, int(s), int(d), proto, 40000 if ports else 0,
                  dport if ports else 0, icmp if proto in (1, 58) else 0, 0)


def local(dev: Device, iface: str, p: Packet) -> tuple[Action, Rule | None, str]:
    """The device's verdict on ``p`` addressed to itself: the first local stage that denies
    (its rule, or None for its default), else the permit of ``management`` (the stage that
    grants access; a control-plane permit only lets the packet on to it)."""
    ci, none = dev.context(iface), IfaceContext()
    out: tuple[Action, Rule | None, str] = (Action.PERMIT, None, "")
    for st in dev.local:
        if not st.applies(ci, none):
            continue
        action, rule = dev.filters[st.filter].decide(p, "new", ci, none)
        if action is Action.DENY:
            return action, rule, st.filter
        if st.filter == "management":
            out = (action, rule, st.filter)
    return out


def line(rule: Rule | None) -> int | None:
    return rule.span.line if rule is not None else None


@pytest.fixture(scope="module")
def dev() -> Device:
    return cisco_asa.parse(CFG, "fw.cfg")


# (ingress, src, dst, proto, dport/icmp type, verdict, deciding line or None = a default)
CASES = [
    # ssh 0 0 outside: anyone to the outside address; not to another interface's address
    ("outside", "192.0.2.7", "198.51.100.1", 6, 22, Action.PERMIT, "ssh 0 0 outside"),
    ("outside", "192.0.2.7", "10.1.0.1", 6, 22, Action.DENY, None),
    # the control-plane ACL denies its host first (whatever the management entries say)
    ("outside", "198.51.100.66", "198.51.100.1", 6, 22, Action.DENY,
     "access-list CP extended deny ip host 198.51.100.66 any"),
    # dropped by both stages: the control-plane ACL, evaluated first, is the reason
    ("outside", "198.51.100.66", "198.51.100.1", 6, 443, Action.DENY,
     "access-list CP extended deny ip host 198.51.100.66 any"),
    # its 'permit ip any any' grants nothing: no http entry on outside
    ("outside", "192.0.2.7", "198.51.100.1", 6, 443, Action.DENY, None),
    # dmz has no ssh line: SSH to the box denied (management default)
    ("dmz", "10.2.0.50", "10.2.0.1", 6, 22, Action.DENY, None),
    ("inside", "10.9.0.5", "10.1.0.1", 6, 22, Action.PERMIT,
     "ssh 10.9.0.0 255.255.255.0 inside"),
    ("inside", "10.1.2.3", "10.1.0.1", 6, 22, Action.DENY, None),
    # telnet: permitted on inside, refused on outside (lowest security level) at its line
    ("inside", "10.9.0.5", "10.1.0.1", 6, 23, Action.PERMIT,
     "telnet 10.9.0.0 255.255.255.0 inside"),
    ("outside", "192.0.2.7", "198.51.100.1", 6, 23, Action.DENY, "telnet 0 0 outside"),
    ("inside", "10.9.0.10", "10.1.0.1", 6, 443, Action.PERMIT,
     "http 10.9.0.10 255.255.255.255 inside"),
    ("inside", "10.9.0.20", "10.1.0.1", 17, 161, Action.PERMIT,
     "snmp-server host inside 10.9.0.20 poll community public"),
    ("inside", "10.9.0.21", "10.1.0.1", 17, 161, Action.DENY, None),  # trap only
    # icmp rules on outside: first match, then the implicit deny at the last icmp line
    ("outside", "203.0.113.5", "198.51.100.1", 1, ECHO, Action.DENY,
     "icmp deny any echo outside"),
    ("outside", "203.0.113.5", "198.51.100.1", 1, ECHO_REPLY, Action.PERMIT,
     "icmp permit 203.0.113.0 255.255.255.0 outside"),
    ("outside", "192.0.2.7", "198.51.100.1", 1, UNREACH, Action.DENY,
     "icmp permit 203.0.113.0 255.255.255.0 outside"),
    # no icmp rule for inside/dmz: all ICMPv4 to their own addresses, at the interface line
    ("inside", "10.1.2.3", "10.1.0.1", 1, ECHO, Action.PERMIT, "interface GigabitEthernet0/1"),
    ("dmz", "10.2.0.50", "10.2.0.1", 1, UNREACH, Action.PERMIT, "interface GigabitEthernet0/2"),
    # ... but never to the far side of the box
    ("inside", "10.1.2.3", "198.51.100.1", 1, ECHO, Action.DENY, None),
    # ipv6 icmp is its own list: echo permitted, anything else denied after it
    ("inside", "2001:db8:1::5", "2001:db8:1::1", 58, ECHO6, Action.PERMIT,
     "ipv6 icmp permit any echo inside"),
    ("inside", "2001:db8:1::5", "2001:db8:1::1", 58, 1, Action.DENY,
     "ipv6 icmp permit any echo inside"),
]


@pytest.mark.parametrize(("iface", "src", "dst", "proto", "arg", "want", "at"), CASES)
def test_local_decision_and_line(dev: Device, iface: str, src: str, dst: str, proto: int,
                                 arg: int, want: Action, at: str | None) -> None:
    p = packet(src, dst, proto, dport=arg, icmp=arg)
    action, rule, _ = local(dev, iface, p)
    assert action is want
    assert line(rule) == (LINE[at] if at else None)
    if rule is not None:
        assert rule.span.path == "fw.cfg"
        assert rule.span.text == at


def test_control_plane_is_not_a_transit_acl(dev: Device) -> None:
    """Before: ``access-group CP in interface outside control-plane`` was bound as the
    outside interface's transit ACL (with an 'option not modelled' diagnostic)."""
    assert "inbound outside" in dev.filters
    transit = dev.filters["inbound outside"]
    assert all(not r.name.startswith("CP:") for r in transit.rules)
    assert [s.filter for s in dev.local] == ["control-plane outside", "management"]
    cp = dev.filters["control-plane outside"]
    assert cp.default_action is Action.DENY
    assert not [d for d in dev.diagnostics if d.level.makes_incomplete]


def test_control_plane_implicit_deny() -> None:
    cfg = CFG.replace("access-list CP extended permit ip any any\n", "")
    dev = cisco_asa.parse(cfg, "fw.cfg")
    action, rule, stage = local(dev, "outside", packet("192.0.2.7", "198.51.100.1", 6, 22))
    assert (action, rule, stage) == (Action.DENY, None, "control-plane outside")


def test_no_icmp_rules_anywhere_permits_all_icmp_to_the_box() -> None:
    cfg = "\n".join(x for x in CFG.splitlines()
                    if not x.startswith(("icmp ", "ipv6 icmp "))) + "\n"
    dev = cisco_asa.parse(cfg, "fw.cfg")
    for itype in (ECHO, ECHO_REPLY, UNREACH, 13):
        assert local(dev, "outside", packet("192.0.2.7", "198.51.100.1", 1, icmp=itype))[0] \
            is Action.PERMIT
    assert local(dev, "inside", packet("2001:db8:1::5", "2001:db8:1::1", 58, icmp=1))[0] \
        is Action.PERMIT


def test_agent_and_server_switches() -> None:
    dev = cisco_asa.parse(CFG.replace("http server enable\n", "http server enable 8443\n")
                          + "snmp-server listen-port 1161\n", "fw.cfg")
    assert local(dev, "inside", packet("10.9.0.10", "10.1.0.1", 6, 8443))[0] is Action.PERMIT
    assert local(dev, "inside", packet("10.9.0.10", "10.1.0.1", 6, 443))[0] is Action.DENY
    assert local(dev, "inside", packet("10.9.0.20", "10.1.0.1", 17, 1161))[0] is Action.PERMIT
    assert local(dev, "inside", packet("10.9.0.20", "10.1.0.1", 17, 161))[0] is Action.DENY
    off = cisco_asa.parse(CFG + "no snmp-server enable\n", "fw.cfg")
    assert local(off, "inside", packet("10.9.0.20", "10.1.0.1", 17, 161))[0] is Action.DENY


def test_host_group_polls() -> None:
    cfg = CFG + ("object network NMS\n subnet 10.9.0.64 255.255.255.192\n"
                 "snmp-server host-group inside NMS poll community public\n")
    dev = cisco_asa.parse(cfg, "fw.cfg")
    action, rule, _ = local(dev, "inside", packet("10.9.0.70", "10.1.0.1", 17, 161))
    assert action is Action.PERMIT
    assert rule is not None
    assert rule.span.text == "snmp-server host-group inside NMS poll community public"


@pytest.mark.parametrize(("extra", "level"), [
    ("ssh 10.0.0.0 nonsense inside", Level.UNSUPPORTED),
    ("icmp permit any bogus-type outside", Level.UNSUPPORTED),
    ("ipv6 icmp frobnicate", Level.UNSUPPORTED),
    ("snmp-server host inside not-an-address", Level.UNSUPPORTED),
    ("ssh 10.0.0.0 255.0.0.0 nowhere", Level.ERROR),
    ("icmp permit any nowhere", Level.ERROR),
    ("http redirect outside 80", Level.WARNING),
    ("management-access inside", Level.WARNING),
])
def test_unmodelled_forms_are_diagnostics_at_their_line(extra: str, level: Level) -> None:
    cfg = CFG + extra + "\n"
    dev = cisco_asa.parse(cfg, "fw.cfg")
    at = cfg.splitlines().index(extra) + 1
    got = [d for d in dev.diagnostics if d.span is not None and d.span.line == at]
    assert [d.level for d in got] == [level], dev.diagnostics


def test_irrelevant_management_commands_are_silent(dev: Device) -> None:
    assert dev.diagnostics == ()


def test_query_local_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "fw.cfg"
    cfg.write_text(CFG)
    pk = tmp_path / "p.jsonl"
    pk.write_text("\n".join(json.dumps(x) for x in [
        {"src": "192.0.2.7", "dst": "198.51.100.1", "proto": "tcp", "sport": 40000,
         "dport": 22, "in_iface": "outside"},
        {"src": "198.51.100.66", "dst": "198.51.100.1", "proto": "tcp", "sport": 40000,
         "dport": 22, "in_iface": "outside"},
        {"src": "10.2.0.50", "dst": "10.2.0.1", "proto": "tcp", "sport": 40000, "dport": 22,
         "in_iface": "dmz"},
        {"src": "192.0.2.7", "dst": "198.51.100.1", "proto": "icmp", "icmp_type": 3,
         "icmp_code": 0, "in_iface": "GigabitEthernet0/0"},
    ]) + "\n")
    capsys.readouterr()
    code = main(["query", "--config", str(cfg), "--vendor", "cisco-asa", "--local",
                 "--packets", str(pk)])
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert code == 0
    assert [(a["verdict"], a["filter"], a["rule"] and a["rule"]["line"]) for a in out] == [
        ("permit", "management", LINE["ssh 0 0 outside"]),
        ("deny", "control-plane outside",
         LINE["access-list CP extended deny ip host 198.51.100.66 any"]),
        ("deny", "management", None),
        ("deny", "management", LINE["icmp permit 203.0.113.0 255.255.255.0 outside"]),
    ]
    assert all(a["rule"] is None or a["rule"]["file"] == str(cfg) for a in out)


VPN = """\
crypto ikev1 enable outside
crypto ikev2 enable outside client-services port 4443
webvpn
 enable outside
 anyconnect enable
"""


@pytest.mark.parametrize(("iface", "src", "proto", "dport", "want", "at"), [
    ("outside", "192.0.2.7", 17, 500, Action.PERMIT, "crypto ikev1 enable outside"),
    ("outside", "192.0.2.7", 17, 4500, Action.PERMIT, "crypto ikev1 enable outside"),
    ("outside", "192.0.2.7", 6, 4443, Action.PERMIT,
     "crypto ikev2 enable outside client-services port 4443"),
    ("outside", "192.0.2.7", 6, 443, Action.PERMIT, "enable outside"),    # SSL VPN portal
    ("outside", "192.0.2.7", 17, 443, Action.PERMIT, "enable outside"),   # DTLS (anyconnect)
    ("outside", "198.51.100.66", 17, 500, Action.DENY,                     # control plane
     "access-list CP extended deny ip host 198.51.100.66 any"),
    ("dmz", "10.2.0.50", 17, 500, Action.DENY, None),                     # not enabled there
])
def test_vpn_termination(iface: str, src: str, proto: int, dport: int, want: Action,
                         at: str | None) -> None:
    cfg = CFG + VPN
    dev = cisco_asa.parse(cfg, "fw.cfg")
    dst = {"outside": "198.51.100.1", "dmz": "10.2.0.1"}[iface]
    action, rule, _ = local(dev, iface, packet(src, dst, proto, dport))
    assert action is want
    lines = cfg.splitlines()
    assert (lines[rule.span.line - 1].strip() if rule else None) == at
    assert dev.diagnostics == ()


@pytest.mark.parametrize("bad", [" port 70000", " dtls port http"])
def test_webvpn_port_not_understood_is_a_diagnostic_at_its_line(bad: str) -> None:
    cfg = CFG + "webvpn\n enable outside\n" + bad + "\n"
    dev = cisco_asa.parse(cfg, "fw.cfg")
    at = cfg.splitlines().index(bad) + 1
    assert [d.level for d in dev.diagnostics if d.span is not None and d.span.line == at] \
        == [Level.UNSUPPORTED], dev.diagnostics
    # the portal keeps its default port
    assert local(dev, "outside", packet("192.0.2.7", "198.51.100.1", 6, 443))[0] \
        is Action.PERMIT


def test_webvpn_tls_only_has_no_dtls() -> None:
    dev = cisco_asa.parse(CFG + "webvpn\n enable outside tls-only\n anyconnect enable\n",
                          "fw.cfg")
    assert local(dev, "outside", packet("192.0.2.7", "198.51.100.1", 6, 443))[0] \
        is Action.PERMIT
    assert local(dev, "outside", packet("192.0.2.7", "198.51.100.1", 17, 443))[0] \
        is Action.DENY
