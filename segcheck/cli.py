"""The ``segcheck`` command: a thin shell over the library.

Each sub-command lives in ``segcheck/commands/<name>.py`` and exposes ``command`` (a click
command). This module only assembles them, and is the one place that maps errors to exit
codes: 0 clean, 1 findings at or above ``--fail-on``, 2 bad input or usage, 3 internal error
(a bug in segcheck: please report it; set ``SEGCHECK_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import sys
import traceback
from typing import NoReturn

import click

from segcheck import __version__
from segcheck.errors import SegcheckError

COMMANDS = ("check", "diff", "query", "explain", "rules", "flows", "graph", "validate", "schema")
"""Sub-command modules under ``segcheck.commands``; a test checks each is documented."""

EXIT_CLEAN, EXIT_FINDINGS, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="segcheck")
def cli() -> None:
    """Verify IT/OT network segmentation: zone/conduit policy vs firewall exports vs captures.

    Exit codes: 0 clean, 1 findings at or above --fail-on, 2 bad input or usage.
    """


for _name in COMMANDS:
    cli.add_command(importlib.import_module(f"segcheck.commands.{_name}").command, _name)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return (and, as a script, exit with) its exit code."""
    try:
        rv = cli.main(args=argv, prog_name="segcheck", standalone_mode=False)
    except SegcheckError as exc:
        click.echo(f"segcheck: {exc}" if exc.span is None else str(exc), err=True)
        return _exit(EXIT_BAD_INPUT, argv)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return _exit(EXIT_BAD_INPUT, argv)
    except click.ClickException as exc:
        exc.show()
        return _exit(EXIT_BAD_INPUT, argv)
    except click.exceptions.Exit as exc:
        return _exit(exc.exit_code, argv)
    except BrokenPipeError:
        return _exit(EXIT_CLEAN, argv)
    except Exception as exc:  # a bug: say so plainly, never a bare traceback
        click.echo(f"segcheck: internal error: {type(exc).__name__}: {exc}", err=True)
        if os.environ.get("SEGCHECK_DEBUG"):
            traceback.print_exc()
        else:
            click.echo("(set SEGCHECK_DEBUG=1 for the traceback; please report it)", err=True)
        return _exit(EXIT_INTERNAL, argv)
    return _exit(rv if isinstance(rv, int) else EXIT_CLEAN, argv)


def _exit(code: int, argv: list[str] | None) -> int:
    if argv is None:  # running as the console script
        _leave(code)
    return code


def _leave(code: int) -> NoReturn:
    """End the process without tearing the heap down object by object.

    After a large check the interpreter's teardown frees millions of objects one at a time:
    ~1.9 s of 8.4 s for ``segcheck check`` on the 10x10k-rule benchmark site. Nothing is
    left to do by then (outputs are written and closed, worker pools and temporary
    directories are closed by their ``with`` blocks), so the ``atexit`` handlers run, the
    standard streams are flushed, and the process ends with ``os._exit``. A stream that
    cannot be flushed (a reader that went away) does not change the exit code.
    """
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
