"""pfSense ``config.xml`` (Diagnostics > Backup & Restore) -> ``Device``.

Root element ``<pfsense>``. The conversion, the pf last-match -> first-match rewrite and
the semantics checklist are shared with OPNsense: see ``segcheck.parsers.pf_xml``.
pfSense specifics: IPv6 is blocked entirely unless ``system/ipv6allow`` is present; rules
live in ``<filter><rule>`` (floating rules carry ``<floating>yes</floating>`` and are quick
only with ``<quick>``); aliases in ``<aliases><alias>`` with space-separated ``<address>``.
"""

from __future__ import annotations

from segcheck.model.device import Device
from segcheck.parsers import pf_xml

VENDOR = "pfsense"


def detect(text: str) -> int:
    return 100 if pf_xml.root_tag(text[:4096]) == "pfsense" else 0


def parse(text: str, path: str, *, name: str | None = None) -> Device:
    return pf_xml.parse(VENDOR, text, path, name)
