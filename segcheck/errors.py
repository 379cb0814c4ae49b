"""The one error tree of segcheck.

Only ``segcheck.cli`` turns these into messages and exit codes (exit 2, ``path:line:col: message``).
Recoverable problems in vendor input are *diagnostics* (``segcheck.model.source.Diagnostic``),
not exceptions: they mark a result incomplete instead of stopping it.
"""

from __future__ import annotations

from segcheck.model.source import SourceSpan


class SegcheckError(Exception):
    """Bad input or usage. ``span`` locates the problem when it has a place in a file."""

    def __init__(self, message: str, span: SourceSpan | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span

    def __str__(self) -> str:
        return f"{self.span.location()}: {self.message}" if self.span else self.message


class PolicyError(SegcheckError):
    """A policy or topology file is malformed or inconsistent."""


class ConfigParseError(SegcheckError):
    """A firewall export cannot be read at all (not even with diagnostics)."""


class CaptureError(SegcheckError):
    """A capture file cannot be opened or is not pcap/pcapng."""


class UsageError(SegcheckError):
    """The command line asks for something impossible (unknown vendor, filter, format...)."""
