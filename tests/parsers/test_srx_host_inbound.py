"""SRX traffic to the device (``junos/host_inbound`` and the ``lo0.0`` filter): each
construct decides concrete packets at its own line, through the reference ``Filter.decide``
over the local stages and through ``segcheck query --local``.

Oracle: the vendor's documented behaviour, written per case (sources in the
``host_inbound`` docstring): zone-level ``system-services``/``protocols`` admit their
services on every interface of the zone; an interface with its own ``host-inbound-traffic``
takes nothing from the zone; ``all`` minus ``X except``; IPv6 neighbour discovery needs no
configuration; everything else to the device is dropped; the ``lo0.0`` input filter guards
the device as well (a family without a filter is not filtered); ``functional-zone
management`` interfaces take management traffic and forward nothing.
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
from segcheck.parsers import junos
from segcheck.parsers.junos.host_inbound import FUNCTIONAL_ZONE

CFG = """\
set system host-name srx
set system services web-management https port 8443
set interfaces ge-0/0/0 unit 0 family inet address 10.10.0.1/24
set interfaces ge-0/0/1 unit 0 family inet address 10.20.0.1/24
set interfaces ge-0/0/1 unit 0 family inet6 address 2001:db8:20::1/64
set interfaces ge-0/0/2 unit 0 family inet address 10.30.0.1/24
set interfaces ge-0/0/3 unit 0 family inet address 10.40.0.1/24
set interfaces ge-0/0/5 unit 0 family inet address 10.50.0.1/24
set interfaces ge-0/0/6 unit 0 family inet address 192.168.99.1/24
set interfaces lo0 unit 0 family inet address 10.255.0.1/32
set interfaces lo0 unit 0 family inet filter input PROTECT-RE
set firewall family inet filter PROTECT-RE term no-telnet from protocol tcp
set firewall family inet filter PROTECT-RE term no-telnet from destination-port telnet
set firewall family inet filter PROTECT-RE term no-telnet then discard
set firewall family inet filter PROTECT-RE term rest then accept
set security zones security-zone trust host-inbound-traffic system-services ssh
set security zones security-zone trust host-inbound-traffic system-services https
set security zones security-zone trust host-inbound-traffic protocols ospf
set security zones security-zone trust interfaces ge-0/0/0.0
set security zones security-zone trust interfaces ge-0/0/1.0 host-inbound-traffic \
system-services ping
set security zones security-zone untrust interfaces ge-0/0/2.0
set security zones security-zone lab host-inbound-traffic system-services all
set security zones security-zone lab host-inbound-traffic system-services ftp except
set security zones security-zone lab host-inbound-traffic protocols all
set security zones security-zone lab host-inbound-traffic protocols bgp except
set security zones security-zone lab interfaces ge-0/0/3.0
set security zones functional-zone management interfaces ge-0/0/6.0 host-inbound-traffic \
system-services ssh
set security policies default-policy permit-all
"""
LINE = {text: no for no, text in enumerate(CFG.splitlines(), 1)}
HI = "set security zones security-zone "


def packet(src: str, dst: str, proto: int, arg: int = 0) -> Packet:
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    ports = proto in (6, 17)
    return Packet(s.version, int(s), int(d), proto, 40000 if ports else 0,
                  arg if ports else 0, arg if proto in (1, 58) else 0, 0)


def local(dev: Device, iface: str, p: Packet) -> tuple[Action, Rule | None, str]:
    """First local stage that denies (its rule, None for its default); else the permit of
    ``host-inbound-traffic`` (the stage that admits)."""
    ci, none = dev.context(iface), IfaceContext()
    out: tuple[Action, Rule | None, str] = (Action.PERMIT, None, "")
    for st in dev.local:
        if not st.applies(ci, none):
            continue
        action, rule = dev.filters[st.filter].decide(p, "new", ci, none)
        if action is Action.DENY:
            return action, rule, st.filter
        if st.filter == "host-inbound-traffic":
            out = (action, rule, st.filter)
    return out


@pytest.fixture(scope="module")
def dev() -> Device:
    return junos.parse(CFG, "srx.conf")


V4 = {"ge-0/0/0.0": ("10.10.0.9", "10.10.0.1"), "ge-0/0/1.0": ("10.20.0.9", "10.20.0.1"),
      "ge-0/0/2.0": ("10.30.0.9", "10.30.0.1"), "ge-0/0/3.0": ("10.40.0.9", "10.40.0.1"),
      "ge-0/0/5.0": ("10.50.0.9", "10.50.0.1"), "ge-0/0/6.0": ("192.168.99.9", "192.168.99.1")}

# (ingress, proto, dport/ICMP type, verdict, stage deciding a deny, deciding line or None)
CASES = [
    # zone-level services and protocols on an interface without its own statements
    ("ge-0/0/0.0", 6, 22, Action.PERMIT, "", HI + "trust host-inbound-traffic system-services ssh"),
    ("ge-0/0/0.0", 6, 8443, Action.PERMIT, "",
     HI + "trust host-inbound-traffic system-services https"),  # web-management port
    ("ge-0/0/0.0", 6, 443, Action.DENY, "host-inbound-traffic", None),
    ("ge-0/0/0.0", 89, 0, Action.PERMIT, "", HI + "trust host-inbound-traffic protocols ospf"),
    ("ge-0/0/0.0", 6, 179, Action.DENY, "host-inbound-traffic", None),
    # the lo0.0 filter discards telnet before host-inbound is asked
    ("ge-0/0/0.0", 6, 23, Action.DENY, "lo0.0 input",
     "set firewall family inet filter PROTECT-RE term no-telnet from protocol tcp"),
    # interface-level statement overrides the zone: ping only, neither ssh nor ospf
    ("ge-0/0/1.0", 1, 8, Action.PERMIT, "", HI + "trust interfaces ge-0/0/1.0 "
     "host-inbound-traffic system-services ping"),
    ("ge-0/0/1.0", 6, 22, Action.DENY, "host-inbound-traffic", None),
    ("ge-0/0/1.0", 89, 0, Action.DENY, "host-inbound-traffic", None),
    # a zone without host-inbound-traffic: nothing
    ("ge-0/0/2.0", 6, 22, Action.DENY, "host-inbound-traffic", None),
    ("ge-0/0/2.0", 1, 8, Action.DENY, "host-inbound-traffic", None),
    # all / except per category
    ("ge-0/0/3.0", 6, 443, Action.PERMIT, "", HI + "lab host-inbound-traffic system-services all"),
    ("ge-0/0/3.0", 6, 21, Action.DENY, "host-inbound-traffic", None),          # ftp except
    ("ge-0/0/3.0", 112, 0, Action.PERMIT, "", HI + "lab host-inbound-traffic protocols all"),
    ("ge-0/0/3.0", 6, 23, Action.DENY, "lo0.0 input",
     "set firewall family inet filter PROTECT-RE term no-telnet from protocol tcp"),
    # an interface in no zone: nothing at all
    ("ge-0/0/5.0", 6, 22, Action.DENY, "host-inbound-traffic", None),
    # functional-zone management: its own host-inbound
    ("ge-0/0/6.0", 6, 22, Action.PERMIT, "", "set security zones functional-zone management "
     "interfaces ge-0/0/6.0 host-inbound-traffic system-services ssh"),
    ("ge-0/0/6.0", 6, 443, Action.DENY, "host-inbound-traffic", None),
]


@pytest.mark.parametrize(("iface", "proto", "arg", "want", "stage", "at"), CASES)
def test_local_decision_and_line(dev: Device, iface: str, proto: int, arg: int, want: Action,
                                 stage: str, at: str | None) -> None:
    src, dst = V4[iface]
    action, rule, got_stage = local(dev, iface, packet(src, dst, proto, arg))
    assert action is want
    assert (rule.span.line if rule else None) == (LINE[at] if at else None)
    if want is Action.DENY:
        assert got_stage == stage


def test_bgp_excepted_from_protocols_all(dev: Device) -> None:
    p = packet("10.40.0.9", "10.40.0.1", 6, 179)
    flt = dev.filters["host-inbound-traffic"]
    ci = dev.context("ge-0/0/3.0")
    assert flt.decide(p, "new", ci, IfaceContext()) == (Action.DENY, None)


def test_ipv6_neighbour_discovery_needs_no_configuration(dev: Device) -> None:
    ns = packet("fe80::9", "fe80::1", 58, 135)
    action, rule, _ = local(dev, "ge-0/0/2.0", ns)  # untrust: no host-inbound-traffic
    assert action is Action.PERMIT
    assert rule is not None
    assert rule.synthetic
    assert rule.span.line == LINE[HI + "untrust interfaces ge-0/0/2.0"]
    # ping admits ICMPv6 echo too, and lo0.0 has no inet6 filter (IPv6 not filtered there)
    action, rule, _ = local(dev, "ge-0/0/1.0", packet("fe80::9", "2001:db8:20::1", 58, 128))
    assert action is Action.PERMIT
    assert rule is not None
    assert rule.span.line == LINE[HI + "trust interfaces ge-0/0/1.0 host-inbound-traffic "
                                  "system-services ping"]
    # an interface in no zone: not even neighbour discovery
    assert local(dev, "ge-0/0/5.0", packet("fe80::9", "fe80::1", 58, 135))[0] is Action.DENY


def test_functional_zone_forwards_nothing(dev: Device) -> None:
    assert dev.interfaces["ge-0/0/6.0"].zone == FUNCTIONAL_ZONE
    p = packet("192.168.99.9", "10.10.0.9", 6, 443)
    ci, ce = dev.context("ge-0/0/6.0"), dev.context("ge-0/0/0.0")
    verdicts = [f.decide(p, "new", ci, ce) for f in dev.forward_filters(ci, ce)]
    assert verdicts
    action, rule = next((v for v in verdicts if v[0] is Action.DENY), verdicts[-1])
    assert action is Action.DENY
    assert rule is not None
    assert rule.span.line == LINE["set security zones functional-zone management interfaces "
                                  "ge-0/0/6.0 host-inbound-traffic system-services ssh"]
    # the same packet from a trust interface is forwarded (default-policy permit-all)
    ci = dev.context("ge-0/0/1.0")
    assert all(f.decide(p, "new", ci, ce)[0] is Action.PERMIT
               for f in dev.forward_filters(ci, ce))


def test_brace_format_means_the_same() -> None:
    brace = """\
