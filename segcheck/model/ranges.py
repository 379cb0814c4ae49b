"""Sorted, merged tuples of inclusive integer intervals: the field constraints of a ``Match``.

A ``Ranges`` value is a tuple ``((lo, hi), ...)`` with ``lo <= hi``, sorted, and with no two
intervals overlapping or touching (``normalize`` establishes this). The empty tuple is the
empty set. Addresses are plain ints in their family's space (IPv4 32 bits, IPv6 128 bits).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Ranges = tuple[tuple[int, int], ...]

ADDRESS_BITS = {4: 32, 6: 128}
PORT_MAX = 65535
PROTO_MAX = 255
ICMP_MAX = 255


def normalize(intervals: Iterable[tuple[int, int]]) -> Ranges:
    """Sort and merge overlapping or adjacent intervals; drop empty ones (lo > hi)."""
    items = sorted((lo, hi) for lo, hi in intervals if lo <= hi)
    out: list[tuple[int, int]] = []
    for lo, hi in items:
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def complement(ranges: Ranges, maximum: int) -> Ranges:
    """The intervals of ``[0, maximum]`` not covered by ``ranges`` (which must be normalized)."""
    out: list[tuple[int, int]] = []
    nxt = 0
    for lo, hi in ranges:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = max(nxt, hi + 1)
    if nxt <= maximum:
        out.append((nxt, maximum))
    return tuple(out)


def intersect(a: Ranges, b: Ranges) -> Ranges:
    """Intersection of two normalized range tuples."""
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def contains(ranges: Ranges, value: int) -> bool:
    """Membership by binary search (ranges normalized)."""
    lo, hi = 0, len(ranges) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        a, b = ranges[mid]
        if value < a:
            hi = mid - 1
        elif value > b:
            lo = mid + 1
        else:
            return True
    return False


def single(lo: int, hi: int | None = None) -> Ranges:
    return ((lo, lo if hi is None else hi),)


def network_range(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


def from_networks(
    nets: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> Ranges:
    """Address ranges covered by ``nets`` (all of one family, not checked here)."""
    return normalize(network_range(n) for n in nets)


def to_networks(
    ranges: Ranges, version: int
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The minimal CIDR cover of ``ranges`` (exact: the union of the result equals ``ranges``)."""
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    out: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for lo, hi in ranges:
        out.extend(ipaddress.summarize_address_range(cls(lo), cls(hi)))
    return out


def size(ranges: Ranges) -> int:
    return sum(hi - lo + 1 for lo, hi in ranges)
