"""tshark as an independent oracle: per-frame addresses and ports, grouped into conversations.

We ask tshark for the fields of every frame (defragmentation off, so a first fragment carries
its ports and later ones none) and group them into bidirectional 5-tuples ourselves; the
grouping is trivial, the dissection is tshark's. ICMP frames are left out (their quoted inner
headers carry ports of another conversation).
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

FIELDS = ("frame.number", "frame.len", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "frame.protocols")

Conv = tuple[str, str, str, int, int]


def available() -> bool:
    return shutil.which("tshark") is not None and shutil.which("mergecap") is not None


def conversations(path: Path) -> tuple[Counter[Conv], Counter[Conv]]:
    """(packets, bytes) per canonical conversation ``(proto, a, b, port_a, port_b)``."""
    (pk, by), = conversations_by_range(path, [1 << 62]).values()
    return pk, by


def conversations_many(paths: list[Path], frame_counts: list[int], tmp: Path,
                       ) -> list[tuple[Counter[Conv], Counter[Conv]]]:
    """Conversations of many files with one tshark run: the files are concatenated with
    ``mergecap -a`` and tshark's frame numbers are mapped back to files by ``frame_counts``
    (so a file whose frame count differs from tshark's shifts the rest and shows up)."""
    merged = tmp / "merged.pcapng"
    subprocess.run(["mergecap", "-a", "-F", "pcapng", "-w", str(merged), *map(str, paths)],
                   check=True, capture_output=True)
    bounds, total = [], 0
    for n in frame_counts:
        total += n
        bounds.append(total)
    by = conversations_by_range(merged, bounds)
    return [by.get(i, (Counter(), Counter())) for i in range(len(paths))]


def conversations_by_range(path: Path, bounds: list[int],
                           ) -> dict[int, tuple[Counter[Conv], Counter[Conv]]]:
    """Conversations keyed by the index of the frame range (``bounds`` = cumulative ends)."""
    import bisect

    cmd = ["tshark", "-n", "-r", str(path), "-o", "ip.defragment:FALSE",
           "-o", "ipv6.defragment:FALSE", "-T", "fields", "-E", "separator=/t",
           "-E", "occurrence=l"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600).stdout
    res: dict[int, tuple[Counter[Conv], Counter[Conv]]] = {}
    for line in out.splitlines():
        cols = line.split("\t")
        if len(cols) < len(FIELDS):
            continue
        fno, flen, s4, d4, s6, d6, tsp, tdp, usp, udp_, protos = cols[:11]
        part = bisect.bisect_left(bounds, int(fno))
        pkts, byts = res.setdefault(part, (Counter(), Counter()))
        layers = protos.split(":")
        if "icmp" in layers or "icmpv6" in layers:
            continue
        src, dst = (s6, d6) if s6 else (s4, d4)
        if tsp and "tcp" in layers:
            proto, sp, dp = "tcp", int(tsp), int(tdp)
        elif usp and "udp" in layers:
            proto, sp, dp = "udp", int(usp), int(udp_)
        else:
            continue
        key = key_of(proto, src, dst, sp, dp)
        pkts[key] += 1
        byts[key] += int(flen)
    return res


def key_of(proto: str, src: str, dst: str, sp: int, dp: int) -> Conv:
    a, b = (src, sp), (dst, dp)
    if b < a:
        a, b = b, a
    return (proto, a[0], b[0], a[1], b[1])
