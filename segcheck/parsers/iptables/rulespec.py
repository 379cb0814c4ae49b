"""One iptables command line (``-A CHAIN <rule-spec>``) -> a ``RuleSpec``.

The rule's match conditions are turned into a disjunction of ``Match`` boxes (DNF) over one
address family. Per-field negations (``! -s``, ``! --dport``, ``! -p``, ``! --src-range``,
``! --state``) complement the field inside its domain, which keeps a single box; the few
conditions whose negation is not a box (``! --icmp-type 3/1``, ``! --ports``... ) become
several boxes. Semantics checklist (STYLE.md habit 5):

- stateful: ``-m state``/``-m conntrack --ctstate`` become ``Match.states``; analysis looks at
  ``new`` packets. ``--syn`` (= ``--tcp-flags SYN,RST,ACK,FIN SYN``) is modelled as "the
  connection-initiating packet", i.e. ``states == {new}``; ``! --syn`` as the other states.
- empty address list: iptables has none (``-s`` absent = any). ``-s a,b`` = either.
- ICMP vs ICMPv6: ``--icmp-type`` only in IPv4 (``-p icmp``), ``--icmpv6-type`` only in IPv6
  (``-p ipv6-icmp``/``icmpv6``); in ip6tables ``-p icmp`` is protocol 1, not 58.
- names vs numbers: protocols, ports (``SERVICES``) and ICMP types accept both.
- ``-f`` (non-first fragments): our packets are unfragmented, so ``-f`` matches none of them
  and ``! -f`` all of them.

A condition segcheck cannot model (unknown ``-m`` module or option, ``-m limit``, ``-m mark``,
``-m addrtype``...) makes the rule ``unsupported``: the caller drops it with an UNSUPPORTED
diagnostic (never "matches everything" or "nothing" silently) — unless its target does not
decide (``LOG``...), in which case the rule is irrelevant to verdicts anyway.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from segcheck.model import ranges as R
from segcheck.model.packet import (
    PORT_PROTOCOLS,
    PROTOCOL_NUMBERS,
    STATES,
    icmp_protocol,
    protocol_number,
)
from segcheck.model.rules import IfaceMatch, Match, trusted_match
from segcheck.parsers import common
from segcheck.parsers.iptables.ipset import IpSet

TERMINAL = {"ACCEPT": "permit", "DROP": "deny", "REJECT": "deny"}
NON_TERMINATING = frozenset({
    "LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "CLASSIFY", "TCPMSS", "DSCP", "TOS", "TTL",
    "HL", "ECN", "AUDIT", "CHECKSUM", "TRACE", "SET", "TEE", "SECMARK", "CONNSECMARK",
    "IDLETIMER", "LED", "RATEEST", "HMARK", "SYNPROXY_LOG",
})
"""Targets that do something to the packet but let rule traversal continue."""
STATE_CHANGING = frozenset({"CT", "NOTRACK"})
NAT_TARGETS = frozenset({"DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP"})
USERSPACE = frozenset({"QUEUE", "NFQUEUE", "SYNPROXY", "TPROXY"})

_RULE_OPTS_WITH_ARG = {
    "-s": "src", "--source": "src", "--src": "src",
    "-d": "dst", "--destination": "dst", "--dst": "dst",
    "-p": "proto", "--protocol": "proto",
    "-i": "in", "--in-interface": "in", "-o": "out", "--out-interface": "out",
    "-j": "jump", "--jump": "jump", "-g": "goto", "--goto": "goto",
    "-m": "module", "--match": "module",
}
_RARE_OPTS = frozenset({"-4", "--ipv4", "-6", "--ipv6", "-f", "--fragment", "-c",
                        "--set-counters"})
"""Rule options without a value handled before the others (none is in the table above)."""
_MODULE_OPTS: dict[str, int] = {
    "--dport": 1, "--destination-port": 1, "--sport": 1, "--source-port": 1,
    "--dports": 1, "--destination-ports": 1, "--sports": 1, "--source-ports": 1, "--ports": 1,
    "--state": 1, "--ctstate": 1, "--comment": 1, "--src-range": 1, "--dst-range": 1,
    "--match-set": 2, "--icmp-type": 1, "--icmpv6-type": 1, "--syn": 0, "--tcp-flags": 2,
}
_KNOWN_MODULES = frozenset({
    "tcp", "udp", "sctp", "dccp", "udplite", "icmp", "icmp6", "icmpv6", "multiport", "state",
    "conntrack", "comment", "iprange", "set",
})
_BOX_FIELDS = ("src", "dst", "protocols", "sports", "dports", "icmp_types", "icmp_codes",
               "states")
_CT_STATES = {"NEW": "new", "ESTABLISHED": "established", "RELATED": "related",
              "INVALID": "invalid", "UNTRACKED": "untracked"}


@dataclass
class RuleSpec:
    """A parsed rule line. ``problem`` set means: do not use the match (drop the rule)."""

    chain: str
    matches: tuple[Match, ...] = ()
    target: str = ""
    goto: bool = False
    target_opts: dict[str, str] = field(default_factory=dict)
    name: str = ""
    problem: str = ""
    problem_code: str = ""
    notes: list[str] = field(default_factory=list)
    ignore: bool = False
    """True for rules that do not apply to this family (``-6`` in an IPv4 file)."""

    @property
    def decides(self) -> bool:
        """Whether the target can decide or redirect traversal (not LOG, counters...)."""
        return bool(self.target) and self.target not in NON_TERMINATING


class SpecError(ValueError):
    """A rule line that iptables itself would reject."""


def parse_rule(
    chain: str, tokens: list[str], family: int, ipsets: dict[str, IpSet] | None,
    backend: str | None = None,
) -> RuleSpec:
    """Parse the tokens after ``-A CHAIN``. Raises ``SpecError`` for malformed lines.

    ``backend`` (``nft``, ``legacy`` or None = unknown) matters for one known divergence:
    ``! --dport 0:65535`` matches no packet in iptables-legacy, but iptables-nft drops the
    full-range port match and keeps the negation of nothing, so the rule matches every port
    (checked against the kernel). Unknown backend: the rule is reported unsupported."""
    spec = _plain_rule(chain, tokens, family)
    if spec is not None:
        return spec
    return _general_rule(chain, tokens, family, ipsets, backend)


def _general_rule(
    chain: str, tokens: list[str], family: int, ipsets: dict[str, IpSet] | None,
    backend: str | None,
) -> RuleSpec:
    """``parse_rule`` for any rule (the reference the plain-rule fast path must equal)."""
    spec = RuleSpec(chain)
    c = _Collector(family, ipsets)
    c.backend = backend
    i, n = 0, len(tokens)
    module = ""
    while i < n:
        tok = tokens[i]
        neg = False
        if tok == "!":
            neg, i = True, i + 1
            if i >= n:
                raise SpecError("'!' at end of line")
            tok = tokens[i]
        kind = _RULE_OPTS_WITH_ARG.get(tok)  # the common case first (disjoint from the next)
        if kind is None and tok in _RARE_OPTS:
            if tok in ("-4", "--ipv4", "-6", "--ipv6"):
                if (tok in ("-6", "--ipv6")) != (family == 6):
                    spec.ignore = True
                i += 1
            elif tok in ("-f", "--fragment"):
                c.parts.append(() if not neg else (Match(),))
                i += 1
            else:  # -c / --set-counters PKTS BYTES
                i += 3
            continue
        if kind is not None:
            if i + 1 >= n:
                raise SpecError(f"option {tok} needs a value")
            value = tokens[i + 1]
            if value == "!":  # old syntax: -s ! 10.0.0.1
                neg, value, i = True, tokens[i + 2] if i + 2 < n else "", i + 1
            i += 2
            if kind in ("jump", "goto"):
                spec.target, spec.goto = value, kind == "goto"
                i = _target_options(tokens, i, spec)
            elif kind == "module":
                module = value.lower()
                if module not in _KNOWN_MODULES and not spec.problem:
                    spec.problem = f"match module '-m {value}' is not supported"
                    spec.problem_code = "iptables.unknown-match"
            else:
                c.add_basic(kind, value, neg)
            continue
        if tok.startswith("--") and tok in _MODULE_OPTS:
            arity = _MODULE_OPTS[tok]
            args = tokens[i + 1 : i + 1 + arity]
            if args and args[0] == "!":
                neg, args = True, tokens[i + 2 : i + 2 + arity]
                i += 1
            if len(args) < arity:
                raise SpecError(f"option {tok} needs {arity} value(s)")
            i += 1 + arity
            if tok == "--comment":
                spec.name = args[0]
            else:
                try:
                    c.add_module_option(module, tok, args, neg)
                except _Unsupported as exc:
                    if not spec.problem:
                        spec.problem, spec.problem_code = str(exc), "iptables.unsupported-match"
            continue
        if tok.startswith("-"):
            if not spec.problem:
                where = f" (module {module})" if module else ""
                spec.problem = f"option {tok}{where} is not supported"
                spec.problem_code = "iptables.unknown-option"
            i += 1
            while i < n and not tokens[i].startswith("-") and tokens[i] != "!":
                i += 1
            continue
        raise SpecError(f"unexpected word {tok!r}")
    if not spec.problem:
        try:
            spec.matches = c.build()
        except _Unsupported as exc:
            spec.problem, spec.problem_code = str(exc), "iptables.unsupported-match"
    return spec


_PLAIN_OPTS = {
    "-s": "src", "--source": "src", "--src": "src",
    "-d": "dst", "--destination": "dst", "--dst": "dst",
    "-i": "in", "--in-interface": "in", "-o": "out", "--out-interface": "out",
    "-p": "proto", "--protocol": "proto", "-m": "module", "--match": "module",
    "-j": "jump", "--jump": "jump",
    "--dport": "dports", "--destination-port": "dports",
    "--sport": "sports", "--source-port": "sports",
}
"""The options of a *plain* rule (``_plain_rule``), each followed by exactly one value."""
_PLAIN_PROTOCOLS = {name: ((p, p),) for name, p in PROTOCOL_NUMBERS.items()
                    if p in PORT_PROTOCOLS}
"""``-p`` values of a plain rule: the port protocols' lower-case names."""


