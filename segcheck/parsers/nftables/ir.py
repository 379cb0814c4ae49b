"""The nftables intermediate form both readers (text, JSON) produce, and its meaning as boxes.

A rule is a conjunction of ``Cond``s (``selector op value-set``), then statements, then at
most one verdict (or a verdict map). ``cond_matches`` gives a condition's meaning as a
disjunction of ``Match`` boxes; the semantics checklist (STYLE.md habit 5):

- family: ``ip saddr``/``ip protocol``/``icmp`` imply IPv4, ``ip6 ...``/``icmpv6`` IPv6;
  ``meta l4proto``, ``tcp dport``, ``ct state``, interfaces apply to both (in ``inet``).
- ``tcp dport X`` implies ``meta l4proto tcp`` (nft adds that dependency); ``th dport X``
  is modelled on the protocols that have ports (the kernel reads those bytes of any
  transport header; for ICMP they are the checksum, which we do not model).
- a set/anonymous set on one selector is the union of its elements; ``!=`` complements
  inside the field's domain (a single box). A concatenation ``a . b { x . y, ... }`` is one
  box per element; ``!=`` on a concatenation is not a box and is rejected as unsupported.
- interface names: ``"eth*"`` is a prefix wildcard (``IfaceMatch`` ``eth+``); ``iif``/``oif``
  (index at load time) are treated like ``iifname``/``oifname``.
- ``ct state`` names the conntrack states; ``!= { a, b }`` is the complement over all
  states, but a bare list ``!= a,b`` is what nft compiles it to: "state != a|b", true for
  every packet (a packet has one state).
- ICMP type names follow nft (type only, any code).
- ``ip6 nexthdr`` is the first next header; it equals the transport protocol for packets
  without extension headers, which is the packet model here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from segcheck.model import ranges as R
from segcheck.model.packet import PORT_PROTOCOLS, STATES, protocol_number
from segcheck.model.rules import IfaceMatch, Match
from segcheck.model.source import SourceSpan
from segcheck.parsers import common


@dataclass(frozen=True, slots=True)
class Value:
    """One literal: ``lit`` (a word: address, prefix, number, name), ``range`` a-b."""

    kind: str
    a: str
    b: str = ""


Elem = tuple[Value, ...]
"""One set element: one value per concatenated selector."""


@dataclass
class Cond:
    keys: tuple[str, ...]
    """Selectors, e.g. ``("ip saddr",)`` or ``("ip daddr", "tcp dport")``."""
    op: str
    """``==``, ``!=``, ``<``, ``>``, ``<=``, ``>=``."""
    elems: tuple[Elem, ...] = ()
    setref: str = ""
    """A named set (without ``@``) instead of ``elems``."""
    mask: tuple[str, ...] | None = None
    """``tcp flags & (a|b) == v`` / ``tcp flags v / a,b``: the flag names of the mask."""
    flaglist: bool = False
    """The value was a bare flag list (``new,established`` / ``new | established``), not a
    braced set: for ``!=`` nft compiles it to "value != a|b", see ``_single``."""


@dataclass
class Verdict:
    kind: str
    """accept, drop, reject, return, jump, goto, continue, queue."""
    target: str = ""
    detail: str = ""


@dataclass
class NRule:
    span: SourceSpan
    conds: list[Cond] = field(default_factory=list)
    verdict: Verdict | None = None
    vmap: tuple[tuple[str, ...], list[tuple[Elem, Verdict]] | str] | None = None
    problem: str = ""
    comment: str = ""
    nat: str = ""
    notrack: bool = False


@dataclass
class NSet:
    name: str
    elems: list[Elem] = field(default_factory=list)
    verdicts: list[Verdict] | None = None
    span: SourceSpan | None = None
    problem: str = ""


@dataclass
class NChain:
    name: str
    span: SourceSpan
    type: str = ""
    hook: str = ""
    priority: int = 0
    policy: str = ""
    policy_span: SourceSpan | None = None
    device: str = ""
    rules: list[NRule] = field(default_factory=list)

    @property
    def base(self) -> bool:
        return bool(self.hook)


@dataclass
class NTable:
    family: str
    name: str
    span: SourceSpan
    chains: dict[str, NChain] = field(default_factory=dict)
    sets: dict[str, NSet] = field(default_factory=dict)


HOOKS = frozenset({"prerouting", "input", "forward", "output", "postrouting", "ingress",
                   "egress"})
"""The netfilter hooks a base chain may name (nft refuses any other)."""

PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50,
              "srcnat": 100, "out": 100, "in": -200}

NFT_ICMP = {"echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, "redirect": 5,
            "echo-request": 8, "router-advertisement": 9, "router-solicitation": 10,
            "time-exceeded": 11, "parameter-problem": 12, "timestamp-request": 13,
            "timestamp-reply": 14, "info-request": 15, "info-reply": 16,
            "address-mask-request": 17, "address-mask-reply": 18}
NFT_ICMPV6 = {k: v[0] for k, v in common.ICMPV6_NAMES.items()}
NFT_ICMP_CODES = {"net-unreachable": 0, "host-unreachable": 1, "prot-unreachable": 2,
                  "port-unreachable": 3, "frag-needed": 4, "net-prohibited": 9,
                  "host-prohibited": 10, "admin-prohibited": 13}
NFT_ICMPV6_CODES = {"no-route": 0, "admin-prohibited": 1, "addr-unreachable": 3,
                    "port-unreachable": 4, "policy-fail": 5, "reject-route": 6}
STATE_NAMES = frozenset(STATES)

ADDR_KEYS = {"ip saddr": (4, "src"), "ip daddr": (4, "dst"), "ip6 saddr": (6, "src"),
             "ip6 daddr": (6, "dst")}
PORT_KEYS = {f"{p} {d}": (proto, d[0]) for p, proto in
             (("tcp", 6), ("udp", 17), ("sctp", 132), ("dccp", 33), ("udplite", 136), ("th", 0))
             for d in ("sport", "dport")}
PROTO_KEYS = {"meta l4proto": None, "ip protocol": 4, "ip6 nexthdr": 6}
ICMP_KEYS = {"icmp type": (4, "type"), "icmp code": (4, "code"), "icmpv6 type": (6, "type"),
             "icmpv6 code": (6, "code")}
IFACE_KEYS = {"meta iifname": "in", "meta oifname": "out", "meta iif": "in", "meta oif": "out"}
KNOWN_KEYS = (set(ADDR_KEYS) | set(PORT_KEYS) | set(PROTO_KEYS) | set(ICMP_KEYS)
              | set(IFACE_KEYS) | {"ct state", "meta nfproto"})
SHORT = {"iifname": "meta iifname", "oifname": "meta oifname", "iif": "meta iif",
         "oif": "meta oif", "l4proto": "meta l4proto", "nfproto": "meta nfproto"}


class Unsupported(ValueError):
    """A condition segcheck cannot model (the rule is dropped with a diagnostic)."""


def _proto(v: str) -> int:
    p = protocol_number(v)
    if p is None:
        raise ValueError(f"unknown protocol {v!r}")
    return p


def _field_ranges(key: str, values: list[Value]) -> R.Ranges:
    """The union of ``values`` in the integer domain of ``key``."""
    out: list[tuple[int, int]] = []
    for v in values:
        if key in ADDR_KEYS:
            fam = ADDR_KEYS[key][0]
            text = f"{v.a}-{v.b}" if v.kind == "range" else v.a
            out.extend(common.address_ranges(text, fam))
        elif key in PORT_KEYS:
            lo = common.port_number(v.a)
            out.append((lo, common.port_number(v.b) if v.kind == "range" else lo))
        elif key in PROTO_KEYS:
            lo = _proto(v.a)
            out.append((lo, _proto(v.b) if v.kind == "range" else lo))
        elif key in ICMP_KEYS:
            fam, what = ICMP_KEYS[key]
            if what == "type":
                names = NFT_ICMP if fam == 4 else NFT_ICMPV6
            else:
                names = NFT_ICMP_CODES if fam == 4 else NFT_ICMPV6_CODES

            lo = _icmp_number(v.a, names, what)
            out.append((lo, _icmp_number(v.b, names, what) if v.kind == "range" else lo))
        else:
            raise Unsupported(f"selector {key!r} is not supported")
    return R.normalize(out)


def _icmp_number(s: str, names: dict[str, int], what: str) -> int:
    if s in names:
        return names[s]
    if s.isdigit() and int(s) <= 255:
        return int(s)
    raise ValueError(f"unknown ICMP {what} {s!r}")


def _maximum(key: str) -> int:
    if key in ADDR_KEYS:
        return (1 << R.ADDRESS_BITS[ADDR_KEYS[key][0]]) - 1
    if key in PORT_KEYS:
        return R.PORT_MAX
    return 255


def _box(key: str, rs: R.Ranges) -> Match:
    if key in ADDR_KEYS:
        fam, side = ADDR_KEYS[key]
        return common.addr_match(fam, side, rs)
    if key in PORT_KEYS:
        proto, side = PORT_KEYS[key]
        prots = R.single(proto) if proto else R.normalize((p, p) for p in PORT_PROTOCOLS)
        return common.port_match(prots, "src" if side == "s" else "dst", rs)
    if key in PROTO_KEYS:
        return Match(family=PROTO_KEYS[key], protocols=rs)
    fam, what = ICMP_KEYS[key]
    prot = R.single(1 if fam == 4 else 58)
    if what == "type":
        return Match(family=fam, protocols=prot, icmp_types=rs)
    return Match(family=fam, protocols=prot, icmp_codes=rs)


def _single(key: str, op: str, values: list[Value], flaglist: bool = False) -> Match:
    """One selector against a set of values (``==``/``!=``) or a bound (``<`` ...)."""
    if key == "ct state":
        names = set()
        for v in values:
            for s in re.split(r"\s*[,|]\s*", v.a):
                if s not in STATE_NAMES:
                    raise ValueError(f"unknown ct state {s!r}")
                names.add(s)
        if op == "!=" and flaglist and len(names) > 1:
            # nft compiles "ct state != a,b" to "state != (a|b)": one state is one bit, so
            # this holds for every packet (checked against the kernel with nft 1.0.6).
            return Match()
        return Match(states=frozenset(STATES - names) if op == "!=" else frozenset(names))
    if key in IFACE_KEYS:
        if any(v.kind != "lit" for v in values):
            raise ValueError("interface names cannot be ranges")
        pats = tuple(v.a[:-1] + "+" if v.a.endswith("*") and not v.a.endswith("\\*") else v.a
                     for v in values)
        cond = (IfaceMatch(names=pats, negate=op == "!="),)
        return Match(in_iface=cond) if IFACE_KEYS[key] == "in" else Match(out_iface=cond)
    if key == "meta nfproto":
        fams = {4 if v.a in ("ipv4", "2") else 6 if v.a in ("ipv6", "10") else 0 for v in values}
        if 0 in fams:
            raise ValueError("meta nfproto must be ipv4 or ipv6")
        if op == "!=":
            fams = {4, 6} - fams
        if len(fams) != 1:
            return Match() if fams else Match(protocols=())
        return Match(family=fams.pop())
    rs = _field_ranges(key, values)
    top = _maximum(key)
    if op in ("<", "<=", ">", ">="):
        if len(values) != 1 or len(rs) != 1 or rs[0][0] != rs[0][1]:
            raise ValueError(f"'{op}' needs a single value")
        n = rs[0][0]
        rs = {"<": R.single(0, n - 1) if n else (), "<=": R.single(0, n),
              ">": R.single(n + 1, top) if n < top else (), ">=": R.single(n, top)}[op]
    elif op == "!=":
        rs = R.complement(rs, top)
    return _box(key, rs)


def cond_matches(cond: Cond, sets: dict[str, NSet]) -> tuple[Match, ...]:
    """The meaning of one condition as a disjunction of boxes (see module docstring)."""
    keys = tuple(SHORT.get(k, k) for k in cond.keys)
    if keys == ("tcp flags",):
        return (_tcp_flags(cond),)
    for k in keys:
        if k not in KNOWN_KEYS:
            raise Unsupported(f"selector {k!r} is not supported")
    elems = cond.elems
    if cond.setref:
        s = sets.get(cond.setref)
        if s is None:
            raise ValueError(f"set @{cond.setref} is not defined")
        if s.problem:
            raise Unsupported(f"set @{cond.setref}: {s.problem}")
        elems = tuple(s.elems)
    if any(len(e) != len(keys) for e in elems):
        raise ValueError("set elements do not match the concatenation")
    if len(keys) == 1:
        return (_single(keys[0], cond.op, [e[0] for e in elems], cond.flaglist),)
    if cond.op != "==":
        raise Unsupported(f"'{cond.op}' on a concatenation is not supported")
    out: list[Match] = []
    for e in elems:
        parts = [(_single(k, "==", [v]),) for k, v in zip(keys, e, strict=True)]
        out.extend(common.conjoin(parts))
    return tuple(out)


def _tcp_flags(cond: Cond) -> Match:
    """``tcp flags & (...syn...ack...) == syn`` — "a SYN without ACK" — is modelled as the
    connection-initiating packet (``states == {new}``), exactly like iptables ``--syn``;
    ``!=`` as every other state. Other flag tests are not modelled."""
    values = {f for e in cond.elems for v in e for f in re.split(r"[|,]", v.a) if f}
    mask = set(cond.mask or ())
    if cond.setref or values != {"syn"} or not {"syn", "ack"} <= mask \
            or cond.op not in ("==", "!="):
        raise Unsupported("this 'tcp flags' test is not supported (only the SYN-without-ACK "
                          "test under a mask with syn and ack)")
    states = frozenset({"new"}) if cond.op == "==" else frozenset(STATES - {"new"})
    return Match(protocols=R.single(6), states=states)


def elem_matches(keys: tuple[str, ...], elem: Elem, sets: dict[str, NSet]) -> tuple[Match, ...]:
    """One verdict-map key as boxes."""
    return cond_matches(Cond(keys, "==", (elem,)), sets)


_ADJACENT = [("ip saddr", "ip daddr"), ("icmp type", "icmp code"), ("icmpv6 type", "icmpv6 code")] \
    + [(f"{p} sport", f"{p} dport") for p in ("tcp", "udp", "sctp", "dccp", "udplite", "th")]


def merged_neq_pairs(conds: list[Cond]) -> list[tuple[Cond, Cond]]:
    """Pairs of conditions that nft before 1.1.0 merges into one ``!=`` comparison.

    nft joins payload matches on byte-adjacent header fields with the same operator into one
    load and compare. For ``==`` that is harmless; for ``!=`` it turns "a differs and b
    differs" into "(a, b) differs", i.e. *either* differs (checked against the kernel with
    nft 1.0.6; fixed upstream in 2024). Only single plain values merge (not sets, ranges or
    prefixes)."""
    single: dict[str, list[Cond]] = {}
    for c in conds:
        if len(c.keys) == 1:
            single.setdefault(SHORT.get(c.keys[0], c.keys[0]), []).append(c)
    out = []
    for a, b in _ADJACENT:
        ca, cb = single.get(a, []), single.get(b, [])
        if len(ca) == 1 and len(cb) == 1 and _plain_neq(ca[0]) and _plain_neq(cb[0]):
            out.append((ca[0], cb[0]))
    return out


def _plain_neq(c: Cond) -> bool:
    return (c.op == "!=" and not c.setref and not c.flaglist and len(c.elems) == 1
            and len(c.elems[0]) == 1 and c.elems[0][0].kind == "lit"
            and "/" not in c.elems[0][0].a)


def merges_neq(version: str | None) -> bool | None:
    """Whether that nft version merges ``!=`` pairs (None: unknown version)."""
    if not version:
        return None
    m = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", version.strip())
    if m is None:
        return None
    return (int(m.group(1)), int(m.group(2))) < (1, 1)
