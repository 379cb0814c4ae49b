"""A concrete packet: the unit of ``query`` answers, witnesses and brute-force oracles.

Canonical form (the engine and every test rely on it): fields that do not apply to the
protocol are 0. Ports apply to ``PORT_PROTOCOLS``; ICMP type/code apply to ICMP (proto 1)
in IPv4 and ICMPv6 (proto 58) in IPv6. So ``Packet(4, s, d, 1, 0, 0, 8, 0)`` is an echo
request, and a GRE packet has all four fields 0.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

PROTOCOL_NUMBERS: dict[str, int] = {
    "icmp": 1, "igmp": 2, "ipip": 4, "ipencap": 4, "tcp": 6, "egp": 8, "igp": 9, "udp": 17,
    "ipv6": 41, "ipv6-route": 43, "ipv6-frag": 44, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51,
    "icmpv6": 58, "ipv6-icmp": 58, "icmp6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60,
    "eigrp": 88, "ospf": 89, "ospfigp": 89, "pim": 103, "vrrp": 112, "l2tp": 115,
    "sctp": 132, "dccp": 33, "udplite": 136, "mpls-in-ip": 137,
}
PROTOCOL_NAMES: dict[int, str] = {
    1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre", 50: "esp",
    51: "ah", 58: "icmpv6", 88: "eigrp", 89: "ospf", 103: "pim", 112: "vrrp", 132: "sctp",
    33: "dccp", 136: "udplite",
}
TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
PORT_PROTOCOLS = frozenset({6, 17, 33, 132, 136})
"""Protocols whose packets carry source and destination ports."""

STATES = frozenset({"new", "established", "related", "invalid", "untracked"})
"""Connection-tracking states a rule may match; analysis considers ``new`` packets."""


def icmp_protocol(version: int) -> int:
    return ICMP if version == 4 else ICMPV6


def has_ports(proto: int) -> bool:
    return proto in PORT_PROTOCOLS


def has_icmp_fields(version: int, proto: int) -> bool:
    return proto == icmp_protocol(version)


def protocol_number(name: str) -> int | None:
    """A protocol name or decimal number -> its number (None if unknown or out of range)."""
    key = name.strip().lower()
    if key.isdigit():
        n = int(key)
        return n if 0 <= n <= 255 else None
    return PROTOCOL_NUMBERS.get(key)


def _address(version: int, value: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)


def protocol_name(number: int) -> str:
    return PROTOCOL_NAMES.get(number, str(number))


@dataclass(frozen=True, slots=True, order=True)
class Packet:
    """One connection-initiating packet header (canonical: see module docstring)."""

    version: int
    src: int
    dst: int
    proto: int
    sport: int = 0
    dport: int = 0
    icmp_type: int = 0
    icmp_code: int = 0

    def __post_init__(self) -> None:
        if self.version not in (4, 6):
            raise ValueError(f"bad IP version {self.version}")
        top = (1 << (32 if self.version == 4 else 128)) - 1
        if not (0 <= self.src <= top and 0 <= self.dst <= top):
            raise ValueError("address out of range for its family")
        if not 0 <= self.proto <= 255:
            raise ValueError(f"bad protocol {self.proto}")
        if not has_ports(self.proto) and (self.sport or self.dport):
            raise ValueError(f"protocol {self.proto} has no ports")
        if not has_icmp_fields(self.version, self.proto) and (self.icmp_type or self.icmp_code):
            raise ValueError(f"protocol {self.proto} has no ICMP type/code")
        if not (0 <= self.sport <= 65535 and 0 <= self.dport <= 65535):
            raise ValueError("port out of range")
        if not (0 <= self.icmp_type <= 255 and 0 <= self.icmp_code <= 255):
            raise ValueError("ICMP type/code out of range")

    @classmethod
    def unchecked(cls, version: int, src: int, dst: int, proto: int, sport: int = 0,
                  dport: int = 0, icmp_type: int = 0, icmp_code: int = 0) -> Packet:
        """A packet from fields the caller has already checked exactly as ``__post_init__``
        does (about half the cost of the checked constructor). Only for decoders of bulk
        input that validate every field themselves (``query``'s reader); the caller's
        checks are tested against the checked constructor."""
        p = object.__new__(cls)
        put = object.__setattr__
        put(p, "version", version)
        put(p, "src", src)
        put(p, "dst", dst)
        put(p, "proto", proto)
        put(p, "sport", sport)
        put(p, "dport", dport)
        put(p, "icmp_type", icmp_type)
        put(p, "icmp_code", icmp_code)
        return p

    @property
    def src_ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return _address(self.version, self.src)

    @property
    def dst_ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return _address(self.version, self.dst)

    @classmethod
    def make(
        cls,
        src: str,
        dst: str,
        proto: str | int,
        sport: int = 0,
        dport: int = 0,
        icmp_type: int = 0,
        icmp_code: int = 0,
    ) -> Packet:
        """Build from textual addresses and a protocol name or number."""
        s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        if s.version != d.version:
            raise ValueError("source and destination are of different IP versions")
        p = proto if isinstance(proto, int) else protocol_number(proto)
        if p is None:
            raise ValueError(f"unknown protocol {proto!r}")
        if s.version == 6 and p == ICMP and isinstance(proto, str) and proto.lower() == "icmp":
            p = ICMPV6
        return cls(s.version, int(s), int(d), p, sport, dport, icmp_type, icmp_code)

    def to_json(self) -> dict[str, object]:
        """The DESIGN.md §4 packet shape (``query`` input, finding witnesses)."""
        out: dict[str, object] = {
            "src": str(self.src_ip),
            "dst": str(self.dst_ip),
            "proto": protocol_name(self.proto),
        }
        if has_ports(self.proto):
            out["sport"] = self.sport
            out["dport"] = self.dport
        if has_icmp_fields(self.version, self.proto):
            out["icmp_type"] = self.icmp_type
            out["icmp_code"] = self.icmp_code
        return out

    def __str__(self) -> str:
        name = protocol_name(self.proto)
        if has_ports(self.proto):
            return f"{name} {self.src_ip}:{self.sport} -> {self.dst_ip}:{self.dport}"
        if has_icmp_fields(self.version, self.proto):
            kind = f"type {self.icmp_type} code {self.icmp_code}"
            return f"{name} {self.src_ip} -> {self.dst_ip} {kind}"
        return f"{name} {self.src_ip} -> {self.dst_ip}"
