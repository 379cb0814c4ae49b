from __future__ import annotations

import importlib

import pytest

from segcheck import __version__
from segcheck.cli import COMMANDS, main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_documented(name: str) -> None:
    """Each sub-command has a help text (sqlite-utils' test_docs habit)."""
    command = importlib.import_module(f"segcheck.commands.{name}").command
    assert command.help, name
    assert "Not implemented" not in command.help, name


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err
