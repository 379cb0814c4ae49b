"""Writers for crafted test captures (pcap and pcapng, either byte order), independent of
the reader under test: the formats are spelled out here field by field."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path


def write_pcap(path: Path, frames: Sequence[bytes | tuple[bytes, int]], linktype: int = 1,
               *, nsec: bool = False, big: bool = False, t0: int = 1_700_000_000) -> Path:
    """Frames are bytes, or (bytes, wire length) to record a snapped frame."""
    o = ">" if big else "<"
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    out = bytearray(struct.pack(o + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype))
    for i, fr in enumerate(frames):
        raw, wire = (fr, len(fr)) if isinstance(fr, bytes) else fr
        frac = i * (1000 if nsec else 1)
        out += struct.pack(o + "IIII", t0 + i, frac, len(raw), wire) + raw
    path.write_bytes(bytes(out))
    return path


def _block(o: str, btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(o + "II", btype, n) + body + struct.pack(o + "I", n)


def write_pcapng(path: Path, linktypes: Sequence[int],
                 frames: Sequence[tuple[int, bytes]], *, big: bool = False,
                 simple: bool = False, tsresol: int | None = None,
                 extra_sections: Sequence[tuple[Sequence[int], Sequence[tuple[int, bytes]]]] = (),
                 ) -> Path:
    """One section with an IDB per link type, then (interface, frame) packets as EPBs (or
    SPBs with ``simple``); ``extra_sections`` append further sections in the other byte
    order (sections may differ in byte order)."""
    out = bytearray()
    sections = [(linktypes, frames, big), *((lt, fr, not big) for lt, fr in extra_sections)]
    for lts, frs, bg in sections:
        o = ">" if bg else "<"
        out += _block(o, 0x0A0D0D0A, struct.pack(o + "IHHq", 0x1A2B3C4D, 1, 0, -1))
        for lt in lts:
            opts = b""
            if tsresol is not None:
                opts = struct.pack(o + "HH", 9, 1) + bytes([tsresol]) + b"\0\0\0"
                opts += struct.pack(o + "HH", 0, 0)
            out += _block(o, 1, struct.pack(o + "HHI", lt, 0, 262144) + opts)
        out += _block(o, 0xBAD, b"unknown block type is skipped")
        for i, (iface, raw) in enumerate(frs):
            if simple:
                out += _block(o, 3, struct.pack(o + "I", len(raw)) + raw)
            else:
                ts = (1_700_000_000 + i) * 1_000_000
                out += _block(o, 6, struct.pack(o + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF,
                                                len(raw), len(raw)) + raw)
    path.write_bytes(bytes(out))
    return path
