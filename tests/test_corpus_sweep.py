"""Every real-world input in ``../shared/corpus`` is read without a crash (DESIGN.md §6).

Firewall exports (``firewalls/<vendor dir>/``) go through ``load_device(path)`` *without* a
vendor: each either parses as the vendor its folder names, or fails with a clean
``SegcheckError`` (a README, a host JSON, an FRR router config, a vendor with no parser yet).
Files of another vendor that live in a folder by provenance (the batfish example networks
mix routers and hosts) are listed in ``FOREIGN`` with the vendor they really are, checked by
reading them. aerleon's ``expected/`` renderings are mapped by extension and must be
detected as that vendor. Every diagnostic and every rule must point at a real line of the
file it came from. Then every parser is forced onto every file: wrong-vendor input may be
refused or diagnosed, but never crash.

Captures (``pcaps/**``, not the Zeek logs) all go through ``segcheck flows --format json``
in-process: exit 0 and a JSON list of flows of the DESIGN.md §4 shape.
The whole sweep takes a few seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segcheck.cli import main
from segcheck.errors import SegcheckError
from segcheck.model.device import Device
from segcheck.parsers.registry import VENDORS, load_device

pytestmark = pytest.mark.corpus

FOLDER_VENDOR: dict[str, str | None] = {
    "cisco_asa": "cisco-asa",
    "cisco_ios": "cisco-ios",
    "paloalto": "panos",
    "fortinet": "fortigate",
    "juniper_srx": "junos",
    "iptables": "iptables",
    "nftables": "nftables",
    "pfsense": "pfsense",
    "opnsense": "opnsense",
    "checkpoint": None,  # no parser: every file must be a clean ConfigParseError
}

AERLEON_EXT = {".acl": "cisco-ios", ".asa": "cisco-asa", ".ipt": "iptables", ".jcl": "junos",
               ".srx": "junos", ".xml": "panos", ".nft": "nftables", ".fortigate": "fortigate"}
"""aerleon rendering extension (before ``.ref``) -> the vendor that must be detected."""

FOREIGN = {
    # batfish example network: Linux hosts' iptables-save next to the IOS routers
    "cisco_ios/batfish-example-live/iptables/host1.iptables": "iptables",
    "cisco_ios/batfish-example-live/iptables/host2.iptables": "iptables",
    # FortiGate lab: the routers either side are IOS 16.4 ('Building configuration...')
    "fortinet/lab-validation/fortios_first_basic/configs/d1_inside/show_running-config.txt":
        "cisco-ios",
    "fortinet/lab-validation/fortios_first_basic/configs/d3_outside/show_running-config.txt":
        "cisco-ios",
}
"""Files whose real vendor differs from their folder's, relative to ``firewalls/``."""

KNOWN_MISDETECTED: set[str] = set()
"""Files detected as another vendor than expected, accepted for now (none left)."""

FLOW_KEYS = {"src", "dst", "proto", "sport", "dport", "packets", "bytes", "first_seen",
             "last_seen", "app", "operations", "src_zone", "dst_zone", "frames"}


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def span_problems(device: Device, path: Path) -> list[str]:
    """Diagnostics and rules that do not point at a line of ``path`` (1..number of lines)."""
    nlines = path.read_bytes().decode("utf-8", errors="replace").count("\n") + 1
    out = [f"diagnostic without a line: {d}" for d in device.diagnostics
           if d.span is None or not 1 <= d.span.line <= nlines or d.span.path != str(path)]
    for f in device.filters.values():
        out += [f"rule {f.name}#{k} at {r.span}" for k, r in enumerate(f.rules)
                if not 1 <= r.span.line <= nlines or r.span.path != str(path)]
    return out


