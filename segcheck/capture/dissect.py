"""Link, network and transport header decoding by byte indexing (the per-frame fast path).

``dissect(data, off, end, linktype)`` returns either a ``Dissected`` tuple or a string:

* ``Dissected`` = ``(version, src, dst, proto, sport, dport, tcp_flags, payload_off,
  payload_end, frag, src_mac)`` where ``version`` is 4 or 6 (``src``/``dst`` are the packed
  4- or 16-byte addresses) or 0 for an L2 ICS frame (``src``/``dst`` are MACs, ``proto`` is
  the ethertype). ``frag`` is None, or ``(ident, first, more)`` for an IP fragment; a
  non-first fragment has ``sport == dport == -1`` (its ports live in the first fragment).
* ``"non-ip:<name>"`` for frames that carry no IP and no ICS ethertype (ARP, LLDP, STP…);
* ``"bad:<reason>"`` for truncated or undecodable frames.

Strings are counted by the caller; nothing is dropped silently. Invariant: offsets never
exceed ``end`` (the captured length), and ``payload_end`` is clipped by the IP length so
Ethernet padding is never payload.

Link types: 1 Ethernet (802.1Q/802.1ad/0x9100 tags, MPLS, PPPoE session, LLC/SNAP), 113
Linux SLL, 276 SLL2, 101/12/14 raw IP, 228 raw IPv4, 229 raw IPv6, 0 BSD null, 108 OpenBSD
loop. ERSPAN (GRE 0x88BE type II, 0x22EB type III) is decapsulated to the mirrored frame.
"""

from __future__ import annotations

import mmap

from segcheck.capture.tables import L2_ICS_ETHERTYPES, NON_IP_NAMES

Buffer = mmap.mmap | bytes
Dissected = tuple[int, bytes, bytes, int, int, int, int, int, int,
                  tuple[int, bool, bool] | None, bytes | None]
Result = Dissected | str

VLAN_TPIDS = frozenset({0x8100, 0x88A8, 0x9100, 0x9200})
PORT_PROTOS = frozenset({6, 17, 33, 132, 136})
IPV6_EXT = frozenset({0, 43, 60, 135, 139, 140})
RAW_IP_LINKTYPES = frozenset({101, 12, 14, 228, 229})
MAX_DEPTH = 4


def dissect(data: Buffer, off: int, end: int, lt: int, depth: int = 0) -> Result:
    """Decode one frame of link type ``lt`` occupying ``data[off:end]``."""
    if lt == 1:
        if off + 14 > end:
            return "bad:truncated ethernet header"
        et = data[off + 12] << 8 | data[off + 13]
        return ethertype(data, off + 14, end, et, data[off + 6:off + 12], data[off:off + 6], depth)
    if lt in RAW_IP_LINKTYPES:
        return _ip_any(data, off, end, None)
    if lt == 113:
        if off + 16 > end:
            return "bad:truncated SLL header"
        alen = min(data[off + 4] << 8 | data[off + 5], 8)
        et = data[off + 14] << 8 | data[off + 15]
        return ethertype(data, off + 16, end, et, data[off + 6:off + 6 + alen], b"", depth)
    if lt == 276:
        if off + 20 > end:
            return "bad:truncated SLL2 header"
        alen = min(data[off + 11], 8)
        et = data[off] << 8 | data[off + 1]
        return ethertype(data, off + 20, end, et, data[off + 12:off + 12 + alen], b"", depth)
    if lt in (0, 108):
        if off + 4 > end:
            return "bad:truncated loopback header"
        raw = data[off:off + 4]
        fam = int.from_bytes(raw, "big" if lt == 108 else "little")
        if fam > 0xFFFF:  # DLT_NULL written on a host of the other byte order
            fam = int.from_bytes(raw, "little" if lt == 108 else "big")
        if fam == 2:
            return ipv4(data, off + 4, end, None)
        if fam in (10, 23, 24, 28, 30):
            return ipv6(data, off + 4, end, None)
        return f"non-ip:loopback family {fam}"
    return f"bad:unsupported link type {lt}"


