"""Typed reading of YAML nodes with exact error locations.

The policy and topology loaders walk PyYAML's *composed* node graph (not the constructed
Python objects) so every value still has its ``start_mark``: every error is raised as a
``PolicyError`` whose ``SourceSpan`` gives the 1-based line and column of the offending node,
and every loaded object keeps the span of the node it came from.

Rules common to both file kinds (decisions recorded here, once):

- Unknown keys are errors, with a "did you mean" suggestion (``difflib``), because a
  misspelt optional key (``bidirectionl: true``) would otherwise be silently ignored.
- Duplicate mapping keys are errors (PyYAML would silently keep the last one).
- ``null`` for an optional key means "absent".
- Scalars are typed by YAML's own resolution; a number where a string is expected is an
  error that says to quote it (``ticket: "1182"``), never a silent coercion.
- Anchors/aliases are allowed (the composer resolves them); merge keys (``<<``) are not.
"""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml

from segcheck.errors import PolicyError
from segcheck.model.source import SourceSpan
from segcheck.policy.model import IPAddress, IPNetwork

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
TIMESTAMP = "tag:yaml.org,2002:timestamp"

_TYPE_NAMES = {
    STR: "a string", INT: "an integer", FLOAT: "a number", BOOL: "a boolean",
    NULL: "null", TIMESTAMP: "a date",
}


