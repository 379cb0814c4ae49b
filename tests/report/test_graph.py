"""The reachability graph: golden DOT files (reviewed; on mismatch ``.actual`` is written next
to the golden file for review), determinism, encoding of each edge kind, rendering with dot,
and the missing-dot path."""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from segcheck.report import graph
from tests.report.fixtures import generated, riverbend

GOLDEN = Path(__file__).parent / "golden"


def _golden(name: str, text: str) -> None:
    ref = GOLDEN / name
    actual = ref.with_suffix(ref.suffix + ".actual")
    if not ref.exists() or ref.read_text() != text:
        actual.write_text(text)
        pytest.fail(f"{ref} differs from the output; review {actual} and copy it over if right")
    actual.unlink(missing_ok=True)


def test_golden_riverbend() -> None:
    _golden("riverbend.dot", graph.to_dot(riverbend()))


def test_golden_riverbend_with_assets() -> None:
    _golden("riverbend-assets.dot", graph.to_dot(riverbend(complete=True), assets=True))


def test_golden_30_zones() -> None:
    _golden("generated-30.dot", graph.to_dot(generated(30)))


def test_identical_across_runs_and_input_order() -> None:
    r = riverbend()
    first = graph.to_dot(r)
    assert graph.to_dot(r) == first
    rng = random.Random(7)
    for _ in range(5):
        shuffled = replace(r, zones=tuple(rng.sample(r.zones, len(r.zones))),
                           matrix=tuple(rng.sample(r.matrix, len(r.matrix))),
                           findings=tuple(rng.sample(r.findings, len(r.findings))),
                           conduits=tuple(rng.sample(r.conduits, len(r.conduits))))
        assert graph.to_dot(shuffled) == first


def _edge(dot: str, a: str, b: str) -> str:
    lines = [ln for ln in dot.splitlines()
             if ln.strip().startswith(f'"zone:{a}" -> "zone:{b}"') and "pivot" not in ln]
    assert len(lines) == 1, lines
    return lines[0]


def test_edge_encoding() -> None:
    dot = graph.to_dot(riverbend())
    ok = _edge(dot, "z-ent", "z-ot-dmz")
    assert graph.CONDUIT_COLOUR in ok
    assert 'style="solid"' in ok
    assert 'label="tcp/443"' in ok
    sis = _edge(dot, "z-scada", "z-sis")
    assert graph.SEVERITY_COLOURS[graph.Severity.CRITICAL] in sis
    assert "SC-SIS-REACH" in sis
    egress = _edge(dot, "z-scada", "z-internet")
    assert graph.SEVERITY_COLOURS[graph.Severity.HIGH] in egress
    unimpl = _edge(dot, "z-scada", "z-field-remote")
    assert 'style="dotted"' in unimpl
    assert "C-04 (no rule)" in unimpl
    pivots = [ln for ln in dot.splitlines() if 'class="pivot"' in ln]
    assert len(pivots) == 2
    assert graph.PIVOT_COLOUR in pivots[0]
    # observed-only edge in the generated site is dashed
    gen = graph.to_dot(generated(30))
    obs = [ln for ln in gen.splitlines() if 'class="observed' in ln]
    assert len(obs) == 1
    assert 'style="dashed"' in obs[0]
    # every zone is a node, with its band
    for z in riverbend().zones:
        assert f'"zone:{z["id"]}" [' in dot
    assert "legend" in dot


def test_purdue_bands_top_to_bottom() -> None:
    dot = graph.to_dot(riverbend())
    bands = re.findall(r'subgraph "rank band:([^"]+)"', dot)
    assert bands == ["5", "4", "3.5", "3", "1", "safety"]
    block = dot.split('subgraph "rank band:safety"')[1].split("}")[0]
    assert '"zone:z-sis"' in block
    chain = re.findall(r'"band:([^"]+)" -> "(?:band:)?([^"]+)" \[style="invis"', dot)
    assert chain[-1] == ("safety", "legend")


def test_renders_svg_png_pdf(tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        from tests.conftest import require_oracle
        require_oracle("graphviz 'dot' is not installed")
    for fmt, magic in (("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")):
        out = graph.write_graph(riverbend(), tmp_path / f"g.{fmt}")
        assert out.read_bytes().startswith(magic)
    svg = graph.svg_inline(generated(30))
    assert svg is not None
    assert svg.startswith("<svg")
    assert svg.count('class="node zone') == 30


def test_missing_dot_writes_dot_file_and_says_how(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(graph.GraphvizMissing) as info:
        graph.write_graph(riverbend(), tmp_path / "site.svg")
    assert "apt-get install graphviz" in str(info.value)
    assert info.value.dot_path == tmp_path / "site.dot"
    assert (tmp_path / "site.dot").read_text() == graph.to_dot(riverbend())
    assert not (tmp_path / "site.svg").exists()
    assert graph.svg_inline(riverbend()) is None


def test_bad_suffix_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(graph.UsageError):
        graph.write_graph(riverbend(), tmp_path / "g.jpg")


def test_crowded_band_wraps_into_rows(tmp_path: Path) -> None:
    """30 zones on one Purdue level: 4 rows of at most 8, still one band title."""
    g = generated(30)
    flat = replace(g, zones=tuple({**z, "purdue_levels": [2], "safety": False}
                                  for z in g.zones))
    dot = graph.to_dot(flat)
    rows = re.findall(r'subgraph "rank (band:[^"]+)"', dot)
    assert rows == ["band:2", "band:2#2", "band:2#3", "band:2#4"]
    for block in dot.split("subgraph ")[1:]:
        assert block.split("\n  }")[0].count("\"zone:") <= graph.MAX_PER_ROW
    assert dot.count("L2 Supervisory") == 1
    if shutil.which("dot"):
        png = graph.write_graph(flat, tmp_path / "flat.png")
        assert png.read_bytes().startswith(b"\x89PNG")
