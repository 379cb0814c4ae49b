"""`segcheck flows` end to end: DESIGN.md §4 JSON shape, CSV, text, errors; and the example
captures are exactly what scripts/make_captures.py generates."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from segcheck.cli import main
from tests.conftest import ROOT

INCIDENT = str(ROOT / "captures" / "riverbend-incident.pcapng")
NORMAL = str(ROOT / "captures" / "riverbend-normal.pcap")
POLICY = str(ROOT / "policies" / "riverbend.yaml")
DESIGN_KEYS = {"src", "dst", "proto", "sport", "dport", "packets", "bytes", "first_seen",
               "last_seen", "app", "operations", "src_zone", "dst_zone", "frames"}


def test_json_shape_and_zones(tmp_path: Path) -> None:
    out = tmp_path / "flows.json"
    assert main(["flows", INCIDENT, "--policy", POLICY, "--format", "json", "-o", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert rows
    assert all(set(r) >= DESIGN_KEYS for r in rows)
    write = next(r for r in rows if r["src"] == "10.10.7.33" and r["dst"] == "10.50.1.10")
    assert write["proto"] == "tcp"
    assert write["dport"] == 502
    assert write["app"] == "modbus"
    assert write["operations"] == {"read": 1, "write": 2}
    assert (write["src_zone"], write["dst_zone"]) == ("z-ent", "z-field-plant")
    assert {16, 18} <= set(write["frames"])
    assert write["initiator_by"] == "syn"


def test_json_without_policy_has_null_zones(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["flows", NORMAL, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["src_zone"] for r in rows} == {None}
    assert {r["app"] for r in rows} >= {"modbus", "dnp3", "tls", "rdp"}


def test_csv_and_text(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["flows", NORMAL, INCIDENT, "--format", "csv", "--workers", "2"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 23  # 8 normal + 15 incident flows (captures/README.md)
    assert rows[0]["src"]
    assert main(["flows", INCIDENT, "--policy", POLICY]) == 0
    text = capsys.readouterr().out
    assert "10.10.7.33:61000 -> 10.50.1.10:502  [z-ent -> z-field-plant]  modbus" in text


def test_not_a_capture_exits_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "notes.pcap"
    bad.write_text("hello")
    assert main(["flows", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err


def test_example_captures_are_reproducible(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_captures.py"), "--out",
                    str(tmp_path)], check=True)
    for name in ("riverbend-normal.pcap", "riverbend-incident.pcapng", "README.md"):
        assert (tmp_path / name).read_bytes() == (ROOT / "captures" / name).read_bytes(), name
    total = sum((ROOT / "captures" / n).stat().st_size for n in
                ("riverbend-normal.pcap", "riverbend-incident.pcapng"))
    assert total < 200_000