def ethertype(data: Buffer, p: int, end: int, et: int, smac: bytes, dmac: bytes,
              depth: int = 0) -> Result:
    """Dispatch on an ethertype at payload offset ``p`` (tags, MPLS, PPPoE, SNAP inside)."""
    while True:
        if et == 0x0800:
            return ipv4(data, p, end, smac)
        if et == 0x86DD:
            return ipv6(data, p, end, smac)
        if et in VLAN_TPIDS:
            if p + 4 > end:
                return "bad:truncated VLAN tag"
            et = data[p + 2] << 8 | data[p + 3]
            p += 4
            continue
        if et <= 1500:  # 802.3 length: LLC, maybe SNAP
            if p + 3 <= end and data[p] == 0xAA and data[p + 1] == 0xAA and data[p + 2] == 3:
                if p + 8 > end:
                    return "bad:truncated SNAP header"
                et = data[p + 6] << 8 | data[p + 7]
                p += 8
                continue
            if p + 1 <= end and data[p] == 0x82:
                return "non-ip:llc bacnet"
            return "non-ip:llc"
        if et in (0x8847, 0x8848):
            while True:
                if p + 4 > end:
                    return "bad:truncated MPLS label"
                bottom = data[p + 2] & 1
                p += 4
                if bottom:
                    break
            if p >= end:
                return "bad:empty MPLS payload"
            nib = data[p] >> 4
            if nib == 4:
                return ipv4(data, p, end, smac)
            if nib == 6:
                return ipv6(data, p, end, smac)
            if nib == 0 and p + 4 + 14 <= end and depth < MAX_DEPTH:  # PW control word + eth
                return dissect(data, p + 4, end, 1, depth + 1)
            return "bad:MPLS payload not IP"
        if et == 0x8864:  # PPPoE session: 6-byte header, then the 2-byte PPP protocol
            if p + 8 > end:
                return "bad:truncated PPPoE header"
            ppp = data[p + 6] << 8 | data[p + 7]
            if ppp == 0x0021:
                return ipv4(data, p + 8, end, smac)
            if ppp == 0x0057:
                return ipv6(data, p + 8, end, smac)
            return f"non-ip:ppp 0x{ppp:04x}"
        if et in L2_ICS_ETHERTYPES:
            return (0, smac, dmac, et, 0, 0, 0, p, end, None, smac)
        return "non-ip:" + NON_IP_NAMES.get(et, f"ethertype 0x{et:04x}")


def _ip_any(data: Buffer, p: int, end: int, smac: bytes | None) -> Result:
    if p >= end:
        return "bad:empty raw IP frame"
    nib = data[p] >> 4
    if nib == 4:
        return ipv4(data, p, end, smac)
    if nib == 6:
        return ipv6(data, p, end, smac)
    return f"bad:raw frame with IP version {nib}"


def ipv4(data: Buffer, p: int, end: int, smac: bytes | None) -> Result:
    if p + 20 > end:
        return "bad:truncated IPv4 header"
    vihl = data[p]
    ihl = (vihl & 15) << 2
    if vihl >> 4 != 4 or ihl < 20:
        return "bad:invalid IPv4 header"
    total = data[p + 2] << 8 | data[p + 3]
    ipend = p + total if total >= ihl else end  # total 0: TSO/large-send, trust the capture
    if ipend > end:
        ipend = end
    ff = data[p + 6] << 8 | data[p + 7]
    proto = data[p + 9]
    src = data[p + 12:p + 16]
    dst = data[p + 16:p + 20]
    l4 = p + ihl
    if l4 > end:
        return "bad:truncated IPv4 options"
    frag = None
    if ff & 0x3FFF:
        first = not ff & 0x1FFF
        frag = ((data[p + 4] << 8 | data[p + 5]) | proto << 32, first, bool(ff & 0x2000))
        if not first:
            return (4, src, dst, proto, -1, -1, 0, l4, ipend, frag, smac)
    return _l4(4, src, dst, proto, data, l4, ipend, frag, smac)


