"""pcap and pcapng record walking over an mmap (the fast path; no scapy).

The format is detected from the magic number, never from the file extension. Supported:

* pcap: micro- and nanosecond magics in both byte orders (and the "modified" Kuznetzov
  variant with 24-byte record headers);
* pcapng: any number of sections (each with its own byte order), Interface Description
  Blocks (link type and ``if_tsresol`` per interface), Enhanced, Simple and obsolete Packet
  Blocks; every other block type is skipped by its length.

``walk(capture)`` yields ``(frame, linktype, ts, data_offset, caplen, wirelen)`` for every
packet record, ``frame`` counting from 1 in file order (as Wireshark numbers frames).
A file can be walked in record-aligned pieces (one per worker): pcap from a record offset
with its first frame number (``pcap_split_points``); pcapng from a block offset with the
``PcapngState`` there — byte order, interfaces, frames so far, last timestamp
(``pcapng_split_points``). Walking the pieces one after the other yields exactly the
records (and problems) of one walk over the whole file.
Invariant: ``data_offset + caplen`` never exceeds the mapped size; a record that would
(a cut-off file) ends the walk and is counted in ``Capture.problems`` — never raised.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from segcheck.errors import CaptureError
from segcheck.model.source import SourceSpan

PCAP_MAGICS: dict[bytes, tuple[str, float, int]] = {
    bytes.fromhex("d4c3b2a1"): ("<", 1e-6, 16),
    bytes.fromhex("a1b2c3d4"): (">", 1e-6, 16),
    bytes.fromhex("4d3cb2a1"): ("<", 1e-9, 16),
    bytes.fromhex("a1b23c4d"): (">", 1e-9, 16),
    bytes.fromhex("34cdb2a1"): ("<", 1e-6, 24),
    bytes.fromhex("a1b2cd34"): (">", 1e-6, 24),
}
"""Magic -> (byte order, timestamp fraction unit, record header size)."""
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D
Record = tuple[int, int, float, int, int, int]
Iface = tuple[int, float]
"""(link type, seconds per timestamp tick) of a pcapng interface."""
PcapngState = tuple[int, tuple[Iface, ...], int, float]
"""Walk state at a pcapng block boundary: (big-endian 0/1, interfaces of the current
section, frames numbered so far, timestamp of the last timestamped packet)."""
PCAPNG_START: PcapngState = (0, (), 0, 0.0)


@dataclass
class Capture:
    """An open capture file: the mapping, its format and the problems met while walking.

    Mutable on purpose (``problems`` fills during the walk); close it with ``close()`` or
    use it as a context manager."""

    path: str
    data: mmap.mmap | bytes
    format: str
    """``pcap`` or ``pcapng``."""
    problems: Counter[str] = field(default_factory=Counter)
    """Reason -> count of records the walk could not deliver (cut-off file, bad block)."""

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if isinstance(self.data, mmap.mmap):
            self.data.close()


def open_capture(path: str | os.PathLike[str]) -> Capture:
    """Map ``path`` and detect its format; raise CaptureError when it is neither format."""
    spath = str(path)
    try:
        with open(spath, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            data: mmap.mmap | bytes = (
                mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            )
    except OSError as exc:
        raise CaptureError(f"cannot read capture: {exc.strerror}", SourceSpan(spath, 0)) from exc
    head = bytes(data[:4])
    if head in PCAP_MAGICS:
        if len(data) < 24:
            raise CaptureError("pcap global header is cut off", SourceSpan(spath, 0))
        return Capture(spath, data, "pcap")
    if len(head) == 4 and struct.unpack("<I", head)[0] == PCAPNG_SHB:
        return Capture(spath, data, "pcapng")
    if isinstance(data, mmap.mmap):
        data.close()
    raise CaptureError("not a pcap or pcapng file (unknown magic "
                       f"{head.hex() or 'empty file'})", SourceSpan(spath, 0))


def pcap_header(cap: Capture) -> tuple[str, float, int, int]:
    """(byte order, ts unit, record header size, link type) of a pcap file."""
    order, unit, rec = PCAP_MAGICS[bytes(cap.data[:4])]
    (linktype,) = struct.unpack_from(order + "I", cap.data, 20)
    return order, unit, rec, linktype & 0x0FFFFFFF


def walk(cap: Capture, start: int | None = None, stop: int | None = None,
         first_frame: int = 1, state: PcapngState | None = None) -> Iterator[Record]:
    """Every packet record of ``cap`` (optionally only records starting in ``[start, stop)``;
    pcap numbered from ``first_frame``, pcapng continuing from ``state`` — used to split one
    file among workers)."""
    if cap.format == "pcap":
        return _walk_pcap(cap, start, stop, first_frame)
    return _walk_pcapng(cap, start, stop, state)


def _walk_pcap(cap: Capture, start: int | None, stop: int | None,
               first_frame: int) -> Iterator[Record]:
    data = cap.data
    order, unit, rec, linktype = pcap_header(cap)
    unpack = struct.Struct(order + "IIII").unpack_from
    size = len(data)
    end = size if stop is None else min(stop, size)
    off = 24 if start is None else start
    frame = first_frame - 1
    while off < end:
        if off + rec > size:
            cap.problems["cut-off record header"] += 1
            return
        sec, frac, caplen, wirelen = unpack(data, off)
        d = off + rec
        off = d + caplen
        frame += 1
        if off > size:
            cap.problems["cut-off record (file ends inside a packet)"] += 1
            return
        yield frame, linktype, sec + frac * unit, d, caplen, wirelen


def pcap_split_points(cap: Capture, parts: int) -> list[tuple[int, int, int]]:
    """Split a pcap into ``parts`` record-aligned byte ranges: ``(start, stop, first_frame)``.

    Walks only the record headers (the cheapest loop there is)."""
    data = cap.data
    order, _unit, rec, _lt = pcap_header(cap)
    unpack = struct.Struct(order + "I").unpack_from
    size = len(data)
    step = max(1, (size - 24) // parts)
    bounds: list[tuple[int, int]] = [(24, 1)]
    target = 24 + step
    off, frame = 24, 1
    while off + rec <= size and len(bounds) < parts:
        (caplen,) = unpack(data, off + 8)
        off += rec + caplen
        frame += 1
        if off >= target and off < size:
            bounds.append((off, frame))
            target = off + step
    out = []
    for i, (s, f) in enumerate(bounds):
        e = bounds[i + 1][0] if i + 1 < len(bounds) else size
        out.append((s, e, f))
    return out


def pcapng_split_points(cap: Capture, parts: int,
                        ) -> list[tuple[int, int, PcapngState]]:
    """Split a pcapng into ``parts`` block-aligned byte ranges ``(start, stop, state)``.

    Walks only the block headers (and IDB options, EPB timestamps) serially; the native
    walker does it when available."""
    size = len(cap.data)
    step = max(1, size // parts)
    targets = [step * k for k in range(1, parts)]
    from segcheck.capture import native

    mod = native.module()
    if mod is not None:
        points: list[tuple[int, PcapngState]] = mod.pcapng_split(cap.data, 0, PCAPNG_START,
                                                                  targets)
    else:
        points = _pcapng_points(cap, targets)
    bounds = [(0, PCAPNG_START)] + [p for p in points if 0 < p[0] < size]
    out = []
    for i, (s, st) in enumerate(bounds):
        e = bounds[i + 1][0] if i + 1 < len(bounds) else size
        if e > s:
            out.append((s, e, st))
    return out


def _pcapng_points(cap: Capture, targets: list[int]) -> list[tuple[int, PcapngState]]:
    out: list[tuple[int, PcapngState]] = []
    it = _walk_pcapng(cap, None, None, None, out, targets)
    for _ in it:
        pass
    return out


def _walk_pcapng(cap: Capture, start: int | None, stop: int | None,
                 state: PcapngState | None,
                 points: list[tuple[int, PcapngState]] | None = None,
                 targets: list[int] | None = None) -> Iterator[Record]:
    """The pcapng walk (see the module docstring); with ``points``/``targets`` it records the
    state at the first block boundary at or after each target instead of being split."""
    data = cap.data
    size = len(data)
    off = start or 0
    end = size if stop is None else min(stop, size)
    big, ifs, frame, last_ts = state or PCAPNG_START
    order = ">" if big else "<"
    ifaces: list[tuple[int, float]] = list(ifs)  # (linktype, seconds per tick)
    u32 = struct.Struct(order + "I").unpack_from
    tgt = list(targets or [])
    while off + 12 <= size and off < end:
        while points is not None and tgt and off >= tgt[0]:
            points.append((off, (int(order == ">"), tuple(ifaces), frame, last_ts)))
            tgt.pop(0)
        if points is not None and not tgt:
            return
        (btype,) = u32(data, off)
        if btype == PCAPNG_SHB:
            (bom,) = struct.unpack_from("<I", data, off + 8)
            if bom == PCAPNG_BOM:
                order = "<"
            elif bom == 0x4D3C2B1A:
                order = ">"
            else:
                cap.problems["bad pcapng section header"] += 1
                return
            u32 = struct.Struct(order + "I").unpack_from
            ifaces = []
        else:
            (btype,) = u32(data, off)
        (blen,) = u32(data, off + 4)
        if blen < 12 or blen % 4 or off + blen > size:
            cap.problems["bad or cut-off pcapng block"] += 1
            return
        body = off + 8
        if btype == 6:  # Enhanced Packet Block
            frame += 1
            d = body + 20
            if d > off + blen - 4:  # too short for its fixed fields
                cap.problems["pcapng packet with unknown interface or bad length"] += 1
                off += blen
                continue
            iface, hi, lo, caplen, wirelen = struct.unpack_from(order + "IIIII", data, body)
            if iface >= len(ifaces) or d + caplen > off + blen - 4:
                cap.problems["pcapng packet with unknown interface or bad length"] += 1
            else:
                linktype, tick = ifaces[iface]
                last_ts = ((hi << 32) | lo) * tick
                yield frame, linktype, last_ts, d, caplen, wirelen
        elif btype == 3:  # Simple Packet Block: interface 0, no timestamp
            (wirelen,) = u32(data, body)
            frame += 1
            caplen = min(wirelen, blen - 16)
            if not ifaces:
                cap.problems["pcapng packet with unknown interface or bad length"] += 1
            else:
                yield frame, ifaces[0][0], last_ts, body + 4, caplen, wirelen
        elif btype == 2:  # obsolete Packet Block
            frame += 1
            if body + 20 > off + blen - 4:
                cap.problems["pcapng packet with unknown interface or bad length"] += 1
                off += blen
                continue
            iface, _drops, hi, lo, caplen, wirelen = struct.unpack_from(
                order + "HHIIII", data, body)
            if iface >= len(ifaces) or body + 20 + caplen > off + blen - 4:
                cap.problems["pcapng packet with unknown interface or bad length"] += 1
            else:
                linktype, tick = ifaces[iface]
                last_ts = ((hi << 32) | lo) * tick
                yield frame, linktype, last_ts, body + 20, caplen, wirelen
        elif btype == 1:  # Interface Description Block
            linktype = struct.unpack_from(order + "H", data, body)[0]
            ifaces.append((linktype, _tsresol(data, body + 8, off + blen - 4, order)))
        off += blen
    if off < size and off + 12 > size and points is None:
        cap.problems["cut-off pcapng block"] += 1


def _tsresol(data: mmap.mmap | bytes, opt: int, end: int, order: str) -> float:
    """Seconds per timestamp tick from an IDB's options (default microseconds)."""
    while opt + 4 <= end:
        code, length = struct.unpack_from(order + "HH", data, opt)
        if code == 0:
            break
        if code == 9 and length >= 1:
            v = data[opt + 4]
            return float(2 ** -(v & 0x7F)) if v & 0x80 else float(10 ** -(v & 0x7F))
        opt += 4 + ((length + 3) & ~3)
    return 1e-6
