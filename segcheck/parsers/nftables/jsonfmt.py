"""``nft -j list ruleset`` JSON -> IR tables (same IR as the text reader).

Shapes are checked at this boundary, with the typed accessors below (``_obj``, ``_str``,
``_list``...): a value of the wrong JSON type where nft's schema has a fixed one (a list as a
chain's ``hook``, ``"expr": null``, ``{"jump": {}}`` without ``target``) is *malformed* — no
nft prints it — and raises ``ConfigParseError`` at the top-level object that holds it. A
well-formed expression segcheck does not model (``fib``, raw payloads, an unknown statement)
is *unsupported*: the rule gets a ``problem`` and the builder reports it as a diagnostic.
No other exception leaves ``read_json``.

Spans: JSON objects carry no line numbers, so the offset of each element of the top-level
``nftables`` list is found by walking the text with ``json.JSONDecoder.raw_decode``; its line
and column are recorded (``nft -j`` prints everything on one line, so the column is what
tells rules apart). Errors inside an object cite that object's line and column.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from segcheck.errors import ConfigParseError
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers.nftables.ir import (
    HOOKS,
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

_OPS = {"==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">=", "in": "=="}
_WS = " \t\n\r"


class Malformed(Exception):
    """A JSON value whose type or shape nft's schema does not allow (not a ValueError, so
    the "unsupported expression" handlers never swallow it)."""


# -- typed accessors --------------------------------------------------------------------------


def _obj(v: Any, what: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise Malformed(f"{what} must be an object, not {_kind(v)}")
    return v


def _list(v: Any, what: str) -> list[Any]:
    if not isinstance(v, list):
        raise Malformed(f"{what} must be a list, not {_kind(v)}")
    return v


def _str(o: dict[str, Any], key: str, default: str | None = None) -> str:
    """``o[key]`` as a string; ``default`` when absent (required when ``default`` is None)."""
    if key not in o:
        if default is None:
            raise Malformed(f"{key!r} is missing")
        return default
    v = o[key]
    if not isinstance(v, str):
        raise Malformed(f"{key!r} must be a string, not {_kind(v)}")
    return v


def _int(o: dict[str, Any], key: str, default: int | None = None) -> int:
    """``o[key]`` as an integer (not a boolean); required when ``default`` is None."""
    if key not in o and default is None:
        raise Malformed(f"{key!r} is missing")
    v = o.get(key, default)
    if type(v) is not int:
        raise Malformed(f"{key!r} must be an integer, not {_kind(v)}")
    return v


def _single(v: Any, what: str) -> tuple[str, Any]:
    """The one ``{"kind": arg}`` pair of an nft JSON object."""
    o = _obj(v, what)
    if len(o) != 1:
        raise Malformed(f"{what} must have exactly one key, not {len(o)}")
    return next(iter(o.items()))


def _pair(v: Any, what: str) -> tuple[Any, Any]:
    items = _list(v, what)
    if len(items) != 2:
        raise Malformed(f"{what} must be a list of two, not {len(items)}")
    return items[0], items[1]


def _scalar(v: Any, what: str) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        raise Malformed(f"{what} must be a string or a number, not {_kind(v)}")
    return str(v)


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(v), type(v).__name__)


# -- positions --------------------------------------------------------------------------------


def _item_offsets(text: str) -> list[int]:
    """Offsets of the elements of the top-level ``"nftables"`` list (the last such key wins,
    as in ``json.loads``). The text is known to be valid JSON."""
    dec = json.JSONDecoder()

    def ws(i: int) -> int:
        while i < len(text) and text[i] in _WS:
            i += 1
        return i

    found: list[int] = []
    i = ws(0)
    if text[i : i + 1] != "{":
        return found
    i = ws(i + 1)
    while i < len(text) and text[i] != "}":
        key, i = dec.raw_decode(text, i)
        i = ws(ws(i) + 1)  # past ':'
        if key == "nftables" and text[i : i + 1] == "[":
            found = []
            i = ws(i + 1)
            while i < len(text) and text[i] != "]":
                found.append(i)
                _, i = dec.raw_decode(text, i)
                i = ws(i)
                if text[i : i + 1] == ",":
                    i = ws(i + 1)
            i += 1
        else:
            _, i = dec.raw_decode(text, i)
        i = ws(i)
        if text[i : i + 1] == ",":
            i = ws(i + 1)
    return found


def _line_cols(text: str, offsets: list[int]) -> list[tuple[int, int]]:
    """1-based (line, column) of increasing ``offsets``, in one pass over the text."""
    out = []
    line, line_start, pos = 1, 0, 0
    for off in offsets:
        nl = text.count("\n", pos, off)
        if nl:
            line += nl
            line_start = text.rfind("\n", pos, off) + 1
        pos = off
        out.append((line, off - line_start + 1))
    return out


# -- the document -----------------------------------------------------------------------------


def read_json(
    text: str, path: str, report: Report, meta: dict[str, str] | None = None
) -> list[NTable]:
    """The tables of an ``nft -j`` document; ``meta`` receives ``metainfo`` (version)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigParseError(f"invalid JSON: {exc.msg}", SourceSpan(path, exc.lineno)) from exc
    except RecursionError as exc:
        raise ConfigParseError("invalid JSON: nested too deeply", SourceSpan(path, 1)) from exc
    items = doc.get("nftables") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ConfigParseError("not nft JSON output (no top-level 'nftables' list)",
                               SourceSpan(path, 1))
    try:
        offsets = _item_offsets(text)
    except (ValueError, IndexError, RecursionError):  # pragma: no cover - valid JSON above
        offsets = []
    places = _line_cols(text, offsets) if len(offsets) == len(items) else [(1, 0)] * len(items)
    reader = _Reader(path, report, meta)
    for raw, (line, col) in zip(items, places, strict=True):
        span = SourceSpan(path, line, None, col)
        try:
            reader.item(raw, span)
        except Malformed as exc:
            what = next(iter(raw)) if isinstance(raw, dict) and len(raw) == 1 else "element"
            raise ConfigParseError(f"malformed nft JSON {what!r} object: {exc}", span) from exc
        except RecursionError as exc:
            raise ConfigParseError("malformed nft JSON: expression nested too deeply",
                                   span) from exc
    return list(reader.tables.values())


