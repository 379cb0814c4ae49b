"""Every engine test runs twice: on the pure-Python passes and on the native kernel.

A module declares ``NATIVE_FREE = True`` when its code has no native path (it runs once, in
Python) or ``MODES_COMPARED = True`` when each test compares the two modes itself (it runs
once, in the native pass); the other pass is not generated at all rather than skipped.

``SEGCHECK_NATIVE=0`` forces pure Python (``segcheck.engine.native``; set for the whole run,
it skips the native pass); the ``native`` run skips when the extension was not built —
except under ``SEGCHECK_REQUIRE_NATIVE=1`` (CI), where a missing extension fails the run
instead of silently testing one path twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from segcheck.engine import native

_FORCED_PYTHON = os.environ.get("SEGCHECK_NATIVE") == "0"
"""``SEGCHECK_NATIVE=0`` for the whole run: the native pass is skipped (not under
``SEGCHECK_REQUIRE_NATIVE=1``)."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine_mode" not in metafunc.fixturenames:
        return
    if getattr(metafunc.module, "NATIVE_FREE", False):
        modes = ["python"]
    elif getattr(metafunc.module, "MODES_COMPARED", False):
        modes = ["native"]
    else:
        modes = ["python", "native"]
    metafunc.parametrize("engine_mode", modes, indirect=True, scope="module")


@pytest.fixture(scope="module", autouse=True)
def engine_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    mode: str = request.param
    required = bool(os.environ.get("SEGCHECK_REQUIRE_NATIVE"))
    if mode == "native" and not native.available():
        if required:
            pytest.fail("segcheck.engine._mddc was not built (SEGCHECK_REQUIRE_NATIVE=1)")
        pytest.skip("segcheck.engine._mddc not built")
    if mode == "native" and _FORCED_PYTHON and not required:
        pytest.skip("SEGCHECK_NATIVE=0: pure Python only")
    old = os.environ.get("SEGCHECK_NATIVE")
    os.environ["SEGCHECK_NATIVE"] = "0" if mode == "python" else "1"
    try:
        yield mode
    finally:
        if old is None:
            del os.environ["SEGCHECK_NATIVE"]
        else:
            os.environ["SEGCHECK_NATIVE"] = old
