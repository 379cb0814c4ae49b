"""Palo Alto Networks PAN-OS: XML, ``set`` and brace exports -> ``Device``.

Formats: the XML running configuration (``show config running``, the exported
running-config.xml, or an XML API ``<response><result><config>``), ``set`` format
(``set cli config-output-format set``) and brace format. ``tree`` lowers all three to one
keyed tree, ``objects`` resolves names, ``convert`` builds the device.

Model:

- One filter ``security`` per vsys (``<vsys>/security`` when there are several; zones are
  then named ``<vsys>:<zone>`` and each vsys's stage applies to its own interfaces/zones).
  Rule order: shared pre-rulebase, Panorama-pushed pre-rules, the vsys rulebase, pushed
  post-rules, shared post-rulebase, then the predefined rules. A Panorama configuration
  gives one ``<device-group>/security`` filter per device group (no stages), with the
  device-group hierarchy (``readonly ... parent-dg``): parents' pre-rules before the
  group's, their post-rules after, their objects visible.
- Interfaces get their vendor zone from ``zone/<z>/network/{layer3,layer2,virtual-wire,tap,
  tunnel}``; rules bind by zone (``IfaceMatch(zones=...)``). Query packets name
  ``in_iface``/``out_iface`` (zones are looked up) or ``from_zone``/``to_zone``.
- Traffic to the firewall itself (local stages) must pass two filters: ``management`` —
  the interface management profile (https, http, ssh, telnet, snmp, ping, ``permitted-ip``)
  of the interface *owning the destination address* as synthetic permits (any address when
  that interface has none configured), default deny — and ``security-to-device`` — the
  security rulebase with its egress decided for that interface's zone (so an intrazone
  deny or a missing inter-zone rule blocks management too). With several vsys only the
  profiles are modelled (warning; over-approximated).
- NAT rules are listed in ``Device.nat``; destination NAT adds an *unsupported* diagnostic
  (the translated reachability is not modelled; security rules match pre-NAT addresses and
  post-NAT zones, as on the device).

Semantics checklist (STYLE.md habit 5):

- **Stateful?** Yes. A synthetic first rule ``stateful-return`` permits packets of
  established/related sessions; every other rule matches connection-initiating packets.
- **First match?** Yes, top-down over the rulebase order above; ``disabled yes`` rules are
  kept with ``enabled=False`` (problems found only in them are warnings: they never decide).
- **Implicit rules?** The predefined ``intrazone-default`` (allow: same zone in and out)
  and ``interzone-default`` (deny: everything else) are explicit synthetic rules at the end;
  ``rulebase/default-security-rules`` overrides their actions.
- **Rule types.** ``universal`` (default): from-zone x to-zone; ``intrazone``: only packets
  whose ingress and egress zone are the same listed zone; ``interzone``: the product minus
  the same-zone pairs (an ``exclude``).
- **Empty / any.** ``any`` (or a missing field) in from/to/source/destination/service/
  application matches everything. An address group with no members matches nothing.
- **Negation.** ``negate-source``/``negate-destination`` complement the address set in both
  families (``not any-ipv4`` = all IPv6, as aerleon renders it).
- **IPv4 and IPv6.** Address objects are per family; a rule's boxes exist per family where
  both its source and destination have addresses. ``icmp`` is IPv4 only, ``ipv6-icmp``
  IPv6 only.
- **Names vs numbers.** Service protocols are ``tcp``/``udp``/``sctp``; ports are decimal
  lists and ranges. Predefined ``service-http`` (tcp/80,8080) and ``service-https``
  (tcp/443) are built in.
- **Applications (App-ID).** Protocol-defined applications and custom applications whose
  default identification is an ICMP type, IP protocol or port list are exact. Any other
  application is a signature no header model can express: for ``allow`` rules it is
  modelled as any traffic (over-approximating what is permitted), for deny/drop/reset rules
  as no traffic (under-approximating what is denied), with a warning. So "deny" verdicts
  stay sound; "permit" means "may permit". ``service application-default`` is modelled as
  any port (noted) unless the application fixes the protocol/ports. Users, URL categories,
  HIP profiles and schedules are handled the same way.
- **FQDN, dynamic groups, EDLs, regions.** Resolved at run time: they match nothing and
  raise an *unsupported* diagnostic (the result is incomplete).
- **No rules at all.** Only the predefined rules remain: intrazone allow, interzone deny.
"""

from __future__ import annotations

import re

from segcheck.model.device import Device
from segcheck.model.source import Diagnostic
from segcheck.parsers.panos.convert import Converter, build_device
from segcheck.parsers.panos.tree import read

VENDOR = "panos"

_XML_MARKERS = ("<devices>", "<vsys>", "<deviceconfig>", "<rulebase>", "<mgt-config>",
                "urldb=", "<device-group>")
_SET_MARKERS = re.compile(
    r"^\s*set\s+(?:(?:vsys\s+\S+|shared|policy\s+panorama)\s+)?"
    r"(?:deviceconfig|rulebase|pre-rulebase|post-rulebase|mgt-config|zone\s|address-group|"
    r"address\s+\S+\s+(?:ip-netmask|ip-range|fqdn)|service-group|network\s+interface\s+"
    r"ethernet\s+ethernet)",
    re.MULTILINE,
)
_BRACE_MARKERS = re.compile(r"^\s*(?:deviceconfig|rulebase|vsys|mgt-config)\s*\{", re.MULTILINE)


def detect(text: str) -> int:
    head = text[:200_000]
    stripped = head.lstrip()
    if stripped.startswith("<"):
        if "<config" not in head:
            return 0
        hits = sum(marker in head for marker in _XML_MARKERS)
        return 95 if hits >= 2 else (70 if hits else 0)
    if _SET_MARKERS.search(head):
        return 85
    if "RANCID-CONTENT-TYPE: paloalto" in head[:200]:
        return 95
    if _BRACE_MARKERS.search(head) and re.search(r"^\s*config\s*\{", head, re.MULTILINE):
        return 80
    return 0


def parse(text: str, path: str, *, name: str | None = None) -> Device:
    diagnostics: list[Diagnostic] = []
    config, pushed, _fmt = read(text, path, diagnostics)
    conv = Converter(path, text.splitlines(), diagnostics)
    return build_device(conv, config, pushed, name)