def ipv6(data: Buffer, p: int, end: int, smac: bytes | None) -> Result:
    if p + 40 > end:
        return "bad:truncated IPv6 header"
    if data[p] >> 4 != 6:
        return "bad:invalid IPv6 header"
    plen = data[p + 4] << 8 | data[p + 5]
    nh = data[p + 6]
    src = data[p + 8:p + 24]
    dst = data[p + 24:p + 40]
    q = p + 40
    ipend = q + plen if plen else end  # 0: jumbogram, trust the capture
    if ipend > end:
        ipend = end
    frag = None
    for _ in range(16):
        if nh in IPV6_EXT:
            if q + 2 > ipend:
                return "bad:truncated IPv6 extension header"
            nh, q = data[q], q + ((data[q + 1] + 1) << 3)
        elif nh == 51:  # AH: length in 4-octet units minus 2
            if q + 2 > ipend:
                return "bad:truncated IPv6 extension header"
            nh, q = data[q], q + ((data[q + 1] + 2) << 2)
        elif nh == 44:
            if q + 8 > ipend:
                return "bad:truncated IPv6 fragment header"
            fo = data[q + 2] << 8 | data[q + 3]
            ident = int.from_bytes(data[q + 4:q + 8], "big")
            nh = data[q]
            q += 8
            first = not fo & 0xFFF8
            frag = (ident | 1 << 40, first, bool(fo & 1))
            if not first:
                return (6, src, dst, nh, -1, -1, 0, q, ipend, frag, smac)
        else:
            break
    else:
        return "bad:too many IPv6 extension headers"
    if q > ipend:
        return "bad:truncated IPv6 extension header"
    return _l4(6, src, dst, nh, data, q, ipend, frag, smac)


def _l4(v: int, src: bytes, dst: bytes, proto: int, data: Buffer, q: int, ipend: int,
        frag: tuple[int, bool, bool] | None, smac: bytes | None) -> Result:
    if proto == 6:
        if q + 14 > ipend:
            return "bad:truncated TCP header"
        hl = (data[q + 12] >> 4) << 2
        return (v, src, dst, 6, data[q] << 8 | data[q + 1], data[q + 2] << 8 | data[q + 3],
                data[q + 13], min(q + hl, ipend) if hl >= 20 else ipend, ipend, frag, smac)
    if proto == 17:
        if q + 8 > ipend:
            return "bad:truncated UDP header"
        sport = data[q] << 8 | data[q + 1]
        dport = data[q + 2] << 8 | data[q + 3]
        return (v, src, dst, 17, sport, dport, 0, q + 8, ipend, frag, smac)
    if proto in PORT_PROTOS:
        if q + 4 > ipend:
            return "bad:truncated transport header"
        return (v, src, dst, proto, data[q] << 8 | data[q + 1], data[q + 2] << 8 | data[q + 3],
                0, q + 4, ipend, frag, smac)
    if proto == 47 and q + 4 <= ipend and frag is None:
        gre = _erspan(data, q, ipend)
        if gre is not None:
            return dissect(data, gre, ipend, 1, 1)
    return (v, src, dst, proto, 0, 0, 0, q, ipend, frag, smac)


def _erspan(data: Buffer, q: int, end: int) -> int | None:
    """Offset of the mirrored Ethernet frame inside a GRE/ERSPAN packet, else None."""
    flags = data[q]
    ptype = data[q + 2] << 8 | data[q + 3]
    hl = 4 + 4 * (bool(flags & 0x80) + bool(flags & 0x20) + bool(flags & 0x10))
    if ptype == 0x88BE:
        inner = q + hl + (8 if flags & 0x10 else 0)  # type II with a sequence number
    elif ptype == 0x22EB:
        inner = q + hl + 12
    elif ptype == 0x6558:  # transparent Ethernet bridging
        inner = q + hl
    else:
        return None
    return inner if inner + 14 <= end else None
