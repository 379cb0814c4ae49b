"""Where things come from (``SourceSpan``) and what went wrong reading them (``Diagnostic``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """A place in an input file. Lines and columns are 1-based; ``col`` 0 means "whole line"
    and ``line`` 0 means "the file as a whole" (a binary capture has no lines)."""

    path: str
    line: int
    text: str | None = None
    """The raw source line (stripped), for messages, SARIF snippets and audit traces."""
    col: int = 0

    def location(self) -> str:
        """``path:line:col`` (or ``path:line`` when the column is unknown, ``path`` when the
        place is the whole file)."""
        if not self.line:
            return self.path
        return f"{self.path}:{self.line}:{self.col}" if self.col else f"{self.path}:{self.line}"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


class Level(StrEnum):
    """How bad a diagnostic is.

    ``ERROR`` and ``UNSUPPORTED`` make the analysis *incomplete*: something in the input was
    not understood, so a verdict built without it could be wrong (a skipped ``deny`` turns
    "blocked" into "open"). ``WARNING`` and ``INFO`` never do.
    """

    ERROR = "error"
    UNSUPPORTED = "unsupported"
    WARNING = "warning"
    INFO = "info"

    @property
    def makes_incomplete(self) -> bool:
        return self in (Level.ERROR, Level.UNSUPPORTED)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found while reading an input, tied to its line."""

    level: Level
    message: str
    span: SourceSpan | None = None
    code: str = ""
    """Short stable identifier, e.g. ``iptables.unknown-match`` or ``lint.asset-outside-zone``."""

    def __str__(self) -> str:
        where = f"{self.span.location()}: " if self.span else ""
        code = f" [{self.code}]" if self.code else ""
        return f"{where}{self.level.value}: {self.message}{code}"

    def to_json(self) -> dict[str, object]:
        return {
            "level": self.level.value,
            "code": self.code,
            "message": self.message,
            "file": self.span.path if self.span else None,
            "line": self.span.line if self.span else None,
            "text": self.span.text if self.span else None,
        }


def is_complete(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> bool:
    """True when no diagnostic makes the analysis incomplete."""
    return not any(d.level.makes_incomplete for d in diagnostics)
