"""Vendor registry: name -> parser module, format detection, and the one entry point
``load_device``.

Every parser module named here exposes:

- ``detect(text: str) -> int`` — 0 (certainly not this format) to 100 (certainly this one);
- ``parse(text: str, path: str, *, name: str | None = None) -> Device`` — never raises for
  odd vendor syntax: each line it does not understand becomes a ``Diagnostic`` with its
  line on the device (which marks it incomplete). It raises ``ConfigParseError`` only when
  the file is not of this format at all.

A test checks that the table and the modules agree (STYLE.md habit 4).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from segcheck.errors import ConfigParseError, UsageError
from segcheck.model.device import Device
from segcheck.model.source import SourceSpan

VENDORS: dict[str, str] = {
    "iptables": "segcheck.parsers.iptables",
    "nftables": "segcheck.parsers.nftables",
    "cisco-asa": "segcheck.parsers.cisco_asa",
    "cisco-ios": "segcheck.parsers.cisco_ios",
    "panos": "segcheck.parsers.panos",
    "fortigate": "segcheck.parsers.fortigate",
    "junos": "segcheck.parsers.junos",
    "pfsense": "segcheck.parsers.pfsense",
    "opnsense": "segcheck.parsers.opnsense",
}

DETECT_THRESHOLD = 50
"""A detection score at or above this counts as a claim on the file."""


def parser(vendor: str) -> ModuleType:
    """The parser module for ``vendor`` (UsageError when unknown or not yet available)."""
    if vendor not in VENDORS:
        raise UsageError(f"unknown vendor {vendor!r}; known: {', '.join(sorted(VENDORS))}")
    try:
        return importlib.import_module(VENDORS[vendor])
    except ModuleNotFoundError as exc:
        if exc.name == VENDORS[vendor]:
            raise UsageError(f"vendor {vendor!r} is not supported yet") from exc
        raise


def available_vendors() -> list[str]:
    out = []
    for vendor, module in VENDORS.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        out.append(vendor)
    return out


def detect(text: str, path: str) -> str:
    """The vendor whose parser claims ``text`` most strongly; an error when none or a tie."""
    scores = sorted(
        ((parser(v).detect(text), v) for v in available_vendors()), reverse=True
    )
    best = [v for s, v in scores if s >= DETECT_THRESHOLD and s == scores[0][0]]
    if not best:
        raise ConfigParseError(
            "cannot tell which vendor's export this is; pass --vendor "
            f"({', '.join(sorted(VENDORS))})",
            SourceSpan(path, 1),
        )
    if len(best) > 1:
        raise ConfigParseError(
            f"ambiguous format (looks like {' and '.join(best)}); pass --vendor",
            SourceSpan(path, 1),
        )
    return best[0]


def read_config(path: str | Path) -> str:
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigParseError(f"{p}: no such file") from exc
    except OSError as exc:
        raise ConfigParseError(f"{p}: cannot read: {exc.strerror}") from exc
    return data.decode("utf-8", errors="replace")


def load_device(path: str | Path, vendor: str | None = None, name: str | None = None) -> Device:
    """Read, detect (when ``vendor`` is None) and parse one firewall export."""
    text = read_config(path)
    vendor = vendor or detect(text, str(path))
    device: Device = parser(vendor).parse(text, str(path), name=name)
    return device
