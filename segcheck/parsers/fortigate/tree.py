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


def words(line: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    in_word = False
    quote = ""
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\" and i + 1 < len(line):
                cur.append(line[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = ""
            else:
                cur.append(ch)
        elif ch in "\"'":
            quote = ch
            in_word = True
        elif ch.isspace():
            if in_word:
                out.append("".join(cur))
                cur, in_word = [], False
        else:
            cur.append(ch)
            in_word = True
        i += 1
    if in_word:
        out.append("".join(cur))
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
