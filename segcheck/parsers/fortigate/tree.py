"""FortiOS CLI configuration (``show full-configuration``, backups) -> a tree of blocks.

Grammar (line based): ``config <path...>`` opens a block closed by ``end``; inside it,
``edit <name>`` opens an entry closed by ``next`` (or by the block's ``end``); ``set <key>
<values...>``, ``unset <key>``, ``append``/``select`` (add to / replace a list), ``rename A to
B``, ``delete A``, ``move A before|after B`` and ``purge`` edit the current block/entry, as a
CLI script would. Words are shell-like: ``"a b"`` is one word, adjacent quoted and bare parts
concatenate, ``\\`` escapes inside quotes. ``#`` lines are comments (backup headers).

Every block, entry and setting keeps its 1-based line. Unknown commands become diagnostics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from segcheck.errors import ConfigParseError
from segcheck.model.source import Diagnostic, Level, SourceSpan


@dataclass(slots=True)
class Setting:
    values: list[str]
    line: int


@dataclass(slots=True)
class FNode:
    """A ``config`` block (``name`` = its path) or an ``edit`` entry (``name`` = the key)."""

    name: str
    line: int
    settings: dict[str, Setting] = field(default_factory=dict)
    blocks: dict[str, FNode] = field(default_factory=dict)
    """Nested ``config`` blocks by path."""
    entries: dict[str, FNode] = field(default_factory=dict)
    """``edit`` entries in file order (the order FortiOS evaluates policies in)."""

    def get(self, key: str, default: str = "") -> str:
        s = self.settings.get(key)
        return s.values[0] if s is not None and s.values else default

    def values(self, key: str) -> list[str]:
        s = self.settings.get(key)
        return list(s.values) if s is not None else []

    def block(self, path: str) -> FNode | None:
        return self.blocks.get(path)


_TOKEN = re.compile(r"""(?:"(?:[^"\\]|\\.)*"?|'[^']*'?|[^\s"']+)+""")
_PIECE = re.compile(r""""((?:[^"\\]|\\.)*)"?|'([^']*)'?|([^\s"']+)""")
_ESCAPE = re.compile(r"\\(.)")


def words(line: str) -> list[str]:
    """Shell-like words (see the module docstring); the common unquoted case is a split."""
    if '"' not in line and "'" not in line:
        return line.split()
    if "'" not in line and "\\" not in line and line.count('"') % 2 == 0:
        return _double_quoted(line)
    return shell_words(line)


def shell_words(line: str) -> list[str]:
    """The general (slow) case of ``words``."""
    out: list[str] = []
    for token in _TOKEN.findall(line):
        parts: list[str] = []
        for m in _PIECE.finditer(token):
            if m.group(1) is not None:
                parts.append(_ESCAPE.sub(r"\1", m.group(1)))
            else:
                parts.append(m.group(2) if m.group(2) is not None else m.group(3))
        out.append("".join(parts))
    return out


def _double_quoted(line: str) -> list[str]:
    """Fast path of ``words`` for balanced double quotes without escapes: odd pieces of a
    split on ``"`` are quoted words; pieces touching without whitespace are glued."""
    out: list[str] = []
    attach = False  # the next piece continues out[-1]
    for i, part in enumerate(line.split('"')):
        if i % 2:
            if attach:
                out[-1] += part
            else:
                out.append(part)
            attach = True
        elif part:
            ws = part.split()
            if attach and ws and not part[0].isspace():
                out[-1] += ws.pop(0)
            out.extend(ws)
            attach = not part[-1].isspace()
    return out


def parse_tree(text: str, path: str, diagnostics: list[Diagnostic]) -> FNode:
    root = FNode("", 1)
    stack: list[FNode] = [root]
    lines = text.splitlines()

    def diag(lineno: int, message: str, code: str, level: Level = Level.UNSUPPORTED) -> None:
        diagnostics.append(Diagnostic(level, message, SourceSpan(
            path, lineno, lines[lineno - 1].strip()), f"fortigate.{code}"))

    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        w = words(line)
        if not w:
            continue
        cmd, args = w[0], w[1:]
        top = stack[-1]
        if cmd == "config":
            if not args:
                diag(lineno, "'config' without a path", "syntax", Level.ERROR)
                continue
            key = " ".join(args)
            block = top.blocks.get(key)
            if block is None:
                block = top.blocks[key] = FNode(key, lineno)
            stack.append(block)
        elif cmd == "edit":
            if not args:
                diag(lineno, "'edit' without a name", "syntax", Level.ERROR)
                continue
            if len(stack) > 1 and _is_entry(stack):
                stack.pop()  # an 'edit' directly after an entry without 'next'
            block = stack[-1]
            entry = block.entries.get(args[0])
            if entry is None:
                entry = block.entries[args[0]] = FNode(args[0], lineno)
            stack.append(entry)
        elif cmd == "next":
            if len(stack) > 1 and _is_entry(stack):
                stack.pop()
            else:
                diag(lineno, "'next' outside an 'edit'", "syntax", Level.WARNING)
        elif cmd == "end":
            if len(stack) > 1 and _is_entry(stack):
                stack.pop()
            if len(stack) > 1:
                stack.pop()
            else:
                diag(lineno, "'end' without 'config'", "syntax", Level.WARNING)
        elif cmd in ("set", "select") and args:
            top.settings[args[0]] = Setting(args[1:], lineno)
        elif cmd == "append" and args:
            s = top.settings.get(args[0])
            if s is None:
                top.settings[args[0]] = Setting(args[1:], lineno)
            else:
                s.values.extend(args[1:])
        elif cmd == "unset" and args:
            top.settings.pop(args[0], None)
        elif cmd == "unselect" and len(args) >= 2:
            s = top.settings.get(args[0])
            if s is not None:
                s.values = [v for v in s.values if v not in args[1:]]
        elif cmd == "rename" and len(args) == 3 and args[1] == "to":
            if args[0] in top.entries:
                items = [(args[2] if k == args[0] else k, v) for k, v in top.entries.items()]
                top.entries = dict(items)
                top.entries[args[2]].name = args[2]
        elif cmd == "delete" and args:
            top.entries.pop(args[0], None)
        elif cmd == "purge":
            top.entries.clear()
        elif cmd == "move" and len(args) == 3 and args[1] in ("before", "after"):
            _move(top, args[0], args[1], args[2])
        else:
            diag(lineno, f"unsupported command {line!r}", "unsupported-command")
    if not root.blocks:
        raise ConfigParseError("no 'config' block: not a FortiOS configuration",
                               SourceSpan(path, 1))
    return root


def _is_entry(stack: list[FNode]) -> bool:
    """Whether the top of the stack is an ``edit`` entry (it is in its parent's entries)."""
    return len(stack) > 1 and stack[-2].entries.get(stack[-1].name) is stack[-1]


def _move(block: FNode, name: str, where: str, other: str) -> None:
    if name not in block.entries or other not in block.entries or name == other:
        return
    moving = block.entries.pop(name)
    items: list[tuple[str, FNode]] = []
    for k, v in block.entries.items():
        if k == other and where == "before":
            items.append((name, moving))
        items.append((k, v))
        if k == other and where == "after":
            items.append((name, moving))
    block.entries = dict(items)
