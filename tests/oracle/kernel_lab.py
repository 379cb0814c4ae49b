"""A three-namespace lab for kernel oracle tests: client -> router -> server.

::

    client ns            router ns                          server ns
    c0  <--veth-->  rin0 [ruleset under test] rout0  <--veth-->  s0

The client sends hand-built Ethernet frames from an AF_PACKET socket on ``c0`` (so any
source address can be spoofed), addressed to the router's MAC. The router forwards the
server-side prefixes (``FWD_DST``) to the server and routes everything else back to the
client side (so spoofed sources pass the route lookup; rp_filter is off anyway). Neighbours
are permanent (no ARP/ND in flight), IPv6 addresses are ``nodad``.

What the kernel decided is observed without touching the ruleset under test:

- forwarded packets: an AF_PACKET socket on the server's ``s0`` sees them arrive;
- packets for the router itself: raw IP sockets in the router namespace receive a packet only
  after the LOCAL_IN hook accepted it.

Each packet carries a unique tag in its payload, so a burst of many packets is sent at once
and each tag's arrival is read back. A guard table drops everything the router itself sends
(RSTs, echo replies, ICMP errors), so no conntrack entry ever sees a reply and every test
packet is ``NEW`` to conntrack, whatever earlier rulesets did.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import re
import select
import socket
import struct
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

TAG = b"SCKT"
CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003

ROUTER_IN, ROUTER_OUT = "rin0", "rout0"
V4 = {"client": "10.0.1.2", "rin": "10.0.1.1", "rout": "10.0.2.1", "server": "10.0.2.2",
      "fwd": "172.16.0.0/12"}
V6 = {"client": "fd00:1::2", "rin": "fd00:1::1", "rout": "fd00:2::1", "server": "fd00:2::2",
      "fwd": "2001:db8:ff00::/40"}
LOCAL_ADDRS = {4: (V4["rin"], V4["rout"]), 6: (V6["rin"], V6["rout"])}
GUARD = """table inet scguard {
    chain out { type filter hook output priority 0; policy drop; }
}
"""
RAW_PROTOS = (6, 17, 47)


@dataclass(frozen=True, slots=True)
class Probe:
    """One test packet. ``local`` = addressed to the router itself."""

    version: int
    src: str
    dst: str
    proto: int
    sport: int = 0
    dport: int = 0
    icmp_type: int = 0
    icmp_code: int = 0
    local: bool = False

    def query(self) -> dict[str, object]:
        q: dict[str, object] = {"src": self.src, "dst": self.dst, "proto": self.proto,
                                "in_iface": ROUTER_IN}
        if self.proto in (6, 17):
            q.update(sport=self.sport, dport=self.dport)
        if self.proto == (1 if self.version == 4 else 58):
            q.update(icmp_type=self.icmp_type, icmp_code=self.icmp_code)
        if not self.local:
            q["out_iface"] = ROUTER_OUT
        return q


def run(cmd: Sequence[str], stdin: str | None = None, check: bool = True) -> str:
    r = subprocess.run(list(cmd), input=stdin, capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def build_frame(p: Probe, tag: int, dst_mac: bytes, src_mac: bytes, uniq: int) -> bytes:
    """An Ethernet frame carrying ``p`` with correct IP/L4 checksums and the tag payload."""
    payload = TAG + struct.pack("!I", tag)
    src = ipaddress.ip_address(p.src).packed
    dst = ipaddress.ip_address(p.dst).packed
    if p.proto == 6:
        hdr = struct.pack("!HHIIBBHHH", p.sport, p.dport, uniq & 0xFFFFFFFF, 0, 5 << 4, 0x02,
                          64240, 0, 0)
    elif p.proto == 17:
        hdr = struct.pack("!HHHH", p.sport, p.dport, 8 + len(payload), 0)
    elif p.proto in (1, 58):
        hdr = struct.pack("!BBHHH", p.icmp_type, p.icmp_code, 0, uniq & 0xFFFF, 1)
    elif p.proto == 47:
        hdr = struct.pack("!HH", 0, 0x0800)
    else:
        hdr = b""
    l4 = hdr + payload
    if p.version == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, p.proto, len(l4))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(l4), p.proto)
    csum_at = {6: 16, 17: 6, 1: 2, 58: 2}.get(p.proto)
    if csum_at is not None:
        c = _checksum(l4 if p.proto == 1 else pseudo + l4)
        if p.proto == 17 and c == 0:
            c = 0xFFFF
        l4 = l4[:csum_at] + struct.pack("!H", c) + l4[csum_at + 2 :]
    if p.version == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), uniq & 0xFFFF, 0, 64, p.proto,
                         0, src, dst)
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        ethertype = 0x0800
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(l4), p.proto, 64, src, dst)
        ethertype = 0x86DD
    return dst_mac + src_mac + struct.pack("!H", ethertype) + ip + l4


def _tags(data: bytes) -> Iterator[int]:
    at = data.find(TAG)
    while at >= 0 and at + 8 <= len(data):
        yield struct.unpack("!I", data[at + 4 : at + 8])[0]
        at = data.find(TAG, at + 8)


class Lab:
    """The namespaces, their sockets, and ``send``/``observe`` for bursts of probes."""

    def __init__(self) -> None:
        suffix = f"{os.getpid() % 100000}"
        self.ns = {"c": f"scc{suffix}", "r": f"scr{suffix}", "s": f"scs{suffix}"}
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.sockets: list[socket.socket] = []
        self.counter = 0

    # -- namespace plumbing --------------------------------------------------------------
    def ip(self, ns: str, *args: str) -> str:
        return run(["ip", "-n", self.ns[ns], *args])

    def exec(
        self, ns: str, cmd: Sequence[str], stdin: str | None = None, check: bool = True
    ) -> str:
        return run(["ip", "netns", "exec", self.ns[ns], *cmd], stdin, check)

    @contextlib.contextmanager
    def inside(self, ns: str) -> Iterator[None]:
        """Run the body in namespace ``ns`` (sockets created there stay there)."""
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.ns[ns]}", os.O_RDONLY)
        try:
            if self.libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns failed")
            yield
        finally:
            self.libc.setns(own, CLONE_NEWNET)
            os.close(own)
            os.close(target)

    @staticmethod
    def remove_stale() -> None:
        """Delete namespaces a killed earlier run of these tests left behind (their owning
        process no longer exists); live runs of other sessions are left alone."""
        for line in run(["ip", "netns", "list"], check=False).splitlines():
            name = line.split()[0] if line.split() else ""
            m = re.fullmatch(r"sc[crs](\d+)", name)
            if m and not os.path.exists(f"/proc/{m.group(1)}"):
                run(["ip", "netns", "del", name], check=False)

    def setup(self) -> None:
        self.remove_stale()
        self.iptables_backend = "nft" if "nf_tables" in run(["iptables", "--version"]) \
            else "legacy"
        self.nft_version = run(["nft", "--version"]).split()[1].lstrip("v")
        for n in self.ns.values():
            run(["ip", "netns", "add", n])
        c, r, s = self.ns["c"], self.ns["r"], self.ns["s"]
        run(["ip", "link", "add", "c0", "netns", c, "type", "veth", "peer", "name", ROUTER_IN,
             "netns", r])
        run(["ip", "link", "add", ROUTER_OUT, "netns", r, "type", "veth", "peer", "name", "s0",
             "netns", s])
        for ns, ifs in (("c", ["lo", "c0"]), ("r", ["lo", ROUTER_IN, ROUTER_OUT]),
                        ("s", ["lo", "s0"])):
            for key in ("net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"):
                self.exec(ns, ["sysctl", "-qw", key])
            for i in ifs:
                self.ip(ns, "link", "set", i, "up")
        for key in ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                    "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                    f"net.ipv4.conf.{ROUTER_IN}.rp_filter=0",
                    f"net.ipv4.conf.{ROUTER_OUT}.rp_filter=0"):
            self.exec("r", ["sysctl", "-qw", key])
        self.ip("c", "addr", "add", f"{V4['client']}/24", "dev", "c0")
        self.ip("c", "addr", "add", f"{V6['client']}/64", "dev", "c0", "nodad")
        self.ip("s", "addr", "add", f"{V4['server']}/24", "dev", "s0")
        self.ip("s", "addr", "add", f"{V6['server']}/64", "dev", "s0", "nodad")
        self.ip("r", "addr", "add", f"{V4['rin']}/24", "dev", ROUTER_IN)
        self.ip("r", "addr", "add", f"{V4['rout']}/24", "dev", ROUTER_OUT)
        self.ip("r", "addr", "add", f"{V6['rin']}/64", "dev", ROUTER_IN, "nodad")
        self.ip("r", "addr", "add", f"{V6['rout']}/64", "dev", ROUTER_OUT, "nodad")
        self.mac = {
            "c0": self._mac("c", "c0"), "rin": self._mac("r", ROUTER_IN),
            "rout": self._mac("r", ROUTER_OUT), "s0": self._mac("s", "s0"),
        }
        for v, fam in ((V4, "-4"), (V6, "-6")):
            self.ip("r", fam, "neigh", "replace", v["server"], "lladdr", self.mac["s0"], "dev",
                    ROUTER_OUT, "nud", "permanent")
            self.ip("r", fam, "neigh", "replace", v["client"], "lladdr", self.mac["c0"], "dev",
                    ROUTER_IN, "nud", "permanent")
            self.ip("r", fam, "route", "add", v["fwd"], "via", v["server"], "dev", ROUTER_OUT)
            self.ip("r", fam, "route", "add", "default", "via", v["client"], "dev", ROUTER_IN)
        self._open_sockets()

    def _mac(self, ns: str, dev: str) -> str:
        out = self.ip(ns, "-o", "link", "show", dev)
        return out.split("link/ether", 1)[1].split()[0]

    def _open_sockets(self) -> None:
        def big(sk: socket.socket) -> socket.socket:
            sk.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
            sk.setblocking(False)
            self.sockets.append(sk)
            return sk

        with self.inside("c"):
            self.tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            self.tx.bind(("c0", 0))
            self.sockets.append(self.tx)
        with self.inside("s"):
            self.rx_server = big(socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                               socket.htons(ETH_P_ALL)))
            self.rx_server.bind(("s0", 0))
        self.rx_local: list[socket.socket] = []
        with self.inside("r"):
            for proto in (*RAW_PROTOS, 1):
                self.rx_local.append(big(socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)))
            for proto in (*RAW_PROTOS, 58):
                self.rx_local.append(big(socket.socket(socket.AF_INET6, socket.SOCK_RAW, proto)))

    def teardown(self) -> None:
        for sk in self.sockets:
            sk.close()
        for n in self.ns.values():
            run(["ip", "netns", "del", n], check=False)

    # -- rulesets ------------------------------------------------------------------------
    def load_iptables(self, text: str, version: int) -> None:
        self.exec("r", ["nft", "flush", "ruleset"])
        self.exec("r", ["iptables-restore" if version == 4 else "ip6tables-restore"], text)
        self.exec("r", ["nft", "-f", "-"], GUARD)

    def load_nft(self, text: str) -> None:
        self.exec("r", ["nft", "flush", "ruleset"])
        self.exec("r", ["nft", "-f", "-"], text)
        self.exec("r", ["nft", "-f", "-"], GUARD)

    def list_ruleset(self, json_format: bool = False) -> str:
        return self.exec("r", ["nft", *(["-j"] if json_format else []), "list", "ruleset"])

    # -- probing -------------------------------------------------------------------------
    def _drain(self) -> None:
        for sk in (self.rx_server, *self.rx_local):
            with contextlib.suppress(BlockingIOError):
                while True:
                    sk.recv(65535)

    def observe(self, probes: Sequence[Probe]) -> list[bool]:
        """Send every probe in one burst; True where the kernel let it through."""
        self._drain()
        dst_mac = bytes.fromhex(self.mac["rin"].replace(":", ""))
        src_mac = bytes.fromhex(self.mac["c0"].replace(":", ""))
        base = self.counter
        self.counter += len(probes)
        for k, p in enumerate(probes):
            self.tx.send(build_frame(p, base + k, dst_mac, src_mac, (base + k) * 2654435761))
        seen_fwd: set[int] = set()
        seen_local: set[int] = set()
        socks = [self.rx_server, *self.rx_local]
        deadline = time.monotonic() + 2.0
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            ready, _, _ = select.select(socks, [], [], 0.02)
            if not ready:
                if time.monotonic() - quiet_since > 0.03:
                    break
                continue
            quiet_since = time.monotonic()
            for sk in ready:
                with contextlib.suppress(BlockingIOError):
                    while True:
                        data = sk.recv(65535)
                        target = seen_fwd if sk is self.rx_server else seen_local
                        target.update(t - base for t in _tags(data)
                                      if base <= t < base + len(probes))
        return [(k in seen_local) if p.local else (k in seen_fwd) for k, p in enumerate(probes)]

    def recheck(self, probes: Sequence[Probe], kernel: list[bool],
                ours: Sequence[bool]) -> list[bool]:
        """Send the probes where the kernel and segcheck disagree once more (fresh tags) and
        keep the kernel's second answer: a packet lost to timing on a loaded machine is not
        a semantic disagreement, while a real one reproduces."""
        diff = [k for k, (a, b) in enumerate(zip(kernel, ours, strict=True)) if a != b]
        if diff:
            again = self.observe([probes[k] for k in diff])
            for k, v in zip(diff, again, strict=True):
                kernel[k] = v
        return kernel


def segcheck_verdicts(device: object, probes: Sequence[Probe]) -> list[bool]:
    """segcheck's answers for ``probes`` through the ``query`` code path (JSON objects in):
    forward stages for forwarded probes, local stages for probes to the router."""
    from segcheck.commands.query import Evaluator, parse_query
    from segcheck.model.device import Device

    assert isinstance(device, Device)
    out: list[bool] = [False] * len(probes)
    for local in (False, True):
        idx = [k for k, p in enumerate(probes) if p.local == local]
        queries = [parse_query(probes[k].query(), device) for k in idx]
        for k, answer in zip(idx, Evaluator(device, local=local).answers(queries), strict=True):
            out[k] = answer["verdict"] == "permit"
    return out


@dataclass
class Tally:
    """Agreement counts over a run, and the first disagreements (with their rulesets)."""

    rulesets: int = 0
    packets: int = 0
    agree: int = 0
    permitted: int = 0
    seconds: float = 0.0
    failures: list[str] | None = None

    def add(self, ruleset: str, probes: Sequence[Probe], kernel: Sequence[bool],
            ours: Sequence[bool]) -> None:
        self.rulesets += 1
        for p, k, o in zip(probes, kernel, ours, strict=True):
            self.packets += 1
            self.permitted += k
            if k == o:
                self.agree += 1
            else:
                if self.failures is None:
                    self.failures = []
                if len(self.failures) < 5:
                    self.failures.append(f"kernel={'permit' if k else 'deny'} "
                                         f"segcheck={'permit' if o else 'deny'} for {p}\n"
                                         f"ruleset:\n{ruleset}")

    def summary(self, label: str) -> str:
        return (f"{label}: {self.agree}/{self.packets} agree over {self.rulesets} rulesets "
                f"({self.permitted} permitted by the kernel) in {self.seconds:.1f} s")