def expected_vendor(rel: str) -> tuple[str | None, bool]:
    """(vendor the file must be detected as — None: must not parse, strict: a clean error
    is not acceptable either)."""
    folder = rel.split("/", 1)[0]
    if folder == "aerleon_oracle":
        name = rel.rsplit("/", 1)[-1].removesuffix(".ref")
        ext = name[name.rfind("."):] if "." in name else ""
        if "/expected/" in f"/{rel}" and ext in AERLEON_EXT:
            return AERLEON_EXT[ext], True
        return "any", False  # other generators and the policy sources: no crash is enough
    if rel in FOREIGN:
        return FOREIGN[rel], True
    return FOLDER_VENDOR[folder], False


def sweep_folder(corpus: Path, folder: str) -> tuple[list[str], int]:
    root = corpus / "firewalls"
    problems: list[str] = []
    parsed = 0
    for path in files_under(root / folder):
        rel = path.relative_to(root).as_posix()
        want, strict = expected_vendor(rel)
        try:
            device = load_device(path)
        except SegcheckError as exc:
            if strict:
                problems.append(f"{rel}: expected {want}, got error: {exc}")
            continue
        except Exception as exc:  # the bug this sweep exists to catch
            problems.append(f"{rel}: CRASH {type(exc).__name__}: {exc}")
            continue
        parsed += 1
        if want is None:
            problems.append(f"{rel}: no parser for this vendor, yet parsed as {device.vendor}")
        elif want != "any" and device.vendor != want and rel not in KNOWN_MISDETECTED:
            problems.append(f"{rel}: detected as {device.vendor}, expected {want}")
        problems += [f"{rel}: {p}" for p in span_problems(device, path)]
    return problems, parsed


@pytest.mark.parametrize("folder", [*FOLDER_VENDOR, "aerleon_oracle"])
def test_detect_and_parse_every_export(corpus: Path, folder: str) -> None:
    if not (corpus / "firewalls" / folder).is_dir():
        pytest.skip(f"corpus has no firewalls/{folder}")
    problems, parsed = sweep_folder(corpus, folder)
    assert not problems, "\n".join(problems)
    if FOLDER_VENDOR.get(folder, "any") is not None:
        assert parsed, f"nothing in firewalls/{folder} parsed"  # the sweep is not vacuous


def test_checkpoint_is_a_clean_error(corpus: Path) -> None:
    """No Check Point parser: auto-detection says so instead of guessing."""
    for path in files_under(corpus / "firewalls" / "checkpoint"):
        with pytest.raises(SegcheckError, match="pass --vendor"):
            load_device(path)


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_forced_vendor_never_crashes(corpus: Path, vendor: str) -> None:
    """Every parser on every corpus file (mostly the wrong vendor): a Device or a clean
    SegcheckError, and whatever diagnostics it gives point at real lines."""
    problems: list[str] = []
    root = corpus / "firewalls"
    for path in files_under(root):
        rel = path.relative_to(root).as_posix()
        try:
            device = load_device(path, vendor)
        except SegcheckError:
            continue
        except Exception as exc:
            problems.append(f"{rel}: CRASH {type(exc).__name__}: {exc}")
            continue
        problems += [f"{rel}: {p}" for p in span_problems(device, path)]
    assert not problems, "\n".join(problems)


def test_flows_reads_every_capture(corpus: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    captures = [p for p in files_under(corpus / "pcaps") if "_expected_zeek" not in p.parts]
    assert len(captures) > 50, "corpus captures missing"
    out = tmp_path / "flows.json"
    problems: list[str] = []
    for cap in captures:
        out.unlink(missing_ok=True)
        capsys.readouterr()
        rc = main(["flows", str(cap), "--format", "json", "-o", str(out), "--workers", "1"])
        err = capsys.readouterr().err
        rel = cap.relative_to(corpus).as_posix()
        if rc != 0 or "internal error" in err:
            problems.append(f"{rel}: exit {rc}: {err.strip()}")
            continue
        rows = json.loads(out.read_text())
        if not isinstance(rows, list):
            problems.append(f"{rel}: not a JSON list")
            continue
        for r in rows:
            if not set(r) >= FLOW_KEYS or r["packets"] < 1 or not r["frames"] \
                    or min(r["frames"]) < 1:
                problems.append(f"{rel}: bad flow row {r}")
                break
    assert not problems, "\n".join(problems)
