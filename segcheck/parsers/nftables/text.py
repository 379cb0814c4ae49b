"""``nft list ruleset`` text (and ``nft -f`` files in the same block syntax) -> IR tables.

Lexing: words, quoted strings, ``{ } ; ,`` and newlines (a rule ends at a newline or ``;``
outside braces; ``\\`` continues a line; ``#`` starts a comment). ``define NAME = value``
variables are substituted (``$NAME``). Concatenation dots and map colons are expected with
spaces around them, as ``nft list ruleset`` prints them.

Statements understood in a rule (anything else drops the rule with a diagnostic): matches on
the selectors of ``ir.KNOWN_KEYS``; ``counter``, ``log``, ``comment``, ``meta/ct ... set``,
``add/update @set`` (no effect on verdicts); ``notrack`` (flagged); ``limit``/``quota``
(unsupported: they decide by rate); verdicts ``accept drop reject return jump goto continue
queue``; ``vmap``; ``dnat snat masquerade redirect`` (recorded as NAT).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers.nftables.ir import (
    HOOKS,
    PRIORITIES,
    Cond,
    Elem,
    NChain,
    NRule,
    NSet,
    NTable,
    Value,
    Verdict,
)

Report = Callable[[Diagnostic], None]


@dataclass(frozen=True, slots=True)
class Tok:
    text: str
    line: int
    quoted: bool = False


_PUNCT = "{};,"
_OPS = {"==": "==", "eq": "==", "!=": "!=", "ne": "!=", "<": "<", "lt": "<", ">": ">",
        "gt": ">", "<=": "<=", "le": "<=", ">=": ">=", "ge": ">="}
_TWO_WORD = {"ip", "ip6", "tcp", "udp", "sctp", "dccp", "udplite", "th", "icmp", "icmpv6",
             "meta", "ct"}
_SINGLE = {"iifname", "oifname", "iif", "oif", "l4proto", "nfproto", "mark"}
_CHAIN_KEYS = {"type", "hook", "device", "priority", "policy"}
_NOOP_STMT = {"counter", "log", "comment", "notrack", "limit", "quota", "meta", "ct", "add",
              "update", "dnat", "snat", "masquerade", "redirect", "set", "mark", "nftrace",
              "tproxy", "synproxy", "fwd", "dup", "secmark"}


def lex(text: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            toks.append(Tok("\n", line))
            line += 1
            i += 1
        elif c == "\\" and i + 1 < n and text[i + 1] == "\n":
            line += 1
            i += 2
        elif c in " \t\r":
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 1
            toks.append(Tok(text[i + 1 : j], line, quoted=True))
            i = j + 1
        elif c in _PUNCT:
            toks.append(Tok(c, line))
            i += 1
        else:
            j = i
            while j < n and text[j] not in " \t\r\n\"#" + _PUNCT:
                j += 1
            toks.append(Tok(text[i:j], line))
            i = j
    return toks


def split_statements(toks: list[Tok]) -> list[list[Tok]]:
    """Statements separated by newlines or ``;`` outside braces (braced parts, which may
    span lines, stay inside their statement with their newline tokens)."""
    out: list[list[Tok]] = []
    cur: list[Tok] = []
    depth = 0
    for t in toks:
        if not t.quoted and t.text == "{":
            depth += 1
        elif not t.quoted and t.text == "}":
            depth -= 1
        if depth <= 0 and not t.quoted and t.text in ("\n", ";"):
            depth = max(depth, 0)
            if cur:
                out.append(cur)
            cur = []
            continue
        cur.append(t)
    if cur:
        out.append(cur)
    return out


def _flat(toks: list[Tok]) -> list[Tok]:
    return [t for t in toks if t.quoted or t.text != "\n"]


class TextReader:
    """Parses the block structure; rules are handed to ``parse_rule``."""

    def __init__(self, text: str, path: str, report: Report) -> None:
        self.path, self.report = path, report
        self.lines = text.splitlines()
        self.toks = lex(text)
        self.defines: dict[str, list[Tok]] = {}
        self.tables: list[NTable] = []

    def span(self, line: int) -> SourceSpan:
        text = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else None
        return SourceSpan(self.path, line, text)

    def diag(self, level: Level, msg: str, line: int, code: str) -> None:
        self.report(Diagnostic(level, msg, self.span(line), code))

    def _substitute(self, toks: list[Tok]) -> list[Tok]:
        out: list[Tok] = []
        for t in toks:
            if t.text.startswith("$") and not t.quoted:
                name = t.text[1:]
                if name in self.defines:
                    out.extend(Tok(d.text, t.line, d.quoted) for d in self.defines[name])
                    continue
                self.diag(Level.ERROR, f"undefined variable ${name}", t.line, "nftables.define")
            out.append(t)
        return out

    def read(self) -> list[NTable]:
        depth = 0
        for t in self.toks:
            if not t.quoted and t.text in "{}":
                depth += 1 if t.text == "{" else -1
        if depth != 0:
            last = self.toks[-1].line if self.toks else 1
            self.diag(Level.ERROR, "unbalanced braces", last, "nftables.syntax")
        for st in split_statements(self.toks):
            self._top(st)
        return self.tables

    def _top(self, st: list[Tok]) -> None:
        words = [t.text for t in st]
        head = words[0]
        if head == "define" and len(st) >= 4 and words[2] == "=":
            self.defines[words[1]] = self._substitute(_flat(st[3:]))
        elif head == "table":
            self._table(st)
        elif head in ("flush", "delete", "destroy") and len(st) > 1 and words[1] in (
                "ruleset", "table"):
            if words[1] == "ruleset":
                self.tables.clear()
            else:
                self.diag(Level.INFO, "'delete/flush table' ignored (the listing is read as "
                          "the complete ruleset)", st[0].line, "nftables.command")
        elif head == "include":
            self.diag(Level.UNSUPPORTED, "include is not followed; the included rules are "
                      "missing", st[0].line, "nftables.include")
        elif head in ("add", "create", "insert") and len(st) > 2:
            self._command(st)
        elif head == "}":
            self.diag(Level.ERROR, "unbalanced '}'", st[0].line, "nftables.syntax")
        else:
            self.diag(Level.UNSUPPORTED, f"top-level statement {head!r} not understood",
                      st[0].line, "nftables.syntax")

    def _table(self, st: list[Tok]) -> None:
        words = [t.text for t in st]
        if "{" not in words:
            self.diag(Level.ERROR, "table without a body", st[0].line, "nftables.syntax")
            return
        head = words[1 : words.index("{")]
        family, name = (head[0], head[1]) if len(head) >= 2 else ("ip", head[0] if head else "")
        table = self._get_table(family, name, st[0].line)
        for sub in split_statements(_inner(st)):
            self._table_item(table, sub)

    def _get_table(self, family: str, name: str, line: int) -> NTable:
        for t in self.tables:
            if (t.family, t.name) == (family, name):
                return t
        t = NTable(family, name, self.span(line))
        self.tables.append(t)
        return t

    def _table_item(self, table: NTable, st: list[Tok]) -> None:
        kind = st[0].text
        if kind == "chain" and len(st) >= 2:
            chain = table.chains.setdefault(st[1].text, NChain(st[1].text, self.span(st[0].line)))
            self._chain_body(chain, _inner(st))
        elif kind in ("set", "map") and len(st) >= 2:
            table.sets[st[1].text] = self._set(st[1].text, _inner(st), st[0].line, kind)
        elif kind in ("flags", "comment"):
            return
        else:
            self.diag(Level.INFO, f"table object {kind!r} ignored (does not filter)",
                      st[0].line, "nftables.object")

    def _chain_body(self, chain: NChain, toks: list[Tok]) -> None:
        for st in split_statements(toks):
            words = [t.text for t in st]
            if words[0] == "type" and "hook" in words:
                self._base_chain(chain, words, st[0].line)
            elif words[0] == "policy" and len(words) >= 2:
                if words[1] in ("accept", "drop"):
                    chain.policy = words[1]
                    chain.policy_span = self.span(st[0].line)
                else:
                    self.diag(Level.ERROR, f"chain {chain.name!r}: policy must be accept or "
                              f"drop, not {words[1]!r}; ignored", st[0].line, "nftables.syntax")
            elif words[0] in ("comment", "devices"):
                continue
            else:
                chain.rules.append(parse_rule(self._substitute(_flat(st)),
                                              self.span(st[0].line)))

    def _base_chain(self, chain: NChain, words: list[str], line: int) -> None:
        """``type T hook H [device D] [priority P]``. nft refuses a declaration whose keyword
        lacks its value; here the chain stays what the rest makes it (no hook: a regular
        chain, whose policy does not apply) with an ERROR, so the result is incomplete."""

        def value(key: str) -> str | None:
            if key not in words:
                return None
            k = words.index(key) + 1
            if k < len(words) and words[k] not in _CHAIN_KEYS:
                return words[k]
            self.diag(Level.ERROR, f"chain {chain.name!r}: '{key}' without a value; "
                      + ("read as a regular chain" if key in ("type", "hook") else "ignored"),
                      line, "nftables.syntax")
            return None

        ctype, hook = value("type"), value("hook")
        if ctype is None or hook is None:
            return
        if hook not in HOOKS:
            self.diag(Level.ERROR, f"chain {chain.name!r}: unknown hook {hook!r}; read as a "
                      "regular chain", line, "nftables.syntax")
            return
        chain.type, chain.hook = ctype, hook
        chain.device = value("device") or chain.device
        if "priority" in words:
            prio = _priority(words[words.index("priority") + 1 :])
            if prio is None:
                self.diag(Level.ERROR, f"chain {chain.name!r}: priority not understood; "
                          "taken as 0, so its order among the base chains may be wrong",
                          line, "nftables.syntax")
            chain.priority = prio or 0

    def _set(self, name: str, toks: list[Tok], line: int, kind: str) -> NSet:
        s = NSet(name, span=self.span(line), verdicts=[] if kind == "map" else None)
        for st in split_statements(toks):
            st = self._substitute(_flat(st))
            words = [t.text for t in st]
            if words[0] == "elements" and "{" in words:
                elems = _inner(st[words.index("{") :], strip_head=False)
                if kind == "map":
                    s.verdicts = []
                    for key, val in _map_items(elems):
                        s.elems.append(key)
                        s.verdicts.append(_verdict(val) or Verdict("unsupported", detail=" ".join(
                            t.text for t in val)))
                else:
                    s.elems.extend(_elements(elems))
        return s

    def _command(self, st: list[Tok]) -> None:
        st = self._substitute(_flat(st))
        words = [t.text for t in st]
        what = words[1]
        k = 2
        family = "ip"
        if len(words) > k and words[k] in ("ip", "ip6", "inet", "arp", "bridge", "netdev"):
            family, k = words[k], k + 1
        if len(words) <= k:
            self.diag(Level.ERROR, f"'{words[0]} {what}' needs a table", st[0].line,
                      "nftables.syntax")
            return
        table = self._get_table(family, words[k], st[0].line)
        rest = st[k + 1 :]
        if what == "table":
            return
        if what == "chain" and rest:
            chain = table.chains.setdefault(rest[0].text, NChain(rest[0].text,
                                                                  self.span(st[0].line)))
            if len(rest) > 1:
                self._chain_body(chain, _inner(rest))
        elif what == "rule" and rest:
            chain = table.chains.setdefault(rest[0].text, NChain(rest[0].text,
                                                                  self.span(st[0].line)))
            body = rest[1:]
            if body and body[0].text in ("position", "handle", "index"):
                body = body[2:]
            rule = parse_rule(body, self.span(st[0].line))
            if words[0] == "insert":
                chain.rules.insert(0, rule)
            else:
                chain.rules.append(rule)
        elif what in ("set", "map") and rest:
            table.sets[rest[0].text] = self._set(rest[0].text, _inner(rest), st[0].line, what)
        elif what == "element" and len(rest) > 1:
            s = table.sets.setdefault(rest[0].text, NSet(rest[0].text))
            s.elems.extend(_elements(_inner(rest[1:], strip_head=False)))
        else:
            self.diag(Level.UNSUPPORTED, f"command '{words[0]} {what}' not supported",
                      st[0].line, "nftables.command")


def _priority(words: list[str]) -> int | None:
    """A chain priority (number, or standard name with an optional ``+``/``-`` offset);
    None when it is neither."""
    expr = " ".join(words).split(";")[0].strip()
    m = re.fullmatch(r"(-?\w+)\s*(?:([+-])\s*(\d+))?", expr)
    if not m:
        return None
    base = PRIORITIES.get(m.group(1))
    if base is None and not re.fullmatch(r"-?\d+", m.group(1)):
        return None
    n = int(m.group(1)) if base is None else base
    if m.group(2):
        n += int(m.group(3)) * (1 if m.group(2) == "+" else -1)
    return n


def _inner(st: list[Tok], strip_head: bool = True) -> list[Tok]:
    """The tokens inside the first ``{ ... }`` of ``st``."""
    words = [t.text if not t.quoted else "" for t in st]
    if "{" not in words:
        return []
    start = words.index("{") + 1
    depth, end = 1, len(st)
    for k in range(start, len(st)):
        if st[k].quoted:
            continue
        if st[k].text == "{":
            depth += 1
        elif st[k].text == "}":
            depth -= 1
            if depth == 0:
                end = k
                break
    return st[start:end]


def _values(toks: list[Tok]) -> Value:
    text = "".join(t.text for t in toks)
    if len(toks) == 1 and not toks[0].quoted and "-" in text and not re.search(r"[:]", text) \
            and re.fullmatch(r"[\w.]+-[\w.]+", text) and not text.startswith("-"):
        lo, hi = text.split("-", 1)
        if not re.fullmatch(r"[a-z][\w-]*", text):  # not a name like echo-request
            return Value("range", lo, hi)
    if len(toks) == 1 and not toks[0].quoted and re.fullmatch(r"[0-9a-fA-F:.]+-[0-9a-fA-F:.]+",
                                                               text) and ":" in text:
        lo, hi = text.split("-", 1)
        return Value("range", lo, hi)
    return Value("lit", text)


def _elements(toks: list[Tok]) -> list[Elem]:
    """``a, b . c, d-e`` -> elements (concatenations split at standalone ``.``)."""
    out: list[Elem] = []
    for item in _commas(toks):
        parts: list[list[Tok]] = [[]]
        for t in item:
            if t.text == "." and not t.quoted:
                parts.append([])
            elif t.text in ("timeout", "expires", "counter", "comment"):
                break
            else:
                parts[-1].append(t)
        if any(parts):
            out.append(tuple(_values(p) for p in parts if p))
    return out


def _commas(toks: list[Tok]) -> list[list[Tok]]:
    out: list[list[Tok]] = [[]]
    depth = 0
    for t in toks:
        if not t.quoted and t.text == "{":
            depth += 1
        elif not t.quoted and t.text == "}":
            depth -= 1
        if depth == 0 and not t.quoted and t.text == ",":
            out.append([])
        elif t.text != "\n":
            out[-1].append(t)
    return [o for o in out if o]


def _map_items(toks: list[Tok]) -> list[tuple[Elem, list[Tok]]]:
    out: list[tuple[Elem, list[Tok]]] = []
    for item in _commas(toks):
        words = [t.text for t in item]
        if ":" not in words:
            continue
        k = words.index(":")
        key = _elements(item[:k])
        if key:
            out.append((key[0], item[k + 1 :]))
    return out


def _verdict(toks: list[Tok]) -> Verdict | None:
    words = [t.text for t in toks]
    if not words:
        return None
    w = words[0]
    if w in ("accept", "drop", "return", "continue"):
        return Verdict(w)
    if w in ("jump", "goto") and len(words) > 1:
        return Verdict(w, words[1])
    if w == "reject":
        return Verdict("reject", detail=" ".join(words))
    if w == "queue":
        return Verdict("queue", detail=" ".join(words))
    return None


def parse_rule(toks: list[Tok], span: SourceSpan) -> NRule:
    """One rule's tokens -> ``NRule`` (never raises: problems go to ``NRule.problem``)."""
    rule = NRule(span)
    try:
        _parse_rule(toks, rule)
    except (ValueError, IndexError) as exc:
        rule.problem = rule.problem or f"cannot read rule: {exc}"
        if rule.verdict is None and rule.vmap is None:  # could it decide? (for the diagnostic)
            words = [t.text for t in toks if not t.quoted]
            hits = [k for k, w in enumerate(words) if w in _VERDICT_WORDS or w == "vmap"]
            if hits:
                rule.verdict = _verdict(toks[hits[-1]:]) or Verdict("accept")
    return rule


