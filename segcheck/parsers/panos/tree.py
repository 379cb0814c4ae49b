"""The three PAN-OS export formats, read into one keyed tree (``PNode``).

PAN-OS stores its configuration as XML; ``show config running`` / the exported
running-config.xml give it as XML, ``set cli config-output-format set`` as ``set`` lines and
``format: brace`` (RANCID and older exports) as a brace hierarchy. All three describe the same
tree, so each is lowered to ``PNode``s keyed like XPath steps:

- an XML ``<entry name="x">`` becomes a child keyed ``x``; ``<member>v</member>`` a child
  keyed ``v``; ``<tag>text</tag>`` a child ``tag`` with one child keyed ``text``;
- a ``set a b c [ x y ]`` line the path ``a/b/c`` with children ``x`` and ``y``;
- a brace block ``a { b c; d [ x y ]; }`` likewise.

Leaf values are therefore child keys (``node.value()``, ``node.values()``). Every node keeps
the 1-based line where it first appeared. ``set`` lines are rooted the way the device CLI
roots them: ``shared ...`` under ``config/shared``, ``vsys NAME ...`` under that vsys,
device-wide stanzas (``network``, ``deviceconfig``, ``device-group``, ...) under the device,
and everything else under ``vsys1`` (the single-vsys CLI shorthand).
"""

from __future__ import annotations

from segcheck.errors import ConfigParseError
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers.xmltree import parse_events

DEVICE = "localhost.localdomain"
VSYS_LEVEL = frozenset({
    "address", "address-group", "service", "service-group", "application",
    "application-group", "application-filter", "zone", "rulebase", "schedule", "tag",
    "external-list", "profiles", "profile-group", "log-settings", "import", "region",
    "dynamic-user-group", "setting", "display-name", "user-id-collector", "threats",
    "application-tag", "application-status", "global-protect", "captive-portal",
    "authentication-profile", "certificate", "certificate-profile", "ssl-tls-service-profile",
    "server-profile", "reports", "report-group", "pdf-summary-report", "email-scheduler",
    "response-page", "url-admin-override", "group-mapping", "ocsp-responder", "local-user-database",
    "ssl-decrypt", "ts-agent", "vm-info-source", "redistribution-agent", "device-group",
    "address-prefix", "admin-role", "authentication-sequence", "ca", "ike", "dns-proxy",
})
"""Stanzas the single-vsys ``set`` CLI roots under ``vsys1``; any other first word is not
PAN-OS and is reported line by line."""
DEVICE_LEVEL = frozenset({
    "network", "deviceconfig", "mgt-config", "device-group", "template", "template-stack",
    "platform", "log-collector", "log-collector-group", "plugins", "vsys",
})


class PNode:
    """One node of the keyed tree: its key, first line, children by key (in order)."""

    __slots__ = ("children", "key", "line")

    def __init__(self, key: str, line: int) -> None:
        self.key = key
        self.line = line
        self.children: dict[str, PNode] = {}

    def __repr__(self) -> str:
        return f"PNode({self.key!r}, {self.line}, {len(self.children)} children)"

    def child(self, *path: str) -> PNode | None:
        node: PNode | None = self
        for key in path:
            if node is None:
                return None
            node = node.children.get(key)
        return node

    def add(self, key: str, line: int) -> PNode:
        node = self.children.get(key)
        if node is None:
            node = self.children[key] = PNode(key, line)
        return node

    def values(self) -> list[str]:
        return list(self.children)

    def value(self, default: str = "") -> str:
        return next(iter(self.children), default)

    def entries(self, *path: str) -> list[PNode]:
        node = self.child(*path)
        return list(node.children.values()) if node is not None else []


def from_xml(text: str, path: str) -> PNode:
    """Stream the XML straight into ``PNode``s (large exports: no intermediate tree)."""
    out = PNode("", 1)
    stack: list[tuple[PNode | None, bool]] = [(out, False)]
    """(node or None for a <member>, whether it got element children)."""
    member_lines: list[int] = []

    def start(tag: str, attrs: dict[str, str], line: int) -> None:
        parent, _ = stack[-1]
        stack[-1] = (parent, True)
        if tag == "member":
            member_lines.append(line)
            stack.append((None, False))
            return
        key = attrs["name"] if tag == "entry" and "name" in attrs else tag
        node = parent.add(key, line) if parent is not None else PNode(key, line)
        stack.append((node, False))

    def end(tag: str, body: str) -> None:
        node, has_children = stack.pop()
        if node is None:
            parent = stack[-1][0]
            if parent is not None:
                parent.add(body, member_lines.pop())
        elif body and not has_children:
            node.add(body, node.line)

    parse_events(text, path, start, end)
    if not out.children:
        raise ConfigParseError("empty XML document", SourceSpan(path, 1))
    return out


