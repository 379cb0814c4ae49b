"""Writing results: to stdout, or atomically to a file (never a half-written output)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from segcheck.errors import UsageError


def write_output(data: str | bytes, path: str | os.PathLike[str] | None) -> None:
    """Write ``data`` to ``path`` atomically (temp file + rename), or to stdout if ``path`` is
    None or ``-``. On any error the target file is left as it was, and a problem with the
    target (a directory, an unwritable place, a file where a folder should be) is a
    ``UsageError`` naming it (exit 2), not an internal error."""
    if path is None or str(path) == "-":
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
            sys.stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{target}: is a directory, not an output file")
    tmp = stage_output(data, target)
    try:
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def stage_output(data: str | bytes, target: Path) -> Path:
    """Write ``data`` to a new temporary file next to ``target`` (same directory, so the final
    ``os.replace`` is atomic) with ordinary permissions, and return its path. The caller moves
    it into place or deletes it; on error nothing is left behind (``UsageError`` naming it)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise UsageError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is meant to be shared
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