def _parse_rule(toks: list[Tok], rule: NRule) -> None:
    i, n = 0, len(toks)
    while i < n:
        t = toks[i]
        w = t.text
        if t.quoted:
            raise ValueError(f"unexpected string {w!r}")
        v = _verdict(toks[i:])
        if v is not None:
            rule.verdict = v
            i = n if v.kind in ("reject", "queue") else i + (2 if v.kind in ("jump", "goto")
                                                           else 1)
            continue
        if w == "comment" and i + 1 < n:
            rule.comment = toks[i + 1].text
            i += 2
            continue
        if w in ("counter", "log", "limit", "quota", "notrack", "add", "update", "dnat", "snat",
                 "masquerade", "redirect", "fwd", "dup", "tproxy", "synproxy"):
            i = _statement(toks, i, rule)
            continue
        keys, i = _selector_chain(toks, i)
        if keys == ("tcp flags",):
            i = _tcp_flags(toks, i, rule)
            continue
        if i < n and toks[i].text == "set":  # meta mark set ..., ct mark set ...
            i += 1
            while i < n and (toks[i].quoted or toks[i].text not in _VERDICT_WORDS | {
                    "counter", "log", "comment"}):
                i = _skip_value(toks, i) if toks[i].text == "{" else i + 1
            continue
        if i < n and toks[i].text == "vmap":
            i += 1
            if toks[i].text.startswith("@"):
                rule.vmap = (keys, toks[i].text[1:])
                i += 1
            else:
                inner = _inner(toks[i:], strip_head=False)
                items = []
                for key, val in _map_items(inner):
                    vd = _verdict(val)
                    if vd is None:
                        raise ValueError("verdict map value is not a verdict")
                    items.append((key, vd))
                rule.vmap = (keys, items)
                i = _skip_value(toks, i)
            continue
        op = "=="
        if i < n and toks[i].text in _OPS:
            op = _OPS[toks[i].text]
            i += 1
        if i >= n:
            raise ValueError(f"{' '.join(keys)} needs a value")
        if toks[i].text.startswith("@"):
            rule.conds.append(Cond(keys, op, setref=toks[i].text[1:]))
            i += 1
            continue
        j = _skip_value(toks, i)
        value = toks[i:j]
        flaglist = False
        if value and value[0].text == "{":
            elems = tuple(_elements(_inner(value, strip_head=False)))
        else:
            elems = tuple(_elements(value))
            flaglist = len(elems) > 1 or any("|" in e[0].a for e in elems)
        rule.conds.append(Cond(keys, op, elems, flaglist=flaglist))
        i = j


