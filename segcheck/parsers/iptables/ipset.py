"""``ipset save`` output: the sets that ``-m set --match-set NAME src|dst`` refers to.

Supported set types (each element becomes a ``Match`` box; a set is their disjunction):

- ``hash:ip``, ``hash:net``, ``bitmap:ip`` — one address dimension (``nomatch`` entries of
  ``hash:net`` are exceptions and are subtracted exactly, since one dimension complements);
- ``hash:ip,port``, ``hash:net,port`` — address plus ``proto:port`` (ports default to tcp;
  ``icmp:type/code`` is accepted).

Other types (``hash:ip,port,ip``, ``list:set``, ``hash:mac``...) are recorded as unsupported:
a rule naming them is dropped with a diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segcheck.model import ranges as R
from segcheck.model.packet import protocol_number
from segcheck.model.rules import Match
from segcheck.parsers import common

SUPPORTED = frozenset({"hash:ip", "hash:net", "bitmap:ip", "hash:ip,port", "hash:net,port"})


@dataclass
class IpSet:
    name: str
    kind: str
    family: int
    line: int
    elements: list[tuple[R.Ranges, int | None, R.Ranges | None]] = field(default_factory=list)
    """(addresses, protocol or None, ports/ICMP ranges or None) per element."""
    nomatch: list[R.Ranges] = field(default_factory=list)
    error: str = ""

    @property
    def dims(self) -> int:
        return 2 if self.kind.endswith(",port") else 1

    def matches(self, direction: str, port_direction: str | None = None) -> tuple[Match, ...]:
        """The set as a disjunction of matches: addresses on ``direction`` (``src``/``dst``),
        ports on ``port_direction`` (defaults to ``direction``)."""
        out: list[Match] = []
        side = "src" if direction == "src" else "dst"
        pside = port_direction or direction
        if self.dims == 1:
            allr = R.normalize(iv for addr, _, _ in self.elements for iv in addr)
            for ex in self.nomatch:
                allr = R.intersect(allr, R.complement(ex, (1 << R.ADDRESS_BITS[self.family]) - 1))
            return (common.addr_match(self.family, side, allr),)
        for addr, proto, ports in self.elements:
            m = common.addr_match(self.family, side, addr)
            if proto is not None:
                if ports is None:
                    extra = Match(protocols=R.single(proto))
                elif proto in (1, 58):
                    extra = Match(family=self.family, protocols=R.single(proto), icmp_types=ports)
                else:
                    extra = common.port_match(R.single(proto), pside, ports)
                both = m.intersect(extra)
                if both is None:
                    continue
                m = both
            out.append(m)
        return tuple(out)


def parse_ipsets(text: str) -> dict[str, IpSet]:
    """Sets defined by ``create``/``add`` lines (other lines are ignored)."""
    sets: dict[str, IpSet] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        words = raw.split()
        if len(words) >= 3 and words[0] == "create":
            family = 6 if "inet6" in words[3:] else 4
            sets[words[1]] = IpSet(words[1], words[2], family, lineno)
            if words[2] not in SUPPORTED:
                sets[words[1]].error = f"ipset type {words[2]} is not supported"
        elif len(words) >= 3 and words[0] == "add" and words[1] in sets:
            s = sets[words[1]]
            if s.error:
                continue
            try:
                _add(s, words[2], "nomatch" in words[3:])
            except ValueError as exc:
                s.error = f"line {lineno}: {exc}"
    return sets


def _add(s: IpSet, elem: str, nomatch: bool) -> None:
    addr_s, _, port_s = elem.partition(",")
    addr = common.address_ranges(addr_s, s.family)
    if nomatch:
        if s.dims != 1:
            raise ValueError("nomatch entries are only supported in one-dimensional sets")
        s.nomatch.append(addr)
        return
    if s.dims == 1:
        s.elements.append((addr, None, None))
        return
    proto_s, sep, p = port_s.partition(":")
    if not sep:
        proto_s, p = "tcp", port_s
    proto = protocol_number(proto_s)
    if proto is None:
        raise ValueError(f"unknown protocol {proto_s!r}")
    if proto == 1 and s.family == 6:
        proto = 58
    if proto in (1, 58):
        tc = common.icmp_type_code(p, s.family)
        if tc is not None and (tc[1], tc[2]) != (0, 255):
            raise ValueError(f"ICMP codes in set elements are not supported: {elem!r}")
        s.elements.append((addr, proto, None if tc is None else R.single(tc[0])))
    elif p in ("", "0") and proto not in (6, 17, 132, 33, 136):
        s.elements.append((addr, proto, None))
    else:
        s.elements.append((addr, proto, common.port_ranges(p, "-")))