class _Reader:
    """Turns top-level objects into IR, one at a time (``item``)."""

    def __init__(self, path: str, report: Report, meta: dict[str, str] | None) -> None:
        self.path = path
        self.report = report
        self.meta = meta
        self.tables: dict[tuple[str, str], NTable] = {}

    def table(self, fam: str, name: str, span: SourceSpan) -> NTable:
        key = (fam, name)
        if key not in self.tables:
            self.tables[key] = NTable(fam, name, SourceSpan(
                span.path, span.line, f"table {fam} {name}", span.col))
        return self.tables[key]

    def item(self, raw: Any, span: SourceSpan) -> None:
        kind, obj = _single(raw, "each element of 'nftables'")
        if kind in ("add", "create", "insert"):
            kind, obj = _single(obj, f"{kind!r}")
        if kind == "metainfo":
            version = _str(_obj(obj, "metainfo"), "version", "")
            if self.meta is not None and version:
                self.meta["version"] = version
        elif kind == "table":
            o = _obj(obj, "table")
            self.table(_str(o, "family", "ip"), _str(o, "name"), span)
        elif kind == "chain":
            self.chain(_obj(obj, "chain"), span)
        elif kind in ("set", "map"):
            self.set(kind, _obj(obj, kind), span)
        elif kind == "rule":
            self.rule(_obj(obj, "rule"), span)
        else:
            self.report(Diagnostic(Level.INFO, f"JSON object {kind!r} ignored (does not filter)",
                                   span, "nftables.object"))

    def chain(self, o: dict[str, Any], span: SourceSpan) -> None:
        fam, tname, name = _str(o, "family", "ip"), _str(o, "table"), _str(o, "name")
        span = SourceSpan(span.path, span.line, f"chain {fam} {tname} {name}", span.col)
        c = self.table(fam, tname, span).chains.setdefault(name, NChain(name, span))
        if "hook" in o:
            hook = _str(o, "hook")
            if hook not in HOOKS:
                raise Malformed(f"unknown hook {hook!r}")
            policy = _str(o, "policy", "accept")
            if policy not in ("accept", "drop"):
                raise Malformed(f"policy must be accept or drop, not {policy!r}")
            c.type, c.hook = _str(o, "type", "filter"), hook
            c.priority = _int(o, "prio", 0)
            c.device = _str(o, "dev", "")
            c.policy, c.policy_span = policy, span

    def set(self, kind: str, o: dict[str, Any], span: SourceSpan) -> None:
        name = _str(o, "name")
        t = self.table(_str(o, "family", "ip"), _str(o, "table"), span)
        s = NSet(name, span=SourceSpan(span.path, span.line, f"{kind} {name}", span.col))
        if kind == "map":
            s.verdicts = []
        elems = o.get("elem")
        for e in [] if elems is None else _list(elems, "'elem'"):
            try:
                if s.verdicts is not None:
                    k, v = _pair(e, "a map element")
                    s.elems.append(_elem(k))
                    s.verdicts.append(_verdict(v) or Verdict("unsupported"))
                else:
                    s.elems.append(_elem(e))
            except ValueError as exc:
                s.problem = f"element not understood: {exc}"
        t.sets[name] = s

    def rule(self, o: dict[str, Any], span: SourceSpan) -> None:
        fam, tname, cname = _str(o, "family", "ip"), _str(o, "table"), _str(o, "chain")
        exprs = _list(o.get("expr"), "'expr'")
        snippet = json.dumps(exprs, separators=(",", ":"))[:300]
        rule = NRule(SourceSpan(span.path, span.line, snippet, span.col),
                     comment=_str(o, "comment", ""))
        try:
            _rule(exprs, rule)
        except ValueError as exc:
            rule.problem = rule.problem or f"expression not understood: {exc}"
            if rule.verdict is None and rule.vmap is None:  # could it decide?
                found = [v for e in exprs if (v := _verdict(e)) is not None]
                if found or any(isinstance(e, dict) and "vmap" in e for e in exprs):
                    rule.verdict = found[-1] if found else Verdict("accept")
        c = self.table(fam, tname, span).chains.setdefault(cname, NChain(cname, rule.span))
        c.rules.append(rule)


