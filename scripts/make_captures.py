"""Generate the Riverbend Water example captures (deterministic: same bytes on every run).

    .venv/bin/python scripts/make_captures.py [--out captures]

Writes ``riverbend-normal.pcap`` (conduit traffic the policy allows), and
``riverbend-incident.pcapng`` (BRIEF.md §6 traffic-side scenarios 3, 4 and 9 plus Modbus
discovery, then 1, 2, 10, 7, 8 and 12, on two capture interfaces), and ``README.md`` listing
the frames of each scenario. New scenarios are appended so earlier frame numbers stay.
Packets are built with scapy; the files are written by this script (fixed timestamps, no
host-dependent pcapng options) so the output is byte-for-byte reproducible.
"""

from __future__ import annotations

import argparse
import struct
from dataclasses import dataclass, field
from pathlib import Path

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

T0 = 1_767_000_000.0  # 2025-12-29, fixed
PLC1, PLC2 = "10.50.1.10", "10.50.1.11"
SCADA1, SCADA2, HMI = "10.40.1.20", "10.40.1.21", "10.40.1.10"
HIST, EWS = "10.40.1.30", "10.40.1.50"
MIRROR, JUMP = "10.30.0.10", "10.30.0.20"
RTU, SIS = "10.60.1.5", "10.70.1.2"
CORP_USER, CORP_ATTACKER, CORP_FILESRV = "10.10.5.20", "10.10.7.33", "10.10.20.15"
EWS_CORP_NIC = "10.10.40.99"
VPN_USER, ENGINEER = "10.99.1.23", "10.10.40.5"
PUBLIC_DNS, RELAY, FW_OT_MGMT = "192.0.2.53", "198.51.100.7", "10.250.0.2"
EWS_MAC = "02:00:0a:28:01:32"


def mac(ip: str) -> str:
    """A locally administered MAC derived from the host's address (one NIC per host)."""
    return "02:00:" + ":".join(f"{int(o):02x}" for o in ip.split("."))


@dataclass
class Trace:
    """Frames in capture order with their timestamps, interface and scenario labels."""

    frames: list[tuple[float, int, bytes]] = field(default_factory=list)
    labels: list[tuple[int, int, str]] = field(default_factory=list)
    t: float = T0

    def add(self, pkt: Packet, iface: int = 0, dt: float = 0.002) -> int:
        self.t += dt
        self.frames.append((round(self.t, 6), iface, bytes(pkt)))
        return len(self.frames)

    def label(self, first: int, text: str) -> None:
        self.labels.append((first, len(self.frames), text))


def eth(src: str, dst: str, smac: str | None = None) -> Packet:
    return Ether(src=smac or mac(src), dst=mac(dst)) / IP(src=src, dst=dst, ttl=64, id=0)


def tcp_session(tr: Trace, cli: str, srv: str, cport: int, sport: int,
                exchanges: list[tuple[bytes, bytes]], iface: int = 0,
                cli_mac: str | None = None, handshake: bool = True) -> int:
    """A TCP conversation: handshake, request/response pairs, FIN. Returns its first frame."""
    first = len(tr.frames) + 1
    cs, ss = 1000, 5000
    if handshake:
        tr.add(eth(cli, srv, cli_mac) / TCP(sport=cport, dport=sport, flags="S", seq=cs - 1),
               iface)
        tr.add(eth(srv, cli) / TCP(sport=sport, dport=cport, flags="SA", seq=ss - 1, ack=cs),
               iface)
        tr.add(eth(cli, srv, cli_mac) / TCP(sport=cport, dport=sport, flags="A", seq=cs, ack=ss),
               iface)
    for req, rsp in exchanges:
        tr.add(eth(cli, srv, cli_mac) / TCP(sport=cport, dport=sport, flags="PA", seq=cs,
                                            ack=ss) / Raw(req), iface, 0.05)
        cs += len(req)
        if rsp:
            tr.add(eth(srv, cli) / TCP(sport=sport, dport=cport, flags="PA", seq=ss, ack=cs) /
                   Raw(rsp), iface)
            ss += len(rsp)
    tr.add(eth(cli, srv, cli_mac) / TCP(sport=cport, dport=sport, flags="FA", seq=cs, ack=ss),
           iface)
    tr.add(eth(srv, cli) / TCP(sport=sport, dport=cport, flags="FA", seq=ss, ack=cs + 1), iface)
    tr.add(eth(cli, srv, cli_mac) / TCP(sport=cport, dport=sport, flags="A", seq=cs + 1,
                                        ack=ss + 1), iface)
    return first


