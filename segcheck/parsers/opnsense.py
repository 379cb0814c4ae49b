"""OPNsense ``config.xml`` (System > Configuration > Backups) -> ``Device``.

Root element ``<opnsense>``. The conversion, the pf last-match -> first-match rewrite and
the semantics checklist are shared with pfSense: see ``segcheck.parsers.pf_xml``.
OPNsense specifics: MVC aliases (``OPNsense/Firewall/Alias/aliases``, newline-separated
``content``, ``networkgroup`` nesting) next to legacy ``<aliases>``; MVC filter rules
(``OPNsense/Firewall/Filter/rules``: ``sequence`` order, ``quick``, ``direction``,
``interfacenot``, ``source_net``/``destination_net``) are placed before the legacy
floating/group/interface rules; IPv6 is not blocked globally.
"""

from __future__ import annotations

from segcheck.model.device import Device
from segcheck.parsers import pf_xml

VENDOR = "opnsense"


def detect(text: str) -> int:
    return 100 if pf_xml.root_tag(text[:4096]) == "opnsense" else 0


def parse(text: str, path: str, *, name: str | None = None) -> Device:
    return pf_xml.parse(VENDOR, text, path, name)
