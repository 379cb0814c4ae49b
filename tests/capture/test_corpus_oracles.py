"""The shared corpus of real captures: every file is read without an exception; flows agree
with tshark (5-tuples, packet and byte counts) and with the Zeek + ICSNPP baselines
(5-tuples, initiator, detected service). Skipped when the corpus is absent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from segcheck.capture.flows import extract_flows
from tests.capture import tshark_oracle
from tests.conftest import require_oracle

pytestmark = pytest.mark.corpus

ZEEK_SERVICES = {"bacnet": "bacnet", "spicy_profinet_io_cm": "profinet", "modbus": "modbus",
                 "dnp3": "dnp3", "ssl": "tls", "dns": "dns", "http": "http", "ssh": "ssh",
                 "rdp": "rdp", "smb": "smb"}


MODES = ("default", "python")
"""Every oracle runs over the default scan (native when built) and over the pure-Python
scan (SEGCHECK_NATIVE=0), against the same oracle output."""


def set_mode(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    if mode == "python":
        monkeypatch.setenv("SEGCHECK_NATIVE", "0")
    else:
        monkeypatch.delenv("SEGCHECK_NATIVE", raising=False)


def captures(corpus: Path) -> list[Path]:
    return sorted(p for p in (corpus / "pcaps").rglob("*")
                  if p.is_file() and p.suffix in (".pcap", ".pcapng", ".cap"))


@pytest.mark.parametrize("mode", MODES)
def test_every_capture_is_read(corpus: Path, monkeypatch: pytest.MonkeyPatch, mode: str,
                               ) -> None:
    set_mode(monkeypatch, mode)
    files = captures(corpus)
    assert len(files) > 50
    res = extract_flows(files, workers=2)
    assert len(res.captures) == len(files)
    for cap in res.captures:
        assert cap.packets > 0, cap.path
        decoded = sum(f.packets for f in res.flows if f.capture == cap.path)
        skipped = sum(n for _, n in cap.undecodable) + sum(n for _, n in cap.non_ip)
        # every frame is accounted for: in a flow, counted as non-IP, or counted undecodable
        assert decoded + skipped == cap.packets, cap.path


def test_flows_agree_with_tshark(corpus: Path, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    if not tshark_oracle.available():
        require_oracle("tshark/mergecap not installed")
    files = captures(corpus)
    oracle: list[tuple[dict[tshark_oracle.Conv, int], dict[tshark_oracle.Conv, int]]] = []
    for mode in MODES:
        set_mode(monkeypatch, mode)
        results = [extract_flows([p], workers=1) for p in files]
        if not oracle:
            counts = [r.captures[0].packets for r in results]
            oracle = list(tshark_oracle.conversations_many(files, counts, tmp_path))
        _agree_with_tshark(files, results, oracle, mode)


def _agree_with_tshark(files: list[Path], results: list[Any],
                       oracle: list[tuple[dict[tshark_oracle.Conv, int],
                                          dict[tshark_oracle.Conv, int]]], mode: str) -> None:
    total = agree = 0
    mismatches = []
    for p, res, (tp, tb) in zip(files, results, oracle, strict=True):
        frag = any(f.fragments for f in res.flows)
        mp: dict[tshark_oracle.Conv, int] = {}
        mb: dict[tshark_oracle.Conv, int] = {}
        for f in res.flows:
            if f.proto_name not in ("tcp", "udp"):
                continue
            k = tshark_oracle.key_of(f.proto_name, f.src, f.dst, f.sport, f.dport)
            mp[k] = mp.get(k, 0) + f.packets - f.fragments
            mb[k] = mb.get(k, 0) + f.bytes
        for k in set(tp) | set(mp):
            total += 1
            if tp.get(k) == mp.get(k) and (frag or tb.get(k) == mb.get(k)):
                agree += 1
            else:
                mismatches.append((p.name, k, tp.get(k), mp.get(k)))
    assert total > 400
    assert mismatches == [], f"{mode}: {agree}/{total} conversations agree"


def _zeek_rows(log: Path) -> list[dict[str, str]]:
    # zeek-cut style baselines carry no header: orig_h orig_p resp_h resp_p proto service
    fields = ["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service"]
    rows = []
    for line in log.read_text().splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line and not line.startswith("#"):
            rows.append(dict(zip(fields, line.split("\t"), strict=False)))
    return rows


@pytest.mark.parametrize("mode", MODES)
def test_flows_agree_with_zeek_baselines(corpus: Path, monkeypatch: pytest.MonkeyPatch,
                                         mode: str) -> None:
    set_mode(monkeypatch, mode)
    logs = sorted((corpus / "pcaps").rglob("_expected_zeek/*.conn.log"))
    if not logs:
        pytest.skip("no Zeek baselines in the corpus")
    for log in logs:
        name = log.name.removesuffix(".conn.log")
        (pcap,) = [p for p in captures(corpus) if p.stem == name]
        rows = _zeek_rows(log)
        zeek: dict[tuple[str, str, int, str, int], str] = {}
        for r in rows:
            k = (r["proto"], r["id.orig_h"], int(r["id.orig_p"]), r["id.resp_h"],
                 int(r["id.resp_p"]))
            zeek[k] = r.get("service", "-")
        res = extract_flows([pcap], workers=1)
        ours = {(f.proto_name, f.src, f.sport, f.dst, f.dport): f.app
                for f in res.flows if f.version}

        def canon(k: tuple[str, str, int, str, int]) -> tuple[object, ...]:
            return (k[0], *sorted([(k[1], k[2]), (k[3], k[4])]))

        assert {canon(k) for k in zeek} == {canon(k) for k in ours}, name
        # initiator: where Zeek saw the conversation one way only, ours is the same way
        one_way = [k for k in zeek if (k[0], k[3], k[4], k[1], k[2]) not in zeek]
        assert all(k in ours for k in one_way), name
        for k, svc in zeek.items():
            ours_app = ours.get(k) or ours.get((k[0], k[3], k[4], k[1], k[2]))
            want = ZEEK_SERVICES.get(svc) if svc not in ("-", "") else None
            assert ours_app == want, (name, k, svc, ours_app)


def test_vectorised_scan_equals_per_packet_scan(corpus: Path) -> None:
    """The bulk numpy path and the per-packet path give identical flows on every capture."""
    from segcheck.capture.flows import _finish, scan

    for p in captures(corpus):
        got = [scan(str(p), engine=e) for e in ("vector", "packet")]
        flows = [sorted((_finish(str(p), f) for f in g.flows),
                        key=lambda f: (f.src, f.sport, f.dst, f.dport, f.proto)) for g in got]
        assert flows[0] == flows[1], p.name
        counts = [(g.packets, g.bytes, g.bad, g.non_ip) for g in got]
        assert counts[0] == counts[1], p.name
