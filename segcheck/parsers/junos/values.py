"""Parsing context and leaf values shared by the JunOS firewall-filter and SRX converters."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from segcheck.model import ranges as R
from segcheck.model.packet import protocol_number
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers.junos import tables as T
from segcheck.parsers.junos.lexer import Statement

VENDOR = "junos"

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class Ctx:
    """Where diagnostics go while one file is converted."""

    path: str
    diags: list[Diagnostic] = field(default_factory=list)

    def span(self, st: Statement) -> SourceSpan:
        return SourceSpan(self.path, st.line, st.text)

    def diag(self, level: Level, msg: str, st: Statement | None, code: str) -> None:
        self.diags.append(
            Diagnostic(level, msg, self.span(st) if st else None, f"{VENDOR}.{code}"))


def network(text: str) -> Net | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def number_range(text: str, names: dict[str, int], maximum: int) -> tuple[int, int] | None:
    """``80``, ``8000-8080``, or a name -> an inclusive interval (None when not understood)."""
    if text in names:
        n = names[text]
        return n, n
    lo, sep, hi = text.partition("-")
    if lo.isdigit() and (not sep or hi.isdigit()):
        a, b = int(lo), int(hi) if sep else int(lo)
        if 0 <= a <= b <= maximum:
            return a, b
    return None


def port_range(text: str) -> tuple[int, int] | None:
    return number_range(text, T.PORT_NAMES, R.PORT_MAX)


def proto_range(text: str) -> tuple[int, int] | None:
    t = text.lower()
    aliases = {"icmp6": 58, "icmpv6": 58, "ipip": 4, "ah": 51, "esp": 50, "hop-by-hop": 0,
               "routing": 43, "fragment": 44, "dstopts": 60, "no-next-header": 59,
               "mobility": 135, "egp": 8, "rsvp": 46, "pim": 103, "vrrp": 112}
    if t in aliases:
        return aliases[t], aliases[t]
    n = protocol_number(t)
    if n is not None:
        return n, n
    return number_range(t, {}, R.PROTO_MAX)


def icmp_range(text: str, family: int) -> tuple[int, int] | None:
    return number_range(text, T.ICMP4 if family == 4 else T.ICMP6, R.ICMP_MAX)


def longest_prefix(entries: list[tuple[Net, bool]], family: int) -> R.Ranges:
    """JunOS address lists: the most specific listed prefix containing the address decides,
    ``except`` prefixes excluding. Applying prefixes from shortest to longest (union for
    plain, difference for ``except``) yields exactly that, since prefixes nest or are
    disjoint."""
    acc: R.Ranges = ()
    top = (1 << (32 if family == 4 else 128)) - 1
    for net, exc in sorted((e for e in entries if e[0].version == family),
                           key=lambda e: e[0].prefixlen):
        r = (R.network_range(net),)
        if exc:
            acc = R.intersect(acc, R.complement(r, top))
        else:
            acc = R.normalize(acc + r)
    return acc