def _plain_rule(chain: str, tokens: list[str], family: int) -> RuleSpec | None:
    """The general parse of a *plain* rule, or ``None`` when the rule is not plain.

    Plain: only ``-s``/``-d`` (one address each), ``-i``/``-o``, ``-p`` with a port
    protocol's name, ``-m`` with a known module, one ``--dport``/``--sport`` (no list) and
    ``-j TARGET`` with no target options — each at most once, each with one valid value, no
    ``!``. That is nearly every line of a large export, and its result is exactly
    ``parse_rule``'s (one box, built field by field; tests compare the two): every value is
    parsed by the same helpers, which also establish ``Match``'s invariants, so the box is
    built with ``trusted_match``. Anything else (negation, lists, other options, repeated
    options, a value the general path would reject) returns ``None`` and goes the general
    way, errors and diagnostics included. O(len(tokens))."""
    n = len(tokens)
    if n & 1:
        return None
    src = dst = protocols = sports = dports = None
    in_iface: tuple[IfaceMatch, ...] = ()
    out_iface: tuple[IfaceMatch, ...] = ()
    target = None
    for i in range(0, n, 2):
        kind = _PLAIN_OPTS.get(tokens[i])
        value = tokens[i + 1]
        if kind is None or value == "!":
            return None
        try:
            if kind == "src" or kind == "dst":
                if not value or "," in value:
                    return None
                rs = common.address_ranges(value, family)
                if kind == "src":
                    if src is not None:
                        return None
                    src = rs
                elif dst is not None:
                    return None
                else:
                    dst = rs
            elif kind == "dports" or kind == "sports":
                if value.isdigit() and value.isascii():  # one port: what port_ranges does
                    port = int(value)
                    if port > R.PORT_MAX:
                        return None
                    ports: R.Ranges = ((port, port),)
                elif "," in value:
                    return None
                else:
                    ports = _port_ranges(value)
                if kind == "dports":
                    if dports is not None:
                        return None
                    dports = ports
                elif sports is not None:
                    return None
                else:
                    sports = ports
            elif kind == "in" or kind == "out":
                if not value or len(value) > 15 or "/" in value or " " in value:
                    return None
                if kind == "in":
                    if in_iface:
                        return None
                    in_iface = (_iface(value),)
                elif out_iface:
                    return None
                else:
                    out_iface = (_iface(value),)
            elif kind == "proto":
                if protocols is not None:
                    return None
                protocols = _PLAIN_PROTOCOLS.get(value)
                if protocols is None:
                    return None
            elif kind == "module":
                if value not in _KNOWN_MODULES:
                    return None
            else:  # jump
                if target is not None or (i + 2 < n and tokens[i + 2].startswith("--")):
                    return None  # repeated, or target options follow
                target = value
        except ValueError:
            return None
    if (sports is not None or dports is not None) and protocols is None:
        return None  # the general path raises "needs -p tcp, ..."
    spec = RuleSpec(chain)
    spec.target = target or ""
    spec.matches = (trusted_match(family, src, dst, protocols, sports, dports, in_iface,
                                  out_iface),)
    return spec


