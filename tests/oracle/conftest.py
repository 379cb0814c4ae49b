"""Fixtures for the kernel oracle tests (network namespaces; root, ip, iptables, nft)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import require_oracle
from tests.oracle.kernel_lab import Lab


@pytest.fixture(scope="session")
def kernel_lab() -> Iterator[Lab]:
    """One client/router/server namespace lab for the whole session, always torn down."""
    if os.geteuid() != 0:
        require_oracle("kernel oracle tests need root (network namespaces)")
    missing = [t for t in ("ip", "iptables-restore", "ip6tables-restore", "nft")
               if shutil.which(t) is None]
    if missing:
        require_oracle(f"kernel oracle tests need {', '.join(missing)}")
    lab = Lab()
    try:
        lab.setup()
    except (OSError, RuntimeError) as exc:
        lab.teardown()
        require_oracle(f"cannot build the namespace lab: {exc}")
    try:
        yield lab
    finally:
        lab.teardown()
