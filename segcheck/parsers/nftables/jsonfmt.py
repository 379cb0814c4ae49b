"""``nft -j list ruleset`` JSON -> IR tables (same IR as the text reader).

Spans: JSON objects carry no line numbers, so each ``{"rule": ...}``/``{"chain": ...}``
object is located in the raw text (in order) and its line and column are recorded;
``nft -j`` prints everything on one line, so the column is what tells rules apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from segcheck.errors import ConfigParseError
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers.nftables.ir import Cond, Elem, NChain, NRule, NSet, NTable, Value, Verdict

Report = Callable[[Diagnostic], None]

_OPS = {"==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">=", "in": "=="}


def _positions(text: str, kind: str) -> list[tuple[int, int]]:
    out = []
    for m in re.finditer(r'\{\s*"' + kind + r'"\s*:', text):
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        out.append((line, col))
    return out


def read_json(
    text: str, path: str, report: Report, meta: dict[str, str] | None = None
) -> list[NTable]:
    """The tables of an ``nft -j`` document; ``meta`` receives ``metainfo`` (version)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigParseError(f"invalid JSON: {exc.msg}", SourceSpan(path, exc.lineno)) from exc
    items = doc.get("nftables") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ConfigParseError("not nft JSON output (no top-level 'nftables' list)",
                               SourceSpan(path, 1))
    rule_pos = _positions(text, "rule")
    chain_pos = _positions(text, "chain")
    tables: dict[tuple[str, str], NTable] = {}
    n_rule = n_chain = 0

    def table(fam: str, name: str) -> NTable:
        key = (fam, name)
        if key not in tables:
            tables[key] = NTable(fam, name, SourceSpan(path, 1, f"table {fam} {name}"))
        return tables[key]

    for raw in items:
        if not isinstance(raw, dict) or len(raw) != 1:
            continue
        kind, obj = next(iter(raw.items()))
        if kind in ("add", "create", "insert") and isinstance(obj, dict) and len(obj) == 1:
            kind, obj = next(iter(obj.items()))
        if not isinstance(obj, dict):
            continue
        if kind == "metainfo" and meta is not None and isinstance(obj.get("version"), str):
            meta["version"] = obj["version"]
        elif kind == "table":
            table(obj.get("family", "ip"), obj.get("name", ""))
        elif kind == "chain":
            line, col = chain_pos[n_chain] if n_chain < len(chain_pos) else (1, 0)
            n_chain += 1
            span = SourceSpan(path, line, f"chain {obj.get('family')} {obj.get('table')} "
                              f"{obj.get('name')}", col)
            t = table(obj.get("family", "ip"), obj.get("table", ""))
            c = t.chains.setdefault(obj.get("name", ""), NChain(obj.get("name", ""), span))
            if "hook" in obj:
                c.type, c.hook = obj.get("type", "filter"), obj["hook"]
                c.priority = int(obj.get("prio", 0)) if isinstance(obj.get("prio", 0), int) else 0
                c.device = str(obj.get("dev", ""))
                c.policy = obj.get("policy", "accept")
                c.policy_span = span
        elif kind in ("set", "map"):
            t = table(obj.get("family", "ip"), obj.get("table", ""))
            s = NSet(obj.get("name", ""), span=SourceSpan(path, 1, f"{kind} {obj.get('name')}"))
            if kind == "map":
                s.verdicts = []
            for e in obj.get("elem", []) or []:
                try:
                    if kind == "map":
                        k, v = e
                        s.elems.append(_elem(k))
                        s.verdicts.append(_verdict(v) or Verdict("unsupported"))  # type: ignore[union-attr]
                    else:
                        s.elems.append(_elem(e))
                except (ValueError, TypeError) as exc:
                    s.problem = f"element not understood: {exc}"
            t.sets[s.name] = s
        elif kind == "rule":
            line, col = rule_pos[n_rule] if n_rule < len(rule_pos) else (1, 0)
            n_rule += 1
            snippet = json.dumps(obj.get("expr", []), separators=(",", ":"))[:300]
            rule = NRule(SourceSpan(path, line, snippet, col), comment=obj.get("comment", ""))
            try:
                _rule(obj.get("expr", []), rule)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                rule.problem = rule.problem or f"expression not understood: {exc}"
                if rule.verdict is None and rule.vmap is None:  # could it decide?
                    found = [v for e in obj.get("expr", []) if (v := _verdict(e)) is not None]
                    if found or any(isinstance(e, dict) and "vmap" in e
                                    for e in obj.get("expr", [])):
                        rule.verdict = found[-1] if found else Verdict("accept")
            t = table(obj.get("family", "ip"), obj.get("table", ""))
            c = t.chains.setdefault(obj.get("chain", ""), NChain(obj.get("chain", ""), rule.span))
            c.rules.append(rule)
        elif kind not in ("metainfo",):
            report(Diagnostic(Level.INFO, f"JSON object {kind!r} ignored (does not filter)",
                              SourceSpan(path, 1), "nftables.object"))
    return list(tables.values())