# -- expressions ------------------------------------------------------------------------------


def _key(expr: Any) -> tuple[str, ...]:
    """The selector(s) of a match's left side (``Malformed`` if an object of the wrong shape,
    ``ValueError`` for anything else segcheck does not model)."""
    if not isinstance(expr, dict):
        raise ValueError(f"unexpected selector {json.dumps(expr)[:80]}")
    name, arg = _single(expr, "a selector")
    if name == "concat":
        return tuple(k for e in _list(arg, "'concat'") for k in _key(e))
    if name == "payload":
        p = _obj(arg, "'payload'")
        if "protocol" not in p:
            raise ValueError("raw payload expressions are not supported")
        return (f"{_str(p, 'protocol')} {_str(p, 'field')}",)
    if name in ("meta", "ct"):
        return (f"{name} {_str(_obj(arg, repr(name)), 'key')}",)
    return (f"{name} expression",)


def _value(v: Any) -> Value:
    if isinstance(v, bool):
        raise ValueError("unexpected boolean")
    if isinstance(v, (int, str)):
        return Value("lit", str(v))
    if isinstance(v, dict) and len(v) == 1:
        kind, arg = next(iter(v.items()))
        if kind == "range":
            lo, hi = _pair(arg, "'range'")
            return Value("range", _scalar(lo, "a range bound"), _scalar(hi, "a range bound"))
        if kind == "prefix":
            p = _obj(arg, "'prefix'")
            return Value("lit", f"{_str(p, 'addr')}/{_int(p, 'len')}")
        if kind == "elem":
            return _value(_obj(arg, "'elem'").get("val"))
    if isinstance(v, (dict, list)):
        raise ValueError(f"unexpected value {json.dumps(v)[:80]}")
    raise Malformed(f"a value must not be {_kind(v)}")


def _elem(v: Any) -> Elem:
    if isinstance(v, dict) and len(v) == 1 and "concat" in v:
        return tuple(_value(x) for x in _list(v["concat"], "'concat'"))
    if isinstance(v, dict) and len(v) == 1 and "elem" in v:
        return _elem(_obj(v["elem"], "'elem'").get("val"))
    return (_value(v),)