_SELECTOR_FIELDS = {"saddr", "daddr", "protocol", "nexthdr", "sport", "dport", "type", "code",
                    "l4proto", "nfproto", "iifname", "oifname", "iif", "oif", "state", "mark",
                    "flags", "status", "length", "ttl", "hoplimit", "dscp", "id", "version",
                    "hdrlength", "direction", "helper", "skuid", "skgid", "pkttype", "priority"}


def _selector_chain(toks: list[Tok], i: int) -> tuple[tuple[str, ...], int]:
    """``ip saddr . tcp dport`` -> (("ip saddr", "tcp dport"), next index)."""
    keys: list[str] = []
    while True:
        w = toks[i].text
        if w in _SINGLE:
            keys.append(w)
            i += 1
        elif w in _TWO_WORD and i + 1 < len(toks):
            keys.append(f"{w} {toks[i + 1].text}")
            i += 2
        else:
            raise ValueError(f"unknown expression {w!r}")
        if i < len(toks) and toks[i].text == "." and not toks[i].quoted:
            i += 1
            continue
        return tuple(keys), i


def _tcp_flags(toks: list[Tok], i: int, rule: NRule) -> int:
    """``tcp flags & (fin|syn|rst|ack) [op] syn`` or ``tcp flags [op] syn / fin,syn,rst,ack``."""
    n = len(toks)
    mask: list[str] = []
    if i + 1 < n and toks[i].text == "&":
        mask = toks[i + 1].text.strip("()").split("|")
        i += 2
    op = "=="
    if i < n and toks[i].text in _OPS:
        op = _OPS[toks[i].text]
        i += 1
    if i >= n:
        raise ValueError("tcp flags needs a value")
    j = _skip_value(toks, i)
    value = toks[i:j]
    i = j
    if i + 1 < n and toks[i].text == "/":
        mask = [toks[i + 1].text]
        i += 2
        while i + 1 < n and toks[i].text == ",":  # the lexer splits "syn,ack" at commas
            mask.append(toks[i + 1].text)
            i += 2
    elems = (tuple(_elements(_inner(value, strip_head=False))) if value[0].text == "{"
             else ((Value("lit", "".join(t.text for t in value)),),))
    rule.conds.append(Cond(("tcp flags",), op, elems, mask=tuple(mask) or None))
    return i


