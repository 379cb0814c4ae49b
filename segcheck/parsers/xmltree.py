"""A minimal XML element tree that remembers each element's source line (PAN-OS, pf).

``xml.etree`` drops positions; lxml would add a compiled dependency for one attribute. We
drive ``xml.parsers.expat`` directly and record ``CurrentLineNumber`` at each start tag.
Malformed XML raises ``ConfigParseError`` with the line and column expat reports. DTDs and
entity declarations are refused (no entity expansion attacks from untrusted exports).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from xml.parsers import expat

from segcheck.errors import ConfigParseError
from segcheck.model.source import SourceSpan


@dataclass(slots=True)
class XNode:
    """One element: tag, attributes, stripped text, children in order, 1-based line."""

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[XNode] = field(default_factory=list)
    text: str = ""

    def find(self, *path: str) -> XNode | None:
        """The first descendant along ``path`` (tags), or None."""
        node: XNode | None = self
        for tag in path:
            if node is None:
                return None
            node = next((c for c in node.children if c.tag == tag), None)
        return node

    def findall(self, tag: str) -> list[XNode]:
        return [c for c in self.children if c.tag == tag]

    def text_of(self, *path: str, default: str = "") -> str:
        node = self.find(*path)
        return node.text if node is not None else default

    def has(self, tag: str) -> bool:
        return any(c.tag == tag for c in self.children)

    def iter(self) -> Iterator[XNode]:
        yield self
        for c in self.children:
            yield from c.iter()


def parse_events(
    text: str,
    path: str,
    start: Callable[[str, dict[str, str], int], None],
    end: Callable[[str, str], None],
) -> None:
    """Stream ``text``: ``start(tag, attrs, line)`` at each start tag, ``end(tag, text)``
    at each end tag with the element's own stripped text. ConfigParseError when malformed."""
    parser = expat.ParserCreate()
    texts: list[list[str]] = []

    def on_start(tag: str, attrs: dict[str, str]) -> None:
        texts.append([])
        start(tag, attrs, parser.CurrentLineNumber)

    def on_end(tag: str) -> None:
        end(tag, "".join(texts.pop()).strip())

    def on_chars(data: str) -> None:
        if texts:
            texts[-1].append(data)

    def refuse_dtd(*_args: object) -> None:
        raise ConfigParseError("DTD/entity declarations are not accepted",
                               SourceSpan(path, parser.CurrentLineNumber))

    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    parser.CharacterDataHandler = on_chars
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    try:
        parser.Parse(text.encode("utf-8"), True)
    except expat.ExpatError as exc:
        raise ConfigParseError(
            f"malformed XML: {expat.errors.messages[exc.code]}",
            SourceSpan(path, exc.lineno, col=exc.offset + 1),
        ) from exc


def parse_xml(text: str, path: str) -> XNode:
    """Parse ``text``; the root element with every node's line (ConfigParseError if bad)."""
    root: list[XNode] = []
    stack: list[XNode] = []

    def start(tag: str, attrs: dict[str, str], line: int) -> None:
        node = XNode(tag, dict(attrs), line)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(tag: str, text: str) -> None:
        stack.pop().text = text

    parse_events(text, path, start, end)
    if not root:
        raise ConfigParseError("empty XML document", SourceSpan(path, 1))
    return root[0]


def line_text(lines: list[str], line: int) -> str:
    """The stripped source line (1-based), for ``SourceSpan.text``."""
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""
