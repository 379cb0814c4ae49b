"""Registry tables and their modules agree (STYLE.md habit 4): every vendor name has a parser
with detect/parse, every report format renders a result, and keys are unique by construction
of a dict — so the test checks the other direction too: no parser module is left unregistered."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import segcheck.parsers
from segcheck.analysis.result import CheckResult, Finding, Severity
from segcheck.parsers.registry import VENDORS, available_vendors
from segcheck.report.registry import FORMATS, render

HELPER_MODULES = {"registry", "common", "pf_xml", "pf_rules", "fwobjects", "xmltree"}
"""Shared helpers of several parsers (private ``_name`` modules are helpers too)."""


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_every_vendor_has_a_parser(vendor: str) -> None:
    module = importlib.import_module(VENDORS[vendor])
    assert callable(module.detect)
    assert callable(module.parse)
    assert vendor in available_vendors()


def test_every_parser_module_is_registered() -> None:
    registered = {v.rsplit(".", 1)[1] for v in VENDORS.values()}
    found = {m.name for m in pkgutil.iter_modules(segcheck.parsers.__path__)}
    assert {m for m in found if not m.startswith('_')} - registered - HELPER_MODULES == set()


def test_detection_of_empty_text_claims_nothing() -> None:
    for vendor in VENDORS:
        assert importlib.import_module(VENDORS[vendor]).detect("") < 50, vendor


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_renders(fmt: str) -> None:
    """pip-audit's test_to_format_is_exhaustive: each format renders a minimal result."""
    finding = Finding(
        code="SC-PATH-UNAUTH", severity=Severity.HIGH, title="t", message="m",
        src_zone="z-ent", dst_zone="z-scada", object="fw-ot:1",
    )
    result = CheckResult(
        version="0", inputs=(), diagnostics=(), zones=(), matrix=(), findings=(finding,)
    )
    out = render(result, fmt)
    assert isinstance(out, str)
    assert out
