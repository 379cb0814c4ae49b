"""Writing results: to stdout, or atomically to a file (never a half-written output)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def write_output(data: str | bytes, path: str | os.PathLike[str] | None) -> None:
    """Write ``data`` to ``path`` atomically (temp file + rename), or to stdout if ``path`` is
    None or ``-``. On any error the target file is left as it was."""
    if path is None or str(path) == "-":
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
            sys.stdout.flush()
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is meant to be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
