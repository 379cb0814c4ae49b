"""Fortinet FortiGate (FortiOS): ``show full-configuration`` / ``show`` / backup files.

``tree`` reads the CLI script into blocks and entries (with ``rename``/``move``/``delete``
applied as the CLI would), ``convert`` builds the device.

Model:

- One forward filter ``policy`` (``<vdom>/policy`` per VDOM when the file has VDOMs: one
  Device per file, name-prefixed filters; each VDOM's stage applies to the interfaces whose
  ``set vdom`` names it and to its zones). Rules are ``config firewall policy`` entries in
  file order (FortiOS evaluates the list top-down, not by ID), then ``firewall policy6``
  (pre-6.4 IPv6 table; disjoint by family so order between the two does not matter).
- ``srcintf``/``dstintf`` name interfaces or ``config system zone`` zones: each becomes an
  ``IfaceMatch`` that matches the interface name or its zone; ``any`` is no condition.
  Interfaces carry their FortiGate zone.
- Traffic to the FortiGate itself passes two local filters. ``local-in``: explicit
  ``firewall local-in-policy`` rules (by incoming interface) first, then one synthetic
  permit per ``allowaccess`` (``config ipv6`` ``ip6-allowaccess``) interface to *its own*
  addresses for https/http/ssh/telnet/snmp/fgfm/ping (admin ports from ``system global``
  ``admin-sport`` etc.), default deny. ``policy-to-device``: reaching an interface's
  address from another interface also needs a firewall policy from the incoming interface
  to the addressed one (Fortinet KB 369268), so the policy list is replayed with its
  egress decided for that interface; from the interface itself no policy is needed.
- VIPs (``firewall vip``) referenced in ``dstaddr`` match their external address (what the
  policy sees before translation); every VIP is listed in ``Device.nat`` with an
  *unsupported* diagnostic (the mapped host's reachability is not modelled). IP pools and
  central SNAT are listed in ``Device.nat`` only.

Semantics checklist (STYLE.md habit 5):

- **Stateful?** Yes: a synthetic first rule ``stateful-return`` permits established/related
  packets; policies match connection-initiating packets.
- **First match?** Yes, in listed order; ``set status disable`` keeps the rule with
  ``enabled=False`` (problems found only in it are warnings: it never decides).
  ``action`` defaults to deny (as FortiOS does); ``ipsec`` permits.
- **Implicit rules?** ``implicit deny (policy 0)`` is an explicit synthetic rule at the end.
  Zones with ``set intrazone allow`` get a synthetic permit for same-zone traffic placed
  before the policies (FortiOS does not look up policies for it); ``intrazone deny``
  (default) needs a policy like any other traffic.
- **Empty address list?** A policy matches a family only when both its source and
  destination lists for that family are set: ``srcaddr``/``dstaddr`` are IPv4,
  ``srcaddr6``/``dstaddr6`` IPv6 (FortiOS 6.4+ consolidated policies). Predefined ``all`` is
  the whole family; ``none`` is 0.0.0.0/32 resp. ::/128 (unless the export defines them).
  An address with no ``subnet`` is 0.0.0.0/0, as on the device.
- **Groups.** Nested ``addrgrp``/``addrgrp6``/``service group`` expand depth-first; cycles
  and undefined names are errors. ``set exclude enable`` groups are members minus
  ``exclude-member``. ``srcaddr-negate``/``dstaddr-negate`` complement the IPv4 lists,
  ``srcaddr6-negate``/``dstaddr6-negate`` the IPv6 ones (in ``policy6``: the plain names);
  ``service-negate`` turns the services into an exclude.
- **Addresses.** ``ipmask``/``interface-subnet`` (mask or prefix), ``iprange``, non-contiguous
  ``wildcard``, ``ipprefix``/``iprange`` for IPv6 are exact; ``fqdn``, ``geography``,
  ``dynamic`` and the like match nothing and raise an *unsupported* diagnostic.
- **Services / names vs numbers.** ``tcp-portrange``/``udp-portrange``/``sctp-portrange``
  entries are ``dst[-dst][:src[-src]]``; ``protocol ICMP``/``ICMP6`` with optional
  ``icmptype``/``icmpcode``; ``protocol IP`` with ``protocol-number`` (0 = any). Predefined
  services (``ALL``, ``HTTP``, ``PING``, ...) are built in unless the export defines them.
- **ICMP vs ICMPv6.** Separate protocols (``ICMP`` IPv4 only, ``ICMP6`` IPv6 only).
- **Not headers.** Users/groups, ISDB internet-service, applications and URL categories:
  a permit ignores them (over-approximates), a deny then matches nothing (under-
  approximates), with a warning; a permit with ``internet-service(-src) enable`` may reach
  any destination (source). Schedules are ignored (``always`` assumed).
- **Not modelled.** NGFW policy-based ``firewall security-policy``, proxy and multicast
  policies: present -> *unsupported* diagnostic.
- **No rules at all.** Only the implicit deny: everything is denied.
"""

from __future__ import annotations

import re

from segcheck.model.device import Device
from segcheck.model.source import Diagnostic
from segcheck.parsers.fortigate.convert import Converter, build_device
from segcheck.parsers.fortigate.tree import parse_tree

VENDOR = "fortigate"

_MARKERS = re.compile(
    r"^\s*config\s+(?:firewall\s+(?:policy|address|addrgrp|service\s+custom|vip)|"
    r"system\s+(?:interface|global|zone)|vdom)\s*$",
    re.MULTILINE,
)


def detect(text: str) -> int:
    head = text[:200_000]
    if head.lstrip().startswith("<"):
        return 0
    if re.search(r"^#config-version=FG", head, re.MULTILINE):
        return 100
    hits = len({m.group(0).strip() for m in _MARKERS.finditer(head)})
    if hits and re.search(r"^\s*(?:edit\s+\S+|end)\s*$", head, re.MULTILINE):
        return 90 if hits >= 2 else 75
    return 0


def parse(text: str, path: str, *, name: str | None = None) -> Device:
    diagnostics: list[Diagnostic] = []
    root = parse_tree(text, path, diagnostics)
    conv = Converter(path, text.splitlines(), diagnostics)
    return build_device(conv, root, name)
