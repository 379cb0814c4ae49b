"""Bad input never escapes as anything but PolicyError (no tracebacks): random edits of a
valid policy and topology either load or raise PolicyError with a location."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from segcheck.errors import PolicyError
from segcheck.policy import load_policy, load_topology
from tests.policy.helpers import BASE, TOPO, write_site

PIECES = st.sampled_from([
    "", " ", "\n", ":", "- ", "[", "]", "{", "}", ",", "'", '"', "&a ", "*a", "!!int ", "~",
    "null", "true", "0x1F", "3.5", ".nan", "2026-02-30", "10.0.0.0/8", "::1", "z-ot", "plc",
    "sl_t", "id", "\t", "#", "? ", "<<: *a", "---\n",
])


@st.composite
def edits(draw: st.DrawFn, text: str) -> str:
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        text = text[:i] + draw(PIECES) + text[j:]
    return text


def _located(load: Callable[[], object]) -> int | None:
    """None when ``load`` succeeds; the error line when it raises a located PolicyError."""
    try:
        load()
    except PolicyError as exc:
        if exc.span is None:
            raise AssertionError(f"PolicyError without a location: {exc}") from None
        return exc.span.line
    return None


@settings(max_examples=300)
@given(edits(BASE))
@example(BASE.replace("segcheck: 1", "segcheck: !!int  TEST", 1))  # int() of the tag's text
def test_policy_edits_never_crash(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        path.write_text(text)
        span = _located(lambda: load_policy(path))
        assert span is None or span >= 1


@settings(max_examples=150)
@given(edits(TOPO))
def test_topology_edits_never_crash(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _, topo = write_site(Path(tmp), topo=text)
        span = _located(lambda: load_topology(topo))
        assert span is None or span >= 1


def test_recursive_alias_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("segcheck: 1\nzones: &z\n  - id: a\n    kind: it\n    cidrs: *z\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.span is not None


@pytest.mark.parametrize(("old", "new", "message"), [
    ("segcheck: 1", "segcheck: !!int TEST", "must be an integer, not 'TEST'"),
    ("sl_t: 1", "sl_t: !!int 1.5", "must be an integer, not '1.5'"),
    ("conduit_sl_ge_zone_sl: true", "conduit_sl_ge_zone_sl: !!bool TEST",
     "must be true or false, not 'TEST'"),
])
def test_explicit_tags_on_the_wrong_text_are_located_errors(old: str, new: str,
                                                           message: str) -> None:
    """An explicit YAML tag does not make its text that type: ``!!bool TEST`` used to read as
    true and ``!!int TEST`` escaped as a ValueError."""
    assert old in BASE
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        path.write_text(BASE.replace(old, new, 1))
        with pytest.raises(PolicyError, match=message) as info:
            load_policy(path)
        assert info.value.span is not None
        assert info.value.span.line == 1 + BASE[:BASE.index(old)].count("\n")
