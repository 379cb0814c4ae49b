"""Flow extraction speed: segcheck vs tshark, dpkt and scapy RawPcapReader, in the same run.

Usage:  .venv/bin/python benchmarks/capture.py [--packets 1000000] [--peers tshark,dpkt,scapy]
                                               [--workers 1] [--keep DIR] [--format pcapng]

The input is generated on the fly (cached in --keep, default /tmp/segcheck-bench): a pcap of
IT and ICS traffic — Modbus reads/writes, DNP3, S7comm, HTTP, TLS, DNS, IPv6 TCP, 802.1Q
tagged frames — built from a few hundred scapy-crafted templates whose source ports are
patched per repetition (so the flow table holds ~``--packets / 20`` flows). Each tool is
timed on the same file; ratios are segcheck's packets/s over the peer's. Peers that are not
installed are reported as such. This is a benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _templates() -> list[tuple[bytes, int]]:
    """(frame bytes, offset of the client source port) for a mix of protocols."""
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Dot1Q, Ether
    from scapy.packet import Raw

    rnd = random.Random(7)
    out: list[tuple[bytes, int]] = []

    def add(pkt: object, l4_off: int, reply: bool = False) -> None:
        raw = bytes(pkt)  # type: ignore[call-overload]
        out.append((raw, l4_off + (2 if reply else 0)))

    for i in range(60):
        cli, srv = f"10.40.1.{20 + i % 5}", f"10.50.1.{1 + i}"
        sp = 40000 + i
        eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        mb_req = bytes.fromhex("0001000000060103000a0005")
        mb_wr = bytes.fromhex("000200000006010600100001")
        mb_rsp = bytes.fromhex("00010000000701030400010002")
        add(eth / IP(src=cli, dst=srv) / TCP(sport=sp, dport=502, flags="PA") / Raw(mb_req), 34)
        add(eth / IP(src=srv, dst=cli) / TCP(sport=502, dport=sp, flags="PA") / Raw(mb_rsp), 34,
            True)
        add(eth / IP(src=cli, dst=srv) / TCP(sport=sp, dport=502, flags="PA") / Raw(mb_wr), 34)
        add(eth / IP(src=srv, dst=cli) / TCP(sport=502, dport=sp, flags="A"), 34, True)
        dnp = _dnp3(bytes.fromhex("c0c101" + "3c0106"))
        add(eth / Dot1Q(vlan=40) / IP(src=cli, dst=f"10.60.0.{i}") /
            TCP(sport=sp + 1000, dport=20000, flags="PA") / Raw(dnp), 38)
        s7 = bytes.fromhex("0300001f02f080320100000001000e00000401120a10020001000084000000")
        add(eth / IP(src=cli, dst=srv) / TCP(sport=sp + 2000, dport=102, flags="PA") / Raw(s7),
            34)
        http = (b"GET /index.html HTTP/1.1\r\nHost: intranet.example\r\n"
                b"User-Agent: bench\r\n\r\n")
        add(eth / IP(src=f"10.10.{i}.5", dst="10.20.0.10") /
            TCP(sport=sp + 3000, dport=80, flags="PA") / Raw(http), 34)
        add(eth / IP(src="10.20.0.10", dst=f"10.10.{i}.5") /
            TCP(sport=80, dport=sp + 3000, flags="PA") / Raw(rnd.randbytes(900)), 34, True)
        add(eth / IP(src=f"10.10.{i}.5", dst="10.20.0.10") /
            TCP(sport=sp + 4000, dport=443, flags="PA") / Raw(b"\x17\x03\x03" +
                                                             rnd.randbytes(400)), 34)
        add(eth / IP(src=f"10.10.{i}.5", dst="10.10.0.53") / UDP(sport=sp + 5000, dport=53) /
            DNS(rd=1, qd=DNSQR(qname=f"host{i}.corp.example")), 34)
        add(eth / IPv6(src=f"2001:db8:10::{i + 1:x}", dst="2001:db8:40::20") /
            TCP(sport=sp + 6000, dport=3389, flags="PA") / Raw(rnd.randbytes(200)), 54)
    return out


def _dnp3(app: bytes, dst: int = 10, src: int = 1) -> bytes:
    """One DNP3 link frame with valid CRCs (header block, then 16-byte data blocks)."""
    def crc(b: bytes) -> bytes:
        c = 0
        for byte in b:
            c ^= byte
            for _ in range(8):
                c = (c >> 1) ^ 0xA6BC if c & 1 else c >> 1
        return struct.pack("<H", ~c & 0xFFFF)
    head = struct.pack("<BBBBHH", 0x05, 0x64, 5 + len(app), 0xC4, dst, src)
    return head + crc(head) + b"".join(app[i:i + 16] + crc(app[i:i + 16])
                                       for i in range(0, len(app), 16))


def generate(path: Path, packets: int) -> None:
    tpls = _templates()
    hdr = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    rec = struct.Struct("<IIII")
    with open(path, "wb") as fh:
        fh.write(hdr)
        buf = bytearray()
        n, rep = 0, 0
        while n < packets:
            bump = (rep % 20) * 7
            for raw, off in tpls:
                if n >= packets:
                    break
                frame = bytearray(raw)
                port = (frame[off] << 8 | frame[off + 1]) + bump
                frame[off:off + 2] = port.to_bytes(2, "big")
                buf += rec.pack(1_700_000_000 + n // 10000, n % 1_000_000, len(frame),
                                len(frame))
                buf += frame
                n += 1
            rep += 1
            if len(buf) > 8 << 20:
                fh.write(buf)
                buf.clear()
        fh.write(buf)


def to_pcapng(src: Path, dst: Path) -> None:
    """The same frames as one-section, one-interface pcapng (EPBs, microsecond ticks)."""
    data = src.read_bytes()
    out = bytearray()

    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I",
                                                                              len(body) + 12)

    out += block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 65535))
    off = 24
    with open(dst, "wb") as fh:
        while off + 16 <= len(data):
            sec, usec, caplen, wirelen = struct.unpack_from("<IIII", data, off)
            ts = sec * 1_000_000 + usec
            out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, caplen, wirelen)
                         + data[off + 16:off + 16 + caplen])
            off += 16 + caplen
            if len(out) > 8 << 20:
                fh.write(out)
                out.clear()
        fh.write(out)


class Clock:
    """Wall time and CPU time (this process plus waited-for children) of a block: on a
    shared machine CPU time is the fairer figure, so both are printed."""

    def __enter__(self) -> Clock:
        self.wall = time.perf_counter()
        self.cpu = self._cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = self._cpu() - self.cpu

    @staticmethod
    def _cpu() -> float:
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + ch.ru_utime + ch.ru_stime


Result = tuple[Clock, int]


def run_segcheck(path: Path, workers: int) -> Result:
    from segcheck.capture.flows import extract_flows

    with Clock() as c:
        res = extract_flows([path], workers=workers)
    return c, len(res.flows)


def run_tshark(path: Path) -> Result | str:
    if not shutil.which("tshark"):
        return "not installed"
    with Clock() as c:
        out = subprocess.run(["tshark", "-n", "-q", "-r", str(path), "-z", "conv,tcp", "-z",
                              "conv,udp"], capture_output=True, text=True, check=False)
    convs = sum(1 for line in out.stdout.splitlines() if "<->" in line)
    return c, convs


def run_dpkt(path: Path) -> Result | str:
    try:
        import dpkt  # type: ignore[import-not-found]
    except ImportError:
        return "not installed (pip install dpkt)"
    with Clock() as c:
        n = _dpkt(dpkt, path)
    return c, n


def _dpkt(dpkt: object, path: Path) -> int:
    flows: dict[tuple[object, ...], int] = {}
    with open(path, "rb") as fh:
        reader = dpkt.pcapng.Reader if path.suffix == ".pcapng" else dpkt.pcap.Reader
        for _ts, buf in reader(fh):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
                continue
            l4 = ip.data
            sp, dp = getattr(l4, "sport", 0), getattr(l4, "dport", 0)
            key = (ip.src, ip.dst, sp, dp) if (ip.src, sp) < (ip.dst, dp) else (
                ip.dst, ip.src, dp, sp)
            flows[key] = flows.get(key, 0) + 1
    return len(flows)


def run_scapy_raw(path: Path) -> Result | str:
    with Clock() as c:
        n = _scapy(path)
    return c, n


def _scapy(path: Path) -> int:
    from scapy.utils import RawPcapReader

    flows: dict[tuple[object, ...], int] = {}
    for data, _meta in RawPcapReader(str(path)):
        et = struct.unpack_from("!H", data, 12)[0]
        p = 14
        if et == 0x8100:
            et = struct.unpack_from("!H", data, 16)[0]
            p = 18
        if et == 0x0800:
            ihl = (data[p] & 15) * 4
            src, dst = data[p + 12:p + 16], data[p + 16:p + 20]
            sp, dp = struct.unpack_from("!HH", data, p + ihl)
        elif et == 0x86DD:
            src, dst = data[p + 8:p + 24], data[p + 24:p + 40]
            sp, dp = struct.unpack_from("!HH", data, p + 40)
        else:
            continue
        key = (src, dst, sp, dp) if (src, sp) < (dst, dp) else (dst, src, dp, sp)
        flows[key] = flows.get(key, 0) + 1
    return len(flows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--peers", default="tshark,dpkt,scapy")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--keep", default="/tmp/segcheck-bench")
    ap.add_argument("--format", choices=("pcap", "pcapng"), default="pcap")
    args = ap.parse_args()
    keep = Path(args.keep)
    keep.mkdir(parents=True, exist_ok=True)
    path = keep / f"bench-v2-{args.packets}.pcap"
    if not path.exists():
        t = time.perf_counter()
        generate(path, args.packets)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t:.1f} s")
    if args.format == "pcapng":
        ng = keep / f"bench-v2-{args.packets}.segcheck.pcapng"
        if not ng.exists():
            to_pcapng(path, ng)
        path = ng
    from segcheck.capture.flows import default_engine

    n = args.packets
    print(f"input: {path}  packets={n}  size={path.stat().st_size / 1e6:.0f} MB  "
          f"cpus={os.cpu_count()}  engine={default_engine()}  "
          f"load average={' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs = sorted((run_segcheck(path, 1) for _ in range(3)), key=lambda r: r[0].cpu)
    seg, nflows = runs[1]
    print(f"{'tool':22s} {'wall s':>7s} {'cpu s':>7s} {'kpkt/s(cpu)':>11s}  result")
    line("segcheck (1 worker)", seg, n, f"flows={nflows} (median of 3 by cpu)")
    if args.workers > 1:
        c, nf = run_segcheck(path, args.workers)
        line(f"segcheck ({args.workers} workers)", c, n, f"flows={nf}; wall kpkt/s "
             f"{n / c.wall / 1e3:.0f}")
    peers = {"tshark": run_tshark, "dpkt": run_dpkt, "scapy": run_scapy_raw}
    for name in args.peers.split(","):
        if not name:
            continue
        res = peers[name](path)
        if isinstance(res, str):
            print(f"{name:22s} {res}")
            continue
        c, nf = res
        line(name, c, n, f"conversations={nf}; segcheck is {c.cpu / seg.cpu:.1f}x faster "
             f"(cpu), {c.wall / seg.wall:.1f}x (wall)")


def line(name: str, c: Clock, n: int, note: str) -> None:
    print(f"{name:22s} {c.wall:7.2f} {c.cpu:7.2f} {n / c.cpu / 1e3:11.0f}  {note}")


if __name__ == "__main__":
    main()
