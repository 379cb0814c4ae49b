"""`segcheck query` — verdicts for packets, one JSON line in, one JSON line out (DESIGN.md §4).

Input line: ``{"src", "dst", "proto", "sport", "dport", "icmp_type", "icmp_code", "state",
"in_iface", "out_iface", "from_zone", "to_zone"}`` (only ``src``, ``dst``, ``proto``
required; ports/ICMP fields default to 0 and must not be given for protocols that lack them).
Packets are ``new`` unless ``"state"`` says otherwise.

Answer line: ``{"verdict": "permit"|"deny", "filter": NAME|null, "rule": {"file", "line",
"name"}|null}``; ``rule: null`` means the filter's default action decided.

With ``--filter NAME`` that one filter decides. Without it, the device's forward stages that
apply to the packet's ingress/egress (interfaces, or vendor zones) decide in order: the first
stage that denies gives the answer; if all permit, the last stage is reported; if no stage
applies the device forwards it (``filter: null``). ``--local`` uses the stages for packets
addressed to the device itself (iptables ``INPUT``, nftables input hooks) instead.

All input is read and checked before anything is written, so a bad line (``path:line:
message``, exit 2) never leaves half an answer. Packets are grouped by (filter, ingress,
egress) and decided in bulk by the engine's ``Classifier`` on the specialized filter.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import click

from segcheck.errors import SegcheckError, UsageError
from segcheck.model.device import Device
from segcheck.model.packet import STATES, Packet, has_icmp_fields, has_ports
from segcheck.model.rules import ANY_IFACE, Action, Filter, IfaceContext, Rule
from segcheck.model.source import SourceSpan
from segcheck.outputs import write_output
from segcheck.parsers.registry import load_device

log = logging.getLogger(__name__)

_FIELDS = frozenset({"src", "dst", "proto", "sport", "dport", "icmp_type", "icmp_code", "state",
                     "in_iface", "out_iface", "from_zone", "to_zone"})


@dataclass(frozen=True, slots=True)
class Query:
    packet: Packet
    state: str = "new"
    ingress: IfaceContext = ANY_IFACE
    egress: IfaceContext = ANY_IFACE


class _Decider(Protocol):
    def decide_many(
        self, packets: Sequence[Packet], states: Sequence[str] | None = None
    ) -> Sequence[tuple[Action, int | None]]: ...


class _ReferenceDecider:
    """First-match by ``Filter.decide``: used when the engine's Classifier is unavailable."""

    def __init__(self, f: Filter) -> None:
        self.f = f
        self.index = {id(r): i for i, r in enumerate(f.rules)}

    def decide_many(
        self, packets: Sequence[Packet], states: Sequence[str] | None = None
    ) -> list[tuple[Action, int | None]]:
        out: list[tuple[Action, int | None]] = []
        for k, p in enumerate(packets):
            action, rule = self.f.decide(p, states[k] if states else "new")
            out.append((action, None if rule is None else self.index[id(rule)]))
        return out


def _decider(f: Filter) -> _Decider:
    try:
        from segcheck.engine.filters import Classifier
    except ImportError:
        return _ReferenceDecider(f)
    c: _Decider = Classifier(f)
    return c


def parse_query(obj: Any, device: Device | None = None) -> Query:
    """One decoded JSON input object -> a ``Query`` (ValueError with a message when bad)."""
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    unknown = set(obj) - _FIELDS
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    for key in ("src", "dst", "proto"):
        if key not in obj:
            raise ValueError(f"missing field {key!r}")
    ints: dict[str, int] = {}
    for key in ("sport", "dport", "icmp_type", "icmp_code"):
        v = obj.get(key, 0)
        if not isinstance(v, int) or isinstance(v, bool):
            raise ValueError(f"{key} must be an integer")
        ints[key] = v
    proto = obj["proto"]
    if not isinstance(proto, (str, int)) or isinstance(proto, bool):
        raise ValueError("proto must be a name or a number")
    if not isinstance(obj["src"], str) or not isinstance(obj["dst"], str):
        raise ValueError("src and dst must be address strings")
    p = Packet.make(obj["src"], obj["dst"], proto, 0, 0, 0, 0)
    if not has_ports(p.proto) and (ints["sport"] or ints["dport"]):
        raise ValueError(f"protocol {proto} has no ports")
    if not has_icmp_fields(p.version, p.proto) and (ints["icmp_type"] or ints["icmp_code"]):
        raise ValueError(f"icmp_type/icmp_code do not apply to protocol {proto}")
    p = Packet(p.version, p.src, p.dst, p.proto, **ints)
    state = obj.get("state", "new")
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(sorted(STATES))}")

    def ctx(iface_key: str, zone_key: str) -> IfaceContext:
        iface, zone = obj.get(iface_key), obj.get(zone_key)
        for k, v in ((iface_key, iface), (zone_key, zone)):
            if v is not None and not isinstance(v, str):
                raise ValueError(f"{k} must be a string")
        if device is not None:
            return device.context(iface, zone)
        return IfaceContext(iface, zone)

    return Query(p, state, ctx("in_iface", "from_zone"), ctx("out_iface", "to_zone"))