def _verdict(v: Any) -> Verdict | None:
    """The verdict statement ``v`` is, or None when it is another kind of expression."""
    if not isinstance(v, dict) or len(v) != 1:
        return None
    kind, arg = next(iter(v.items()))
    if kind in ("accept", "drop", "return", "continue"):
        return Verdict(kind)
    if kind in ("jump", "goto"):
        return Verdict(kind, _str(_obj(arg, repr(kind)), "target"))
    if kind == "reject":
        return Verdict("reject", detail="reject " + json.dumps(arg) if arg else "reject")
    if kind == "queue":
        return Verdict("queue", detail="queue")
    return None


def _flags(right: Any) -> list[str]:
    """``tcp flags`` values: a flag, a list of flags, or ``{"|": [...]}`` (other shapes, e.g.
    a set of flag combinations, are not modelled: ValueError)."""
    if isinstance(right, dict) and len(right) == 1 and "|" in right:
        right = right["|"]
    items = right if isinstance(right, list) else [right]
    if not all(isinstance(x, (int, str)) and not isinstance(x, bool) for x in items):
        raise ValueError(f"tcp flags value {json.dumps(right)[:80]} is not supported")
    return [str(x) for x in items]


def _rule(exprs: list[Any], rule: NRule) -> None:
    """Fill ``rule`` from its statements. ``ValueError``: well-formed but not modelled;
    ``Malformed``: not nft JSON."""
    for e in exprs:
        kind, arg = _single(e, "a rule expression")
        v = _verdict(e)
        if v is not None:
            rule.verdict = v
        elif kind == "match":
            _match(_obj(arg, "'match'"), rule)
        elif kind == "vmap":
            a = _obj(arg, "'vmap'")
            keys = _key(a.get("key"))
            data = a.get("data")
            if isinstance(data, str) and data.startswith("@"):
                rule.vmap = (keys, data[1:])
            elif not (isinstance(data, dict) and len(data) == 1 and "set" in data):
                raise ValueError(f"verdict map data {json.dumps(data)[:80]} not understood")
            else:
                items = []
                for pair in _list(data["set"], "vmap 'set'"):
                    k, val = _pair(pair, "a verdict map element")
                    vd = _verdict(val)
                    if vd is None:
                        raise ValueError("verdict map value is not a verdict")
                    items.append((_elem(k), vd))
                rule.vmap = (keys, items)
        elif kind in ("counter", "log", "mangle", "set", "comment", "meta", "ct helper"):
            continue
        elif kind == "notrack":
            rule.notrack = True
        elif kind in ("limit", "quota"):
            rule.problem = rule.problem or f"'{kind}' decides by rate/volume, not by packet fields"
        elif kind in ("dnat", "snat", "masquerade", "redirect"):
            rule.nat = kind
        else:
            rule.problem = rule.problem or f"statement {kind!r} is not supported"


def _match(arg: dict[str, Any], rule: NRule) -> None:
    if "left" not in arg or "right" not in arg:
        raise Malformed("'match' needs 'left' and 'right'")
    left, mask = arg["left"], None
    if isinstance(left, dict) and len(left) == 1 and "&" in left:
        left, m = _pair(left["&"], "'&'")
        mask = tuple(_flags(m))
    keys = _key(left)
    op_name = _str(arg, "op", "==")
    op = _OPS.get(op_name, "")
    if not op:
        raise ValueError(f"operator {op_name!r} is not supported")
    right = arg["right"]
    if isinstance(right, str) and right.startswith("@"):
        rule.conds.append(Cond(keys, op, setref=right[1:]))
    elif keys == ("tcp flags",):
        rule.conds.append(Cond(keys, op, tuple((Value("lit", f),) for f in _flags(right)),
                               mask=mask))
    elif isinstance(right, dict) and len(right) == 1 and "set" in right:
        rule.conds.append(Cond(keys, op, tuple(_elem(x) for x in _list(right["set"], "'set'"))))
    elif isinstance(right, list):
        rule.conds.append(Cond(keys, op, tuple(_elem(x) for x in right), flaglist=True))
    elif isinstance(right, dict) and len(right) == 1 and "|" in right:
        rule.conds.append(Cond(keys, op, tuple(_elem(x) for x in _list(right["|"], "'|'")),
                               flaglist=True))
    else:
        rule.conds.append(Cond(keys, op, (_elem(right),)))