def tokenize(line: str) -> list[str]:
    """Whitespace-separated words; quoted strings are one word; ``[ ] { } ;`` stand alone."""
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch.isspace():
            i += 1
        elif ch in "[]{};":
            out.append(ch)
            i += 1
        elif ch in "\"'":
            j = line.find(ch, i + 1)
            j = n if j < 0 else j
            out.append(line[i + 1:j])
            i = j + 1
        else:
            j = i
            while j < n and not line[j].isspace() and line[j] not in "[]{};\"'":
                j += 1
            out.append(line[i:j])
            i = j
    return out


def from_set(text: str, path: str, diagnostics: list[Diagnostic]) -> PNode:
    out = PNode("", 1)
    config = out.add("config", 1)
    known = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        words = tokenize(line)
        if words[0] != "set":
            if words[0] not in ("exit", "quit", "configure"):
                diagnostics.append(Diagnostic(
                    Level.UNSUPPORTED, f"unsupported command {words[0]!r} in set format",
                    SourceSpan(path, lineno, line), "panos.unsupported-command"))
            continue
        words = words[1:]
        if not words:
            continue
        if words[0] == "config":
            node = config
            words = words[1:]
        elif words[0] == "policy":
            node = out
        elif words[0] == "shared":
            node = config.add("shared", lineno)
            words = words[1:]
        elif words[0] in DEVICE_LEVEL:
            node = config.add("devices", lineno).add(DEVICE, lineno)
        elif words[0] in VSYS_LEVEL:
            node = config.add("devices", lineno).add(DEVICE, lineno).add(
                "vsys", lineno).add("vsys1", lineno)
        else:
            diagnostics.append(Diagnostic(
                Level.UNSUPPORTED, f"unknown PAN-OS configuration stanza {words[0]!r}",
                SourceSpan(path, lineno, line), "panos.unknown-stanza"))
            continue
        known += 1
        in_list = False
        for w in words:
            if w == "[":
                in_list = True
            elif w == "]":
                in_list = False
            elif in_list:
                node.add(w, lineno)
            else:
                node = node.add(w, lineno)
    if not known:
        raise ConfigParseError("no PAN-OS 'set' configuration lines found: not a PAN-OS export",
                               SourceSpan(path, 1))
    return out


def from_brace(text: str, path: str) -> PNode:
    out = PNode("", 1)
    stack = [out]
    pending: list[tuple[str, int]] = []
    in_list: PNode | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        for w in tokenize(line):
            if in_list is not None:
                if w == "]":
                    in_list = None
                else:
                    in_list.add(w, lineno)
                continue
            if w == "{":
                node = _attach(stack[-1], pending)
                stack.append(node)
                pending = []
            elif w == "}":
                if len(stack) == 1:
                    raise ConfigParseError("unbalanced '}'", SourceSpan(path, lineno, line))
                _attach(stack[-1], pending)
                pending = []
                stack.pop()
            elif w == ";":
                _attach(stack[-1], pending)
                pending = []
            elif w == "[":
                in_list = _attach(stack[-1], pending)
                pending = []
            else:
                pending.append((w, lineno))
    if len(stack) != 1:
        raise ConfigParseError("unclosed '{' at end of file", SourceSpan(path, len(
            text.splitlines()) or 1))
    unknown = [k for k in out.children if k not in ("config", "policy")]
    if not (set(out.children) & {"config", "policy"}):
        raise ConfigParseError("no 'config { ... }' block: not a PAN-OS export",
                               SourceSpan(path, 1))
    for k in unknown:
        raise ConfigParseError(f"unexpected top-level block {k!r} in a PAN-OS brace export",
                               SourceSpan(path, out.children[k].line))
    return out


def _attach(parent: PNode, words: list[tuple[str, int]]) -> PNode:
    node = parent
    for w, line in words:
        node = node.add(w, line)
    return node


def read(text: str, path: str, diagnostics: list[Diagnostic]) -> tuple[PNode, PNode | None, str]:
    """The ``config`` node of any of the three formats, the Panorama-pushed ``policy
    panorama`` node when present (pushed objects and pre/post rulebases), and the format."""
    stripped = text.lstrip()
    if stripped.startswith("<"):
        root, fmt = from_xml(text, path), "xml"
        # <response><result><config> from the XML API, or a bare <config>
        for prefix in (("config",), ("response", "result", "config"), ("result", "config")):
            node = root.child(*prefix)
            if node is not None:
                return node, None, fmt
        raise ConfigParseError("no <config> element: not a PAN-OS configuration",
                               SourceSpan(path, 1))
    if any(ln.strip().startswith("set ") for ln in text.splitlines()[:200]):
        root, fmt = from_set(text, path, diagnostics), "set"
    else:
        root, fmt = from_brace(text, path), "brace"
    node = root.child("config")
    if node is None:
        node = root.add("config", 1)
    return node, root.child("policy", "panorama"), fmt