def describe(node: yaml.Node) -> str:
    """A human name for what a node is ("a list", "an integer", ...)."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return _TYPE_NAMES.get(node.tag, f"a {node.tag.rsplit(':', 1)[-1]}")


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True, slots=True)
class Doc:
    """One YAML file being read: its path (as given) and lines (for span text)."""

    path: str
    lines: tuple[str, ...]

    @classmethod
    def load(cls, path: str | Path) -> tuple[Doc, yaml.Node | None]:
        """Read and compose ``path``; syntax and I/O errors become ``PolicyError``."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PolicyError(f"{p}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{p}: cannot read: {exc}") from None
        doc = cls(str(path), tuple(text.splitlines()))
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            what = exc.problem or "YAML syntax error"
            if exc.context:
                what = f"{exc.context}, {what}"
            raise PolicyError(
                f"YAML syntax error: {what}",
                doc.mark_span(mark.line, mark.column) if mark else SourceSpan(str(path), 1),
            ) from None
        except yaml.reader.ReaderError as exc:
            # not a MarkedYAMLError: it carries the character offset of the bad character
            # (NUL, other C0 controls, lone surrogates), which we turn into its line/column
            before = text[:max(exc.position, 0)]
            line0 = before.count("\n")
            col0 = len(before) - (before.rfind("\n") + 1)
            raise PolicyError(
                f"YAML error: {exc.reason}: character U+{exc.character:04X} "
                "is not allowed in YAML",
                doc.mark_span(line0, col0),
            ) from None
        except yaml.YAMLError as exc:
            raise PolicyError(f"YAML error: {exc}", SourceSpan(str(path), 1)) from None
        return doc, node

    def mark_span(self, line0: int, col0: int) -> SourceSpan:
        text = self.lines[line0].strip() if 0 <= line0 < len(self.lines) else None
        return SourceSpan(self.path, line0 + 1, text, col0 + 1)

    def span(self, node: yaml.Node) -> SourceSpan:
        return self.mark_span(node.start_mark.line, node.start_mark.column)

    def error(self, node: yaml.Node, message: str) -> PolicyError:
        return PolicyError(message, self.span(node))

    # -- structure ----------------------------------------------------------------------

    def mapping(
        self,
        node: yaml.Node,
        what: str,
        allowed: Iterable[str],
        required: Iterable[str] = (),
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """Keys -> (key node, value node) of a mapping with a closed key set.

        Null values of optional keys are dropped (absent). Missing required keys are an error
        at the mapping itself.
        """
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping, not {describe(node)}")
        allowed = tuple(allowed)
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for knode, vnode in node.value:
            key = self.key(knode, what)
            if key not in allowed:
                raise self.error(
                    knode, f"unknown key {key!r} in {what}{suggest(key, allowed)}"
                )
            if key in out:
                raise self.error(knode, f"duplicate key {key!r} in {what}")
            if vnode.tag == NULL and key not in required:
                continue
            out[key] = (knode, vnode)
        for key in required:
            if key not in out:
                raise self.error(node, f"{what} is missing required key {key!r}")
        return out

    def key(self, knode: yaml.Node, what: str) -> str:
        if knode.tag == "tag:yaml.org,2002:merge":
            raise self.error(knode, "YAML merge keys ('<<') are not supported")
        if not isinstance(knode, yaml.ScalarNode) or knode.tag not in (STR, INT):
            raise self.error(knode, f"keys of {what} must be names, not {describe(knode)}")
        return str(knode.value)

    def items(
        self, node: yaml.Node, what: str
    ) -> list[tuple[yaml.Node, str, yaml.Node]]:
        """(key node, key, value node) of an open mapping (ids as keys), duplicates refused."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping, not {describe(node)}")
        seen: set[str] = set()
        out = []
        for knode, vnode in node.value:
            key = self.key(knode, what)
            if key in seen:
                raise self.error(knode, f"duplicate key {key!r} in {what}")
            seen.add(key)
            out.append((knode, key, vnode))
        return out

    def seq(self, node: yaml.Node, what: str, *, scalar_ok: bool = False) -> list[yaml.Node]:
        """Items of a list; with ``scalar_ok`` a single scalar counts as a one-item list."""
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if scalar_ok and isinstance(node, yaml.ScalarNode) and node.tag != NULL:
            return [node]
        raise self.error(node, f"{what} must be a list, not {describe(node)}")

    # -- scalars ------------------------------------------------------------------------

    def str_(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != STR:
            hint = (f' (quote it: "{node.value}")'
                    if isinstance(node, yaml.ScalarNode) and node.tag not in (NULL, STR) else "")
            raise self.error(node, f"{what} must be a string, not {describe(node)}{hint}")
        value = str(node.value)
        if not value.strip():
            raise self.error(node, f"{what} must not be empty")
        return value

    def strs(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        """A string or a list of strings."""
        return tuple(self.str_(n, what) for n in self.seq(node, what, scalar_ok=True))

    def choice(self, node: yaml.Node, what: str, choices: Iterable[str]) -> str:
        choices = tuple(choices)
        value = self.str_(node, what)
        if value not in choices:
            raise self.error(
                node,
                f"{what} {value!r} is not one of {', '.join(choices)}{suggest(value, choices)}",
            )
        return value

    def choices(self, node: yaml.Node, what: str, choices: Iterable[str]) -> tuple[str, ...]:
        choices = tuple(choices)
        return tuple(
            self.choice(n, what, choices) for n in self.seq(node, what, scalar_ok=True)
        )

    def int_(self, node: yaml.Node, what: str, lo: int | None = None, hi: int | None = None) -> int:
        if not isinstance(node, yaml.ScalarNode) or node.tag != INT:
            raise self.error(node, f"{what} must be an integer, not {describe(node)}")
        # an explicit `!!int` tag on text that is not one reaches here: `!!int 1.5` is no 1
        value = _scalar_value(node)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(node, f"{what} must be an integer, not {node.value!r}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise self.error(node, f"{what} must be between {lo} and {hi}, not {value}")
        return value

    def number(self, node: yaml.Node, what: str, lo: float, hi: float) -> float:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (INT, FLOAT):
            raise self.error(node, f"{what} must be a number, not {describe(node)}")
        # an explicit `!!int`/`!!float` tag on text that is not a number reaches here
        raw = _scalar_value(node)
        if not isinstance(raw, int | float) or isinstance(raw, bool):
            raise self.error(node, f"{what} must be a number, not {node.value!r}")
        value = float(raw)
        if not lo <= value <= hi:
            raise self.error(node, f"{what} must be between {lo:g} and {hi:g}, not {value:g}")
        return value

    def bool_(self, node: yaml.Node, what: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or node.tag != BOOL:
            raise self.error(node, f"{what} must be true or false, not {describe(node)}")
        value = _scalar_value(node)
        if not isinstance(value, bool):  # `!!bool TEST` would otherwise read as true
            raise self.error(node, f"{what} must be true or false, not {node.value!r}")
        return value

    def date_(self, node: yaml.Node, what: str) -> date:
        """A date (``2026-12-31``, quoted or not)."""
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (STR, TIMESTAMP):
            raise self.error(node, f"{what} must be a date (YYYY-MM-DD), not {describe(node)}")
        try:
            if node.tag == TIMESTAMP:
                value = yaml.safe_load(node.value)
                if isinstance(value, datetime):
                    return value.date()
                if isinstance(value, date):
                    return value
            return date.fromisoformat(str(node.value))
        except ValueError:
            raise self.error(node, f"{what} must be a date (YYYY-MM-DD), not {node.value!r}") \
                from None

    def network(self, node: yaml.Node, what: str) -> IPNetwork:
        """A CIDR (or a bare address = host network); host bits set is an error."""
        text = self.str_(node, what)
        try:
            return ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            hint = ""
            with contextlib.suppress(ValueError):
                hint = f" (did you mean {ipaddress.ip_network(text, strict=False)}?)"
            raise self.error(node, f"{what} {text!r} is not a valid CIDR: {exc}{hint}") from None

    def address(self, node: yaml.Node, what: str) -> IPAddress:
        text = self.str_(node, what)
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            raise self.error(node, f"{what} {text!r} is not a valid IP address") from None


def _scalar_value(node: yaml.ScalarNode) -> object:
    """What YAML's own resolver makes of a scalar's text (``None`` when it cannot read it):
    a tag forced onto the text (``!!int TEST``) does not make it that type."""
    try:
        return yaml.safe_load(node.value)
    except yaml.YAMLError:
        return None