def mbap(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def modbus_reads(fc: int, n: int, addr: int = 0) -> list[tuple[bytes, bytes]]:
    return [(mbap(i + 1, 1, struct.pack(">BHH", fc, addr, 4)),
             mbap(i + 1, 1, bytes([fc, 8]) + bytes(8))) for i in range(n)]


def dnp3_frame(dst: int, src: int, app: bytes, ctrl: int = 0xC4) -> bytes:
    """A DNP3 link frame: header with CRC, then the user data in 16-byte CRC'd blocks."""
    def crc(b: bytes) -> bytes:
        c = 0
        for byte in b:
            c ^= byte
            for _ in range(8):
                c = (c >> 1) ^ 0xA6BC if c & 1 else c >> 1
        return struct.pack("<H", ~c & 0xFFFF)
    head = struct.pack("<BBBBHH", 0x05, 0x64, 5 + len(app), ctrl, dst, src)
    out = head + crc(head)
    for i in range(0, len(app), 16):
        out += app[i:i + 16] + crc(app[i:i + 16])
    return out


def tls_client_hello(sni: str) -> bytes:
    name = sni.encode()
    ext = struct.pack(">HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    body = (b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" +
            struct.pack(">H", len(ext)) + ext)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def smb2_negotiate() -> bytes:
    """NetBIOS session header + SMB2 NEGOTIATE request offering dialect 2.0.2."""
    header = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ", 64, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0) + bytes(16)
    body = struct.pack("<HHHHI", 36, 1, 1, 0, 0) + bytes(16) + bytes(8) + b"\x02\x02"
    return struct.pack(">I", len(header) + len(body)) + header + body


def rdp_cr(user: str) -> bytes:
    cookie = f"Cookie: mstshash={user}\r\n".encode() + bytes.fromhex("0100080003000000")
    cotp = bytes([6 + len(cookie), 0xE0, 0, 0, 0, 0, 0]) + cookie
    return b"\x03\x00" + struct.pack(">H", 4 + len(cotp)) + cotp


def normal() -> Trace:
    tr = Trace()
    f = tcp_session(tr, SCADA1, PLC1, 49152, 502, modbus_reads(3, 6, 100))
    tr.label(f, "C-03: scada-srv 10.40.1.20 reads holding registers (FC 3) from PLC 10.50.1.10")
    f = tcp_session(tr, HMI, PLC2, 49200, 502, modbus_reads(1, 4))
    tr.label(f, "C-03: hmi 10.40.1.10 reads coils (FC 1) from PLC 10.50.1.11")
    f = tcp_session(tr, EWS, PLC1, 49300, 502,
                    [(mbap(1, 1, bytes.fromhex("0600280064")), mbap(1, 1, bytes.fromhex(
                        "0600280064")))])
    tr.label(f, "C-03: ews 10.40.1.50 writes a register (FC 6) — allowed for the EWS")
    read = dnp3_frame(10, 1, bytes.fromhex("c0c101" + "3c0106"))
    resp = dnp3_frame(1, 10, bytes.fromhex("c0c181" + "0000"), ctrl=0x44)
    tsync = dnp3_frame(10, 1, bytes.fromhex("c1c202" + "320107" + "01" + "00" * 6))
    f = tcp_session(tr, SCADA2, RTU, 50000, 20000, [(read, resp), (tsync, resp)])
    tr.label(f, "C-04: scada-srv 10.40.1.21 DNP3 class-0 read and time write to RTU 10.60.1.5")
    f = tcp_session(tr, HIST, MIRROR, 51000, 5450, [(bytes(range(64)) * 4, b"\x01\x00")] * 3)
    tr.label(f, "C-02: historian 10.40.1.30 pushes to hist-mirror 10.30.0.10:5450 (pi-archive)")
    f = tcp_session(tr, CORP_USER, MIRROR, 52000, 443,
                    [(tls_client_hello("hist-mirror.riverbend.example"), b"\x16\x03\x03\x00\x00")])
    tr.label(f, "C-01: z-ent 10.10.5.20 reads the historian mirror over HTTPS (TLS SNI)")
    f = tcp_session(tr, JUMP, HMI, 53000, 3389, [(rdp_cr("operator"), b"\x03\x00\x00\x0b"
                                                  b"\x06\xd0\x00\x00\x12\x34\x00")])
    tr.label(f, "C-02: jump-01 10.30.0.20 RDP to hmi 10.40.1.10")
    f = tcp_session(tr, SCADA1, SIS, 49500, 502, modbus_reads(3, 2))
    tr.label(f, "C-05: scada-srv 10.40.1.20 reads the SIS 10.70.1.2 (FC 3, read only)")
    return tr


def incident() -> Trace:
    tr = Trace()
    tcp_session(tr, SCADA1, PLC1, 49152, 502, modbus_reads(3, 2, 100))
    tr.label(1, "baseline: scada-srv polling PLC 10.50.1.10 (allowed)")
    write6 = mbap(7, 1, bytes.fromhex("0600280001"))
    write16 = mbap(8, 1, bytes.fromhex("100028000204" "00010002"))
    f = tcp_session(tr, CORP_ATTACKER, PLC1, 61000, 502,
                    [*modbus_reads(3, 1, 40), (write6, write6),
                     (write16, mbap(8, 1, bytes.fromhex("1000280002")))], iface=1)
    tr.label(f, "scenario 3: 10.10.7.33 (z-ent) writes PLC 10.50.1.10 — FC 6 unit 1 register "
                "40, then FC 16 registers 40-41")
    mei = mbap(9, 1, bytes.fromhex("2b0e0100"))
    f = tcp_session(tr, CORP_ATTACKER, PLC2, 61001, 502,
                    [(mei, mbap(9, 1, bytes.fromhex("2b0e01010000010006") + b"Vendor"))], iface=1)
    tr.label(f, "discovery: 10.10.7.33 reads device identification (FC 43/14) from PLC "
                "10.50.1.11")
    f = tcp_session(tr, CORP_FILESRV, EWS, 62000, 445, [(smb2_negotiate(), b"")])
    tr.label(f, "scenario 4: corporate 10.10.20.15 opens SMB to the EWS 10.40.1.50 "
                "(no rule permits IT->EWS)")
    f = tcp_session(tr, EWS, CORP_FILESRV, 62001, 3389, [(rdp_cr("eng"), b"")],
                    cli_mac=EWS_MAC)
    tr.label(f, "scenario 4: the EWS 10.40.1.50 opens RDP to corporate 10.10.20.15")
    nbns = (b"\x12\x34\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00\x20"
            + b"EOEBFACACACACACACACACACACACACACA" + b"\x00\x00\x20\x00\x01")
    first = tr.add(Ether(src=EWS_MAC, dst="ff:ff:ff:ff:ff:ff") /
                   IP(src=EWS_CORP_NIC, dst="10.10.255.255", ttl=64, id=0) /
                   UDP(sport=137, dport=137) / Raw(nbns))
    tr.label(first, "scenario 4: the EWS MAC 02:00:0a:28:01:32 sends corporate NBNS from "
                    "10.10.40.99 (same MAC in z-scada and z-ent)")
    f = tcp_session(tr, MIRROR, HIST, 63000, 5450, [(b"PULL" + bytes(28), bytes(64))])
    tr.label(f, "scenario 9: hist-mirror 10.30.0.10 initiates to historian 10.40.1.30:5450 "
                "(the policy says the historian pushes)")
    # appended later: the frames above keep their numbers
    f = tcp_session(tr, VPN_USER, HMI, 64000, 3389, [(rdp_cr("vpnuser"), b"")])
    tcp_session(tr, VPN_USER, SCADA1, 64001, 445, [(smb2_negotiate(), b"")])
    tr.label(f, "scenario 1: VPN pool 10.99.1.23 straight to SCADA: RDP to the HMI 10.40.1.10, "
                "SMB to scada-srv 10.40.1.20")
    f = tcp_session(tr, ENGINEER, JUMP, 64100, 3389, [(rdp_cr("eng"), b"")])
    tcp_session(tr, JUMP, EWS, 64101, 3389, [(rdp_cr("eng"), b"")])
    tr.label(f, "scenario 2: engineer 10.10.40.5 RDPs to jump-01 10.30.0.20, which RDPs on to "
                "the EWS 10.40.1.50 (same protocol into and out of the DMZ)")
    f = tcp_session(tr, SCADA1, SIS, 49600, 502, [(mbap(3, 1, bytes.fromhex("0600070001")),
                                                   mbap(3, 1, bytes.fromhex("0600070001")))])
    tr.label(f, "scenario 10: scada-srv 10.40.1.20 writes the SIS 10.70.1.2 (FC 6 register 7); "
                "C-05 allows reads only")
    name = "x7f3k9q2m8z1v5b0n4c6.tunnel.example"
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    query = b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + labels + b"\x00\x00\x10\x00\x01"
    first = tr.add(eth(PLC1, PUBLIC_DNS) / UDP(sport=53001, dport=53) / Raw(query))
    tr.label(first, "scenario 7: PLC 10.50.1.10 asks public DNS 192.0.2.53 for a TXT record of "
                    "a high-entropy name")
    f = tcp_session(tr, HMI, RELAY, 64200, 443,
                    [(tls_client_hello("support.vendor-relay.example"), b"\x16\x03\x03\x00\x00")])
    tr.label(f, "scenario 8: the HMI 10.40.1.10 opens TLS to a support relay 198.51.100.7 "
                "(SNI support.vendor-relay.example)")
    f = tcp_session(tr, CORP_USER, FW_OT_MGMT, 64300, 22, [(b"SSH-2.0-OpenSSH_9.2\r\n", b"")])
    tr.label(f, "scenario 12: corporate 10.10.5.20 opens SSH to fw-ot's management 10.250.0.2")
    return tr


def write_pcap(path: Path, tr: Trace) -> None:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for ts, _iface, raw in tr.frames:
        sec = int(ts)
        usec = round((ts - sec) * 1e6)
        out += struct.pack("<IIII", sec, usec, len(raw), len(raw)) + raw
    path.write_bytes(bytes(out))


def write_pcapng(path: Path, tr: Trace, ifnames: list[str]) -> None:
    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    def opt(code: int, val: bytes) -> bytes:
        return struct.pack("<HH", code, len(val)) + val + b"\0" * (-len(val) % 4)

    out = bytearray(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    for name in ifnames:
        out += block(1, struct.pack("<HHI", 1, 0, 65535) + opt(2, name.encode()) +
                     opt(9, b"\x06") + opt(0, b""))
    for ts, iface, raw in tr.frames:
        tick = round(ts * 1e6)
        out += block(6, struct.pack("<IIIII", iface, tick >> 32, tick & 0xFFFFFFFF, len(raw),
                                    len(raw)) + raw)
    path.write_bytes(bytes(out))


def readme(normal_tr: Trace, incident_tr: Trace) -> str:
    lines = [
        "# Riverbend Water example captures",
        "",
        "Synthetic, generated by `scripts/make_captures.py` (scapy; deterministic — rerun it and",
        "`git diff` shows no change). Addresses are those of the Riverbend policy",
        "(`policies/riverbend.yaml`, BRIEF.md §2.3). Frame numbers are 1-based, as Wireshark",
        "numbers them.",
        "",
        "Try: `segcheck flows captures/riverbend-incident.pcapng --policy policies/riverbend.yaml`",
        "",
    ]
    for name, tr, note in (
            ("riverbend-normal.pcap", normal_tr, "pcap, Ethernet: normal plant traffic; every "
             "flow matches a conduit flow."),
            ("riverbend-incident.pcapng", incident_tr, "pcapng with two interfaces "
             "(0 `span-scada`, 1 `tap-fw-ot-port1`): BRIEF.md §6 traffic-side scenarios.")):
        lines += [f"## {name}", "", note, "", "| frames | what |", "|---|---|"]
        lines += [f"| {a}–{b} | {text} |" for a, b, text in tr.labels]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "captures"))
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    n, i = normal(), incident()
    write_pcap(out / "riverbend-normal.pcap", n)
    write_pcapng(out / "riverbend-incident.pcapng", i, ["span-scada", "tap-fw-ot-port1"])
    (out / "README.md").write_text(readme(n, i))


if __name__ == "__main__":
    main()