def _skip_value(toks: list[Tok], i: int) -> int:
    """Index after one value: a braced set, or a word (with ``.``-joined parts and ``,``
    flag lists like ``established,related``)."""
    n = len(toks)
    if i < n and toks[i].text == "{" and not toks[i].quoted:
        depth = 0
        while i < n:
            if not toks[i].quoted and toks[i].text == "{":
                depth += 1
            elif not toks[i].quoted and toks[i].text == "}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise ValueError("unbalanced '{'")
    i += 1
    while i + 1 < n and not toks[i].quoted and toks[i].text in (".", ",", "|"):
        i += 2
    return i


_VERDICT_WORDS = {"accept", "drop", "reject", "return", "jump", "goto", "continue", "queue"}


def _statement(toks: list[Tok], i: int, rule: NRule) -> int:
    """Skip a non-match statement and its arguments; note what matters."""
    w = toks[i].text
    n = len(toks)
    if w in ("limit", "quota"):
        rule.problem = rule.problem or f"'{w}' decides by rate/volume, not by packet fields"
    elif w == "notrack":
        rule.notrack = True
    elif w in ("dnat", "snat", "masquerade", "redirect"):
        rule.nat = w
        return n
    elif w in ("fwd", "dup", "tproxy", "synproxy"):
        rule.problem = rule.problem or f"statement '{w}' is not supported"
    i += 1
    if w in ("add", "update"):
        i += 1
        if i < n and toks[i].text == "{" and not toks[i].quoted:
            i = _skip_value(toks, i)
        return i
    stops = _VERDICT_WORDS | _TWO_WORD | _SINGLE | {
        "counter", "log", "limit", "quota", "comment", "notrack"}
    while i < n and (toks[i].quoted or toks[i].text not in stops):
        if toks[i].text == "{" and not toks[i].quoted:
            i = _skip_value(toks, i)
            continue
        i += 1
    return i