@functools.lru_cache(maxsize=1 << 12)
def _iface(name: str) -> IfaceMatch:
    """``-i NAME`` / ``-o NAME`` (no ``!``); cached (one shared immutable value per name)."""
    return IfaceMatch(names=(name,), negate=False)


@functools.lru_cache(maxsize=1 << 12)
def _port_ranges(text: str) -> R.Ranges:
    """``common.port_ranges`` with ``:``, cached (rules repeat their ports)."""
    return common.port_ranges(text)


def _target_options(tokens: list[str], i: int, spec: RuleSpec) -> int:
    """Consume ``--opt [value]`` pairs that follow ``-j TARGET``; return the next index."""
    n = len(tokens)
    while i < n and tokens[i].startswith("--") and tokens[i] not in _MODULE_OPTS and (
        tokens[i] not in _RULE_OPTS_WITH_ARG
    ):
        opt = tokens[i]
        if i + 1 < n and not tokens[i + 1].startswith("-") and tokens[i + 1] != "!":
            spec.target_opts[opt] = tokens[i + 1]
            i += 2
        else:
            spec.target_opts[opt] = ""
            i += 1
    return i


class _Unsupported(Exception):
    pass


class _Collector:
    """Gathers conditions, then builds the DNF (ports and ICMP need the protocol first)."""

    def __init__(self, family: int, ipsets: dict[str, IpSet] | None) -> None:
        self.family = family
        self.ipsets = ipsets
        self.parts: list[tuple[Match, ...]] = []
        """Conditions with several (or no) alternatives, conjoined in ``build``."""
        self.box: dict[str, Any] = {}
        """Single-box conditions met field by field as they come (``meet``): the common case,
        built into one ``Match`` at the end instead of one ``Match`` per condition."""
        self.in_iface: list[IfaceMatch] = []
        self.out_iface: list[IfaceMatch] = []
        self.protocols: R.Ranges | None = None
        self.proto_negated = False
        self.deferred: list[tuple[str, list[str], bool]] = []
        self.multi_addr = self.addr_negated = False
        self.backend: str | None = None

    def addr_max(self) -> int:
        return (1 << R.ADDRESS_BITS[self.family]) - 1

    def meet(self, name: str, value: Any) -> None:
        """Conjoin a one-box condition on one field (``states`` or a ``Ranges`` field): the
        same field-wise meet ``Match.intersect`` performs, without the intermediate boxes."""
        box = self.box
        cur = box.get(name)
        if cur is None:
            box[name] = value
        elif name == "states":
            box[name] = cur & value
        else:
            box[name] = R.intersect(cur, value)

    def add_basic(self, kind: str, value: str, neg: bool) -> None:
        f = self.family
        if kind in ("src", "dst"):
            items = [v for v in value.split(",") if v]
            if len(items) > 1:
                self.multi_addr = True
            self.addr_negated = self.addr_negated or neg
            if self.multi_addr and self.addr_negated:
                raise SpecError("'!' is not allowed with several source or destination addresses")
            try:
                rs = (common.address_ranges(items[0], f) if len(items) == 1 else
                      R.normalize(iv for v in items for iv in common.address_ranges(v, f)))
            except ValueError as exc:
                raise SpecError(str(exc)) from exc
            if neg:
                rs = R.complement(rs, self.addr_max())
            self.meet(kind, rs)
        elif kind == "proto":
            low = value.lower()
            if low in ("all", "0"):
                self.protocols = None if not neg else ()
            else:
                p = protocol_number(low)
                if p is None:
                    raise SpecError(f"unknown protocol {value!r}")
                if f == 6 and low in ("icmpv6", "ipv6-icmp", "icmp6"):
                    p = 58
                self.protocols = R.single(p)
            self.proto_negated = neg
            if self.protocols is not None:
                prot = R.complement(self.protocols, R.PROTO_MAX) if neg else self.protocols
                self.meet("protocols", prot)
        else:
            name = value
            if not name or len(name) > 15 or "/" in name or " " in name:
                raise SpecError(f"bad interface name {value!r}")
            cond = IfaceMatch(names=(name,), negate=neg)
            (self.in_iface if kind == "in" else self.out_iface).append(cond)

    def add_module_option(self, module: str, opt: str, args: list[str], neg: bool) -> None:
        if opt in ("--state", "--ctstate"):
            states: set[str] = set()
            for s in args[0].split(","):
                if s.upper() not in _CT_STATES:
                    if s.upper() in ("SNAT", "DNAT"):
                        raise _Unsupported(f"conntrack state {s} is not supported")
                    raise SpecError(f"unknown state {s!r}")
                states.add(_CT_STATES[s.upper()])
            final = frozenset(STATES - states) if neg else frozenset(states)
            self.meet("states", final)
        elif opt == "--syn":
            self.meet("states", frozenset(STATES - {"new"}) if neg else frozenset({"new"}))
            self.deferred.append(("--need-tcp", [], False))
        elif opt == "--tcp-flags":
            mask, comp = (set(a.upper().split(",")) for a in args)
            if mask == {"SYN", "RST", "ACK", "FIN"} and comp == {"SYN"}:
                self.add_module_option(module, "--syn", [], neg)
            else:
                raise _Unsupported(f"--tcp-flags {args[0]} {args[1]} is not supported")
        elif opt in ("--src-range", "--dst-range"):
            try:
                rs = common.address_ranges(args[0], self.family)
            except ValueError as exc:
                raise SpecError(str(exc)) from exc
            if neg:
                rs = R.complement(rs, self.addr_max())
            self.meet("src" if opt == "--src-range" else "dst", rs)
        elif opt == "--match-set":
            self._match_set(args, neg)
        else:
            self.deferred.append((opt, args, neg))

    def _match_set(self, args: list[str], neg: bool) -> None:
        if self.ipsets is None:
            raise _Unsupported(f"-m set --match-set {args[0]}: no ipset definitions given")
        s = self.ipsets.get(args[0])
        if s is None:
            raise _Unsupported(f"ipset {args[0]!r} is not defined in the ipset file")
        if s.error:
            raise _Unsupported(f"ipset {args[0]!r}: {s.error}")
        if s.family != self.family:
            raise SpecError(f"ipset {args[0]!r} is IPv{s.family}, the rule is IPv{self.family}")
        dirs = args[1].split(",")
        if any(d not in ("src", "dst") for d in dirs) or len(dirs) < s.dims:
            raise SpecError(f"bad --match-set flags {args[1]!r}")
        ms = s.matches(dirs[0], dirs[1] if s.dims > 1 else None)
        if neg:
            if s.dims > 1:
                raise _Unsupported("negated --match-set on a set with ports is not supported")
            side = dirs[0]
            rs = getattr(ms[0], side)
            ms = (common.addr_match(self.family, side, R.complement(rs, self.addr_max())),)
        self.parts.append(ms)

    def build(self) -> tuple[Match, ...]:
        """The rule's DNF: ``common.conjoin`` of every condition, in condition order.

        One-box conditions were met field by field into ``box`` (meets commute, interface
        conditions keep their order); the result equals conjoining them one by one because
        a conjunction is empty as soon as one step is, and ICMP fields only ever come with
        protocols equal to the family's ICMP protocol (so the final compatibility check is
        the stepwise one)."""
        f = self.family
        for opt, args, neg in self.deferred:
            alts = self._port_or_icmp(opt, args, neg)  # may raise _Unsupported
            if isinstance(alts, dict):
                for name, value in alts.items():
                    self.meet(name, value)
            elif len(alts) == 1:
                self._meet_match(alts[0])
            else:
                self.parts.append(alts)
        box = self.box
        if (box.get("icmp_types") is not None or box.get("icmp_codes") is not None) and (
            box.get("protocols") != R.single(icmp_protocol(f))
        ):
            return ()
        base = Match(family=f, in_iface=tuple(self.in_iface), out_iface=tuple(self.out_iface),
                     **box)
        if base.is_empty:
            return ()
        if not self.parts:
            return (base,)
        return common.conjoin([(base,), *self.parts])

    def _meet_match(self, m: Match) -> None:
        """Meet a one-box condition given as a ``Match`` (ports, ICMP: family-free or of the
        rule's family, no interface conditions)."""
        if m.family is not None and m.family != self.family:
            self.parts.append(())
            return
        for name in _BOX_FIELDS:
            value = getattr(m, name)
            if value is not None:
                self.meet(name, value)

    def _port_or_icmp(
        self, opt: str, args: list[str], neg: bool,
    ) -> tuple[Match, ...] | dict[str, R.Ranges]:
        f = self.family
        prots = self.protocols
        if opt in ("--icmp-type", "--icmpv6-type"):
            want = 4 if opt == "--icmp-type" else 6
            icmp = icmp_protocol(want)
            if want != f or prots != R.single(icmp) or self.proto_negated:
                raise SpecError(f"{opt} needs -p {'icmp' if want == 4 else 'ipv6-icmp'}")
            try:
                tc = common.icmp_type_code(args[0], f)
            except ValueError as exc:
                raise SpecError(str(exc)) from exc
            base = Match(family=f, protocols=prots)
            if tc is None:
                return () if neg else (base,)
            t, lo, hi = tc
            if not neg:
                return (Match(family=f, protocols=prots, icmp_types=R.single(t),
                              icmp_codes=R.single(lo, hi)),)
            out = [Match(family=f, protocols=prots,
                         icmp_types=R.complement(R.single(t), R.ICMP_MAX))]
            codes = R.complement(R.single(lo, hi), R.ICMP_MAX)
            if codes:
                out.append(Match(family=f, protocols=prots, icmp_types=R.single(t),
                                 icmp_codes=codes))
            return tuple(out)
        if opt == "--need-tcp":
            if prots != R.single(6) or self.proto_negated:
                raise SpecError("--syn needs -p tcp")
            return (Match(),)
        if (prots is None or self.proto_negated or len(prots) != 1 or prots[0][0] != prots[0][1]
                or prots[0][0] not in PORT_PROTOCOLS):
            raise SpecError(f"{opt} needs -p tcp, udp, sctp, dccp or udplite")
        multiport = opt in ("--dports", "--destination-ports", "--sports", "--source-ports",
                            "--ports")
        try:
            items = [common.port_ranges(a) for a in args[0].split(",")]
        except ValueError as exc:
            raise SpecError(str(exc)) from exc
        if multiport and any(":" in a and r[0][0] >= r[0][1]
                             for a, r in zip(args[0].split(","), items, strict=True)):
            raise SpecError("invalid port range in multiport (need low < high)")
        ports = items[0] if len(items) == 1 else R.normalize(iv for r in items for iv in r)
        if opt in ("--dports", "--destination-ports", "--sports", "--source-ports", "--ports") and (
            sum(2 if ":" in a else 1 for a in args[0].split(",")) > 15
        ):
            raise SpecError("multiport accepts at most 15 ports")
        inv = R.complement(ports, R.PORT_MAX)
        if neg and not multiport and not inv:  # "! --dport 0:65535": backends differ
            if self.backend == "nft":
                return (Match(protocols=prots),)
            if self.backend is None:
                raise _Unsupported(f"'! {opt} {args[0]}' negates every port: iptables-nft "
                                   "ignores it (all ports), iptables-legacy matches nothing, "
                                   "and the export does not say which backend")
        sel = inv if neg else ports
        if opt == "--ports":
            if neg:
                return (Match(protocols=prots, sports=inv, dports=inv),)
            return (Match(protocols=prots, sports=ports), Match(protocols=prots, dports=ports))
        side = "sports" if opt in ("--sport", "--source-port", "--sports", "--source-ports") else (
            "dports")
        return {"protocols": prots, side: sel}  # one box: met field-wise by ``build``