def _key(expr: Any) -> tuple[str, ...]:
    if isinstance(expr, dict):
        if "concat" in expr:
            return tuple(k for e in expr["concat"] for k in _key(e))
        if "payload" in expr:
            p = expr["payload"]
            if "protocol" not in p:
                raise ValueError("raw payload expressions are not supported")
            return (f"{p['protocol']} {p['field']}",)
        if "meta" in expr:
            return (f"meta {expr['meta']['key']}",)
        if "ct" in expr:
            return (f"ct {expr['ct']['key']}",)
        name = next(iter(expr), "?")
        return (f"{name} expression",)
    raise ValueError(f"unexpected selector {expr!r}")


def _value(v: Any) -> Value:
    if isinstance(v, bool):
        raise ValueError("unexpected boolean")
    if isinstance(v, (int, str)):
        return Value("lit", str(v))
    if isinstance(v, dict):
        if "range" in v:
            lo, hi = v["range"]
            return Value("range", str(lo), str(hi))
        if "prefix" in v:
            return Value("lit", f"{v['prefix']['addr']}/{v['prefix']['len']}")
        if "elem" in v:
            return _value(v["elem"]["val"])
    raise ValueError(f"unexpected value {v!r}")


def _elem(v: Any) -> Elem:
    if isinstance(v, dict) and "concat" in v:
        return tuple(_value(x) for x in v["concat"])
    if isinstance(v, dict) and "elem" in v:
        return _elem(v["elem"]["val"])
    return (_value(v),)


def _verdict(v: Any) -> Verdict | None:
    if not isinstance(v, dict) or len(v) != 1:
        return None
    kind, arg = next(iter(v.items()))
    if kind in ("accept", "drop", "return", "continue"):
        return Verdict(kind)
    if kind in ("jump", "goto"):
        return Verdict(kind, str(arg["target"]))
    if kind == "reject":
        return Verdict("reject", detail="reject " + json.dumps(arg) if arg else "reject")
    if kind == "queue":
        return Verdict("queue", detail="queue")
    return None


def _rule(exprs: list[Any], rule: NRule) -> None:
    for e in exprs:
        if not isinstance(e, dict) or len(e) != 1:
            raise ValueError(f"unexpected expression {e!r}")
        kind, arg = next(iter(e.items()))
        v = _verdict(e)
        if v is not None:
            rule.verdict = v
        elif kind == "match":
            left, mask = arg["left"], None
            if isinstance(left, dict) and "&" in left:
                left, m = left["&"]
                mask = tuple(m) if isinstance(m, list) else (str(m),)
            keys = _key(left)
            op = _OPS.get(arg.get("op", "=="), "")
            if not op:
                raise ValueError(f"operator {arg.get('op')!r} is not supported")
            right = arg["right"]
            if isinstance(right, str) and right.startswith("@"):
                rule.conds.append(Cond(keys, op, setref=right[1:]))
            elif keys == ("tcp flags",):
                vals = right if isinstance(right, list) else right.get("|", [right]) \
                    if isinstance(right, dict) else [right]
                rule.conds.append(Cond(keys, op, tuple((Value("lit", str(v)),) for v in vals),
                                       mask=mask))
            elif isinstance(right, dict) and "set" in right:
                rule.conds.append(Cond(keys, op, tuple(_elem(x) for x in right["set"])))
            elif isinstance(right, list):
                rule.conds.append(Cond(keys, op, tuple(_elem(x) for x in right), flaglist=True))
            elif isinstance(right, dict) and "|" in right:
                rule.conds.append(Cond(keys, op, tuple(_elem(x) for x in right["|"]),
                                       flaglist=True))
            else:
                rule.conds.append(Cond(keys, op, (_elem(right),)))
        elif kind == "vmap":
            keys = _key(arg["key"])
            data = arg["data"]
            if isinstance(data, str) and data.startswith("@"):
                rule.vmap = (keys, data[1:])
            else:
                items = []
                for k, val in data["set"]:
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