def read_queries(lines: Iterable[str], path: str, device: Device | None = None) -> list[Query]:
    """Every non-blank line as a query; a bad one raises ``SegcheckError`` at ``path:line``."""
    out: list[Query] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(parse_query(json.loads(line), device))
        except (ValueError, TypeError) as exc:
            raise SegcheckError(str(exc), SourceSpan(path, lineno, line.strip()[:200])) from exc
    return out


class Evaluator:
    """Answers queries against one device, caching a decider per (filter, ingress, egress)."""

    def __init__(self, device: Device, filter_name: str | None = None, local: bool = False) -> None:
        if filter_name is not None and filter_name not in device.filters:
            names = ", ".join(sorted(device.filters)) or "none"
            raise UsageError(f"no filter {filter_name!r} in {device.path} (filters: {names})")
        self.device = device
        self.filter_name = filter_name
        self.local = local
        self._cache: dict[tuple[str, IfaceContext, IfaceContext], tuple[Filter, _Decider]] = {}

    def _get(
        self, name: str, ingress: IfaceContext, egress: IfaceContext
    ) -> tuple[Filter, _Decider]:
        key = (name, ingress, egress)
        hit = self._cache.get(key)
        if hit is None:
            f = self.device.filters[name].specialize(ingress, egress)
            hit = self._cache[key] = (f, _decider(f))
        return hit

    def answers(self, queries: Sequence[Query]) -> list[dict[str, object]]:
        results: list[dict[str, object] | None] = [None] * len(queries)
        groups: dict[tuple[IfaceContext, IfaceContext], list[int]] = {}
        for k, q in enumerate(queries):
            groups.setdefault((q.ingress, q.egress), []).append(k)
        for (ingress, egress), idx in groups.items():
            if self.filter_name is not None:
                names = [self.filter_name]
            else:
                stages = self.device.local if self.local else self.device.forward
                names = [s.filter for s in stages if s.applies(ingress, egress)]
            pending = idx
            for pos, name in enumerate(names):
                f, dec = self._get(name, ingress, egress)
                verdicts = dec.decide_many([queries[k].packet for k in pending],
                                           [queries[k].state for k in pending])
                still: list[int] = []
                for k, (action, ri) in zip(pending, verdicts, strict=True):
                    if action is Action.DENY or pos == len(names) - 1:
                        results[k] = _answer(action, f, None if ri is None else f.rules[ri])
                    else:
                        still.append(k)
                pending = still
            for k in pending:
                results[k] = {"verdict": "permit", "filter": None, "rule": None}
        return [r for r in results if r is not None]


def _answer(action: Action, f: Filter, rule: Rule | None) -> dict[str, object]:
    return {
        "verdict": action.value,
        "filter": f.name,
        "rule": None if rule is None else {
            "file": rule.span.path, "line": rule.span.line, "name": rule.name,
        },
    }


@click.command()
@click.option("--config", "config", required=True, type=click.Path(dir_okay=False),
              help="Firewall export (iptables-save, nft list ruleset, ...).")
@click.option("--vendor", default=None, help="Vendor of the export (auto-detected if omitted).")
@click.option("--filter", "filter_name", default=None,
              help="One filter/chain to evaluate, e.g. FORWARD or 'inet filter/forward'.")
@click.option("--packets", "packets", required=True, type=click.Path(allow_dash=True),
              help="JSONL file of packets, or - for stdin.")
@click.option("--local", is_flag=True,
              help="Without --filter: evaluate the stages for packets addressed to the device "
              "itself (e.g. INPUT) instead of the forward stages.")
@click.option("-o", "--output", "output", default=None, help="Write answers here (default stdout).")
def command(config: str, vendor: str | None, filter_name: str | None, packets: str,
            local: bool, output: str | None) -> None:
    """Answer permit/deny for each packet (JSON lines in, one JSON verdict line out each)."""
    device = load_device(config, vendor)
    for d in device.diagnostics:
        if d.level.makes_incomplete:
            click.echo(f"segcheck: {d}", err=True)
    if not device.complete:
        click.echo("segcheck: warning: the export has unsupported or invalid lines; verdicts "
                   "that depend on them may be wrong", err=True)
    evaluator = Evaluator(device, filter_name, local)
    if packets == "-":
        queries = read_queries(sys.stdin, "<stdin>", device)
    else:
        try:
            with open(packets, encoding="utf-8") as fh:
                queries = read_queries(fh, packets, device)
        except OSError as exc:
            raise UsageError(f"{packets}: cannot read: {exc.strerror}") from exc
    answers = evaluator.answers(queries)
    write_output("".join(json.dumps(a, separators=(", ", ": ")) + "\n" for a in answers), output)
