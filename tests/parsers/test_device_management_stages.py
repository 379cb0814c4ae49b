"""Regression: traffic to the firewall itself (the local stages) for ASA and SRX.

Found with the substation example site: both parsers built no local stage, so the site
analysis treated every address of an ASA and of an SRX as reachable on every management
service from every zone (false SC-MGMT-EXPOSED). The ASA accepts management only from its
``ssh``/``telnet``/``http`` (+ ``http server enable``) entries; an SRX only the
``host-inbound-traffic system-services`` of the zone (or interface) the packet arrives in.
Oracle: the vendors' documented semantics, decided packet by packet with ``Filter.decide``
(the slow reference) over every local stage.
"""

from __future__ import annotations

import ipaddress

import pytest

from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import Action, IfaceContext
from segcheck.parsers import cisco_asa, junos

ASA = """\
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
ssh 10.9.0.0 255.255.255.0 inside
ssh 2001:db8:1:9::/64 inside
ssh timeout 5
http 10.9.0.10 255.255.255.255 inside
telnet 10.9.0.10 255.255.255.255 outside
snmp-server host inside 10.9.0.20 community public
snmp-server host inside 10.9.0.21 community public trap
"""

SRX = """\
set interfaces ge-0/0/0 unit 0 family inet address 10.2.0.2/24
set interfaces ge-0/0/1 unit 0 family inet address 10.3.0.1/24
set interfaces ge-0/0/2 unit 0 family inet address 10.5.0.1/24
set interfaces fxp0 unit 0 family inet address 192.0.2.1/24
set security zones security-zone dmz interfaces ge-0/0/0.0
set security zones security-zone station host-inbound-traffic system-services ssh
set security zones security-zone station host-inbound-traffic system-services ping
set security zones security-zone station interfaces ge-0/0/1.0
set security zones security-zone lab interfaces ge-0/0/2.0 host-inbound-traffic \
system-services all
set security zones security-zone lab interfaces ge-0/0/2.0 host-inbound-traffic \
system-services telnet except
set security policies default-policy deny-all
"""


def local_verdict(dev: Device, iface: str, src: str, dst: str, proto: int,
                  dport: int = 0) -> Action:
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    p = Packet(s.version, int(s), int(d), proto, 40000 if dport else 0, dport)
    ci, ce = dev.context(iface), IfaceContext()
    assert dev.local, "a local stage must decide traffic to the device"
    for st in dev.local:
        if st.applies(ci, ce) and dev.filters[st.filter].decide(p, "new", ci, ce)[0] \
                is Action.DENY:
            return Action.DENY
    return Action.PERMIT


@pytest.mark.parametrize(("iface", "src", "dst", "proto", "dport", "want"), [
    ("GigabitEthernet0/1", "10.9.0.5", "10.1.0.1", 6, 22, Action.PERMIT),      # ssh entry
    ("GigabitEthernet0/1", "10.1.2.3", "10.1.0.1", 6, 22, Action.DENY),        # not listed
    ("GigabitEthernet0/0", "10.9.0.5", "198.51.100.1", 6, 22, Action.DENY),    # other nameif
    ("GigabitEthernet0/1", "2001:db8:1:9::5", "2001:db8:1::1", 6, 22, Action.PERMIT),
    ("GigabitEthernet0/1", "10.9.0.10", "10.1.0.1", 6, 443, Action.DENY),      # no http server
    # telnet entry, but outside is the lowest-security interface: the ASA refuses Telnet
    # there (outside a VPN tunnel) — see _asa_mgmt; test_asa_mgmt.py has the permitted case
    ("GigabitEthernet0/0", "10.9.0.10", "198.51.100.1", 6, 23, Action.DENY),
    ("GigabitEthernet0/1", "10.9.0.20", "10.1.0.1", 17, 161, Action.PERMIT),   # snmp poll
    ("GigabitEthernet0/1", "10.9.0.21", "10.1.0.1", 17, 161, Action.DENY),     # trap only
    ("GigabitEthernet0/0", "203.0.113.9", "198.51.100.1", 6, 3389, Action.DENY),
    # only to the address of the interface the entry names (not across the box)
    ("GigabitEthernet0/1", "10.9.0.5", "198.51.100.1", 6, 22, Action.DENY),
])
def test_asa_management_access(iface: str, src: str, dst: str, proto: int, dport: int,
                               want: Action) -> None:
    dev = cisco_asa.parse(ASA, "fw.cfg")
    assert local_verdict(dev, iface, src, dst, proto, dport) is want


def test_asa_http_server_enable_port() -> None:
    dev = cisco_asa.parse(ASA + "http server enable 8443\n", "fw.cfg")
    assert local_verdict(dev, "GigabitEthernet0/1", "10.9.0.10", "10.1.0.1", 6, 8443) \
        is Action.PERMIT
    assert local_verdict(dev, "GigabitEthernet0/1", "10.9.0.10", "10.1.0.1", 6, 443) \
        is Action.DENY


@pytest.mark.parametrize(("iface", "proto", "dport", "want"), [
    ("ge-0/0/0.0", 6, 22, Action.DENY),       # zone without host-inbound-traffic
    ("ge-0/0/1.0", 6, 22, Action.PERMIT),     # zone-level ssh
    ("ge-0/0/1.0", 6, 443, Action.DENY),
    ("ge-0/0/1.0", 1, 0, Action.PERMIT),      # ping
    ("ge-0/0/2.0", 6, 443, Action.PERMIT),    # interface-level all
    ("ge-0/0/2.0", 6, 23, Action.DENY),       # ... except telnet
    ("ge-0/0/3.0", 6, 22, Action.DENY),       # in no zone
    ("fxp0.0", 6, 22, Action.PERMIT),         # out-of-band management port
    ("fxp0", 6, 22, Action.PERMIT),
    ("em0.0", 6, 22, Action.DENY),            # not configured here
])
def test_srx_host_inbound_traffic(iface: str, proto: int, dport: int, want: Action) -> None:
    dev = junos.parse(SRX, "srx.conf")
    # to the ingress interface's own address (another interface's address also needs a
    # security policy to that interface's zone: test_srx_host_inbound.py)
    own = {"ge-0/0/0.0": "10.2.0.2", "ge-0/0/1.0": "10.3.0.1", "ge-0/0/2.0": "10.5.0.1",
           "fxp0.0": "192.0.2.1", "fxp0": "192.0.2.1"}
    assert local_verdict(dev, iface, "10.3.0.50", own.get(iface, "10.3.0.1"), proto,
                         dport) is want


def test_asa_nameif_names_the_interface() -> None:
    """Regression (substation site): a topology naming ASA interfaces by nameif got an
    'interface not in the export' warning and no vendor zone; nameif is an alias."""
    dev = cisco_asa.parse(ASA, "fw.cfg")
    assert dev.context("inside").zone == dev.context("GigabitEthernet0/1").zone == "inside"
    assert dev.interfaces["inside"].addresses == dev.interfaces["GigabitEthernet0/1"].addresses
    assert local_verdict(dev, "inside", "10.9.0.5", "10.1.0.1", 6, 22) is Action.PERMIT
    assert local_verdict(dev, "outside", "10.9.0.5", "198.51.100.1", 6, 22) is Action.DENY