interfaces {
    ge-0/0/0 { unit 0 { family inet { address 10.10.0.1/24; } } }
    ge-0/0/1 { unit 0 { family inet { address 10.20.0.1/24; } } }
}
security {
    zones {
        security-zone trust {
            host-inbound-traffic {
                system-services {
                    ssh;
                }
                protocols {
                    ospf;
                }
            }
            interfaces {
                ge-0/0/0.0;
                ge-0/0/1.0 {
                    host-inbound-traffic {
                        system-services {
                            ping;
                        }
                    }
                }
            }
        }
    }
}
"""
    dev = junos.parse(brace, "srx.conf")
    for iface, proto, arg, want in [("ge-0/0/0.0", 6, 22, Action.PERMIT),
                                    ("ge-0/0/0.0", 89, 0, Action.PERMIT),
                                    ("ge-0/0/1.0", 6, 22, Action.DENY),
                                    ("ge-0/0/1.0", 89, 0, Action.DENY),
                                    ("ge-0/0/1.0", 1, 8, Action.PERMIT)]:
        src, dst = V4[iface]
        assert local(dev, iface, packet(src, dst, proto, arg))[0] is want, (iface, proto)
    rule = local(dev, "ge-0/0/0.0", packet("10.10.0.9", "10.10.0.1", 6, 22))[1]
    assert rule is not None
    assert brace.splitlines()[rule.span.line - 1].strip() == "ssh;"


@pytest.mark.parametrize(("extra", "level"), [
    (HI + "trust host-inbound-traffic system-services r2cp", Level.UNSUPPORTED),
    (HI + "lab host-inbound-traffic protocols frobnicate", Level.UNSUPPORTED),
    ("set interfaces lo0 unit 5 family inet filter input PROTECT-RE", Level.UNSUPPORTED),
    ("set security zones functional-zone management frobnicate", Level.UNSUPPORTED),
    ("set system services web-management http port 70000", Level.UNSUPPORTED),
])
def test_unmodelled_forms_are_diagnostics_at_their_line(extra: str, level: Level) -> None:
    cfg = CFG + extra + "\n"
    dev = junos.parse(cfg, "srx.conf")
    at = cfg.splitlines().index(extra) + 1
    got = [d for d in dev.diagnostics if d.span is not None and d.span.line == at]
    assert [d.level for d in got] == [level], dev.diagnostics


def test_fixture_is_fully_modelled(dev: Device) -> None:
    assert [d for d in dev.diagnostics if d.level.makes_incomplete] == []


def test_query_local_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "srx.conf"
    cfg.write_text(CFG)
    pk = tmp_path / "p.jsonl"
    rows = [("ge-0/0/0.0", 22), ("ge-0/0/1.0", 22), ("ge-0/0/0.0", 23)]
    pk.write_text("".join(json.dumps({
        "src": V4[i][0], "dst": V4[i][1], "proto": "tcp", "sport": 40000, "dport": port,
        "in_iface": i}) + "\n" for i, port in rows))
    capsys.readouterr()
    code = main(["query", "--config", str(cfg), "--vendor", "junos", "--local",
                 "--packets", str(pk)])
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert code == 0
    assert [(a["verdict"], a["filter"], a["rule"] and a["rule"]["line"]) for a in out] == [
        ("permit", "host-inbound-traffic",
         LINE[HI + "trust host-inbound-traffic system-services ssh"]),
        ("deny", "host-inbound-traffic", None),
        ("deny", "lo0.0 input",
         LINE["set firewall family inet filter PROTECT-RE term no-telnet from protocol tcp"]),
    ]


CROSS = """\
set interfaces ge-0/0/0 unit 0 family inet address 10.10.0.1/24
set interfaces ge-0/0/1 unit 0 family inet address 10.20.0.1/24
set interfaces lo0 unit 0 family inet address 10.255.0.1/32
set security zones security-zone trust interfaces ge-0/0/0.0
set security zones security-zone mgmt host-inbound-traffic system-services ssh
set security zones security-zone mgmt host-inbound-traffic protocols ospf
set security zones security-zone mgmt interfaces ge-0/0/1.0
set security zones security-zone loop host-inbound-traffic system-services ssh
set security zones security-zone loop interfaces lo0.0
set security policies from-zone trust to-zone loop policy to-lo match source-address any
set security policies from-zone trust to-zone loop policy to-lo match destination-address any
set security policies from-zone trust to-zone loop policy to-lo match application junos-ssh
set security policies from-zone trust to-zone loop policy to-lo then permit
set security policies default-policy deny-all
"""
CL = {text: no for no, text in enumerate(CROSS.splitlines(), 1)}
TO_LO = "set security policies from-zone trust to-zone loop policy to-lo match source-address any"


@pytest.mark.parametrize(("cfg", "iface", "dst", "proto", "arg", "want", "stage", "at"), [
    # the ingress interface's own address: its zone's host-inbound only (trust: none)
    (CROSS, "ge-0/0/0.0", "10.10.0.1", 6, 22, Action.DENY, "host-inbound-traffic", None),
    (CROSS, "ge-0/0/1.0", "10.20.0.1", 6, 22, Action.PERMIT, "",
     HI + "mgmt host-inbound-traffic system-services ssh"),
    # another zone interface's address: a trust -> mgmt policy is needed (none: default)
    (CROSS, "ge-0/0/0.0", "10.20.0.1", 6, 22, Action.DENY, "security-policy to the device",
     "set security policies default-policy deny-all"),
    # ... with default-policy permit-all, mgmt's host-inbound (the destination's) decides
    (CROSS.replace("deny-all", "permit-all"), "ge-0/0/0.0", "10.20.0.1", 6, 22, Action.PERMIT,
     "", HI + "mgmt host-inbound-traffic system-services ssh"),
    # the loopback in zone loop: policy trust -> loop, then loop's host-inbound
    (CROSS, "ge-0/0/0.0", "10.255.0.1", 6, 22, Action.PERMIT, "",
     HI + "loop host-inbound-traffic system-services ssh"),
    (CROSS, "ge-0/0/0.0", "10.255.0.1", 6, 23, Action.DENY, "security-policy to the device",
     "set security policies default-policy deny-all"),
    # an address of no interface (OSPF hello multicast): the ingress interface's zone
    (CROSS, "ge-0/0/1.0", "224.0.0.5", 89, 0, Action.PERMIT, "",
     HI + "mgmt host-inbound-traffic protocols ospf"),
    (CROSS, "ge-0/0/0.0", "224.0.0.5", 89, 0, Action.DENY, "host-inbound-traffic", None),
])
def test_destination_interface_decides(cfg: str, iface: str, dst: str, proto: int, arg: int,
                                       want: Action, stage: str, at: str | None) -> None:
    dev = junos.parse(cfg, "srx.conf")
    src = {"ge-0/0/0.0": "10.10.0.9", "ge-0/0/1.0": "10.20.0.9"}[iface]
    action, rule, got_stage = local(dev, iface, packet(src, dst, proto, arg))
    assert action is want
    if want is Action.DENY:
        assert got_stage == stage
    lines = cfg.splitlines()
    if rule is not None:
        assert lines[rule.span.line - 1] == at
    elif at is not None:  # a default action: its span
        flt = dev.filters[got_stage]
        assert flt.default_span is not None
        assert lines[flt.default_span.line - 1] == at


def test_policy_to_the_loopback_zone_is_the_deciding_rule() -> None:
    dev = junos.parse(CROSS, "srx.conf")
    ci, none = dev.context("ge-0/0/0.0"), IfaceContext()
    flt = dev.filters["security-policy to the device"]
    action, rule = flt.decide(packet("10.10.0.9", "10.255.0.1", 6, 22), "new", ci, none)
    assert action is Action.PERMIT
    assert rule is not None
    assert rule.span.line == CL[TO_LO]
