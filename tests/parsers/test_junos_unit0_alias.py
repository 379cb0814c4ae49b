"""Regression: a topology may name an SRX port by its physical name (``ge-0/0/0``).

Found with the substation example site: the zones were known only under the unit name
(``ge-0/0/0.0``), so a topology saying ``ge-0/0/0: z-dmz`` gave the device no zone for the
port, no security policy matched, and every path through the SRX was silently denied (only
an "interface not in the export" warning) — all its findings went missing. Unit 0 answers to
the physical name as well, as the firewall-filter bindings already did.
"""

from __future__ import annotations

import ipaddress

from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import Action
from segcheck.parsers import junos

SRX = """\
set interfaces ge-0/0/0 unit 0 family inet address 10.2.0.2/24
set interfaces ge-0/0/1 unit 0 family inet address 10.3.0.1/24
set interfaces ge-0/0/2 unit 5 family inet address 10.5.0.1/24
set security zones security-zone dmz interfaces ge-0/0/0.0
set security zones security-zone station interfaces ge-0/0/1.0
set security zones security-zone lab interfaces ge-0/0/2.5
set security policies from-zone dmz to-zone station policy p match source-address any
set security policies from-zone dmz to-zone station policy p match destination-address any
set security policies from-zone dmz to-zone station policy p match application junos-rdp
set security policies from-zone dmz to-zone station policy p then permit
"""


def verdict(dev: Device, i: str, e: str, dport: int) -> Action:
    p = Packet(4, int(ipaddress.ip_address("10.2.0.20")), int(ipaddress.ip_address("10.3.0.20")),
               6, 40000, dport)
    ci, ce = dev.context(i), dev.context(e)
    for flt in dev.forward_filters(ci, ce):
        if flt.decide(p, "new", ci, ce)[0] is Action.DENY:
            return Action.DENY
    return Action.PERMIT


def test_physical_name_of_unit_zero_carries_its_zone() -> None:
    dev = junos.parse(SRX, "srx.conf")
    assert dev.context("ge-0/0/0").zone == "dmz"
    assert dev.context("ge-0/0/1").zone == "station"
    assert "ge-0/0/2" not in dev.interfaces  # only unit 0 is the port itself
    for i, e in (("ge-0/0/0", "ge-0/0/1"), ("ge-0/0/0.0", "ge-0/0/1.0")):
        assert verdict(dev, i, e, 3389) is Action.PERMIT
        assert verdict(dev, i, e, 22) is Action.DENY
        assert verdict(dev, e, i, 3389) is Action.DENY
