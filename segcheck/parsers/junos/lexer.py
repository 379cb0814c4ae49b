"""JunOS configuration text -> flat ``set`` statements (both display formats).

A JunOS configuration is a tree; ``show configuration`` prints it with curly braces and
``show configuration | display set`` prints one ``set`` line per leaf. Both become a list of
``Statement(words, line, inactive)`` whose ``words`` are the full path from the root, as in
``set`` format (without the leading ``set``). Bracket lists ``protocol [ tcp udp ]`` expand
to one statement per element. ``inactive:`` on a block or statement, and ``deactivate PATH``
in set format, mark every statement at or below that path inactive. ``replace:``/``protect:``
annotations are dropped. Comments (``/* */``, ``#``) are skipped.

Invariant: ``line`` is the 1-based line of the statement's first word (the leaf's own line in
brace format), so every diagnostic points at the vendor line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANNOTATIONS = ("replace:", "protect:", "active:")


@dataclass(frozen=True, slots=True)
class Statement:
    words: tuple[str, ...]
    line: int
    text: str
    inactive: bool = False


_TOKEN = re.compile(
    r'(?P<nl>\n)|[ \t\r]+|(?P<comment>/\*.*?(?:\*/|\Z))|#[^\n]*'
    r'|(?P<quoted>"(?:[^"\\]|\\.)*"?)|(?P<word>[{};\[\]]|[^\s{};\[\]"]+)',
    re.S,
)


def _tokens(text: str) -> list[tuple[str, int]]:
    """Words, braces, brackets and semicolons with their 1-based line numbers."""
    out: list[tuple[str, int]] = []
    line = 1
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "nl":
            line += 1
        elif kind == "word":
            out.append((m.group(), line))
        elif kind == "quoted":
            tok = m.group()
            out.append((tok[1:-1] if len(tok) > 1 and tok.endswith('"') else tok[1:], line))
            line += tok.count("\n")
        elif kind == "comment":
            line += m.group().count("\n")
    return out


def _expand(words: list[str]) -> list[list[str]]:
    """``a [ b c ] d`` -> ``[[a b d], [a c d]]`` (at most one list per statement in JunOS)."""
    if "[" not in words:
        return [words]
    i = words.index("[")
    j = words.index("]", i) if "]" in words[i:] else len(words)
    return [[*words[:i], item, *words[j + 1:]] for item in words[i + 1:j]] or [words[:i]]


def _strip(words: list[str]) -> tuple[list[str], bool]:
    inactive = False
    out = []
    for w in words:
        if w == "inactive:":
            inactive = True
        elif w not in _ANNOTATIONS:
            out.append(w)
    return out, inactive


def is_set_format(text: str) -> bool:
    for raw in text.splitlines():
        s = raw.strip()
        if not s or s.startswith("#") or s.startswith("/*"):
            continue
        return s.split()[0] in ("set", "deactivate", "delete", "activate", "edit")
    return False


def statements(text: str, problems: list[tuple[Statement, str]] | None = None
               ) -> list[Statement]:
    """Every leaf of the configuration as a full-path statement (module docstring).

    Brace-format syntax errors the lexer skips over (words never ended by ``;``/``{``, a
    ``}`` without its ``{``, blocks still open at the end) are appended to ``problems`` as
    (statement at that line, message) when a list is given."""
    if is_set_format(text):
        return _from_set(text)
    return _from_braces(text, problems if problems is not None else [])


def _from_set(text: str) -> list[Statement]:
    raw: list[Statement] = []
    inactive_paths: list[tuple[str, ...]] = []
    for no, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        plain = not any(c in s for c in '"[]#{};') and "/*" not in s
        toks = s.split() if plain else [t for t, _ in _tokens(s)]
        if not toks:
            continue
        verb, rest = toks[0], toks[1:]
        if verb == "set":
            raw.extend(Statement(tuple(words), no, s) for words in _expand(rest))
        elif verb == "deactivate":
            inactive_paths.append(tuple(rest))
        elif verb == "activate":
            inactive_paths = [p for p in inactive_paths if p != tuple(rest)]
        elif verb == "delete":
            path = tuple(rest)
            raw = [st for st in raw if st.words[:len(path)] != path]
        else:
            raw.append(Statement(tuple(toks), no, s))  # the caller reports it
    if not inactive_paths:
        return raw
    return [
        Statement(st.words, st.line, st.text,
                  any(st.words[:len(p)] == p for p in inactive_paths))
        for st in raw
    ]


def _from_braces(text: str, problems: list[tuple[Statement, str]]) -> list[Statement]:
    lines = text.splitlines()
    out: list[Statement] = []
    stack: list[tuple[list[str], bool]] = []
    opened: list[int] = []
    cur: list[str] = []
    cur_line = 0

    def at(no: int) -> Statement:
        return Statement((), no, lines[no - 1].strip() if 0 < no <= len(lines) else "")

    for tok, line in _tokens(text):
        if tok in ("{", ";", "}"):
            if tok == "}":
                if cur:
                    problems.append((at(cur_line), "statement not ended by ';'"))
                if stack:
                    stack.pop()
                    opened.pop()
                else:
                    problems.append((at(line), "'}' without a matching '{'"))
                cur = []
                continue
            words, inactive = _strip(cur)
            inherited = any(flag for _, flag in stack)
            prefix = [w for ws, _ in stack for w in ws]
            if tok == "{":
                stack.append((words, inactive))
                opened.append(line)
            elif words:
                src = lines[cur_line - 1].strip() if 0 < cur_line <= len(lines) else ""
                out.extend(Statement(tuple(prefix + exp), cur_line, src, inactive or inherited)
                           for exp in _expand(words))
            cur = []
            continue
        if not cur:
            cur_line = line
        cur.append(tok)
    if cur:
        problems.append((at(cur_line), "statement not ended by ';' at the end of the file"))
    if opened:
        problems.append((at(opened[-1]), f"{len(opened)} block(s) still open at the end of "
                         "the file (truncated export?)"))
    return out
