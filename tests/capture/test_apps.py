"""Application recognition by payload and ICS operation classes, one crafted PDU per case.

The PDUs are spelled out from the protocol specifications (BRIEF.md §3); the ones tshark can
dissect are also cross-checked against tshark's function-code fields (``test_*_tshark``)."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from segcheck.capture.apps import DECODERS, detect, dnp3_crc_ok, tls_sni
from segcheck.capture.flows import extract_flows
from tests.capture import tshark_oracle
from tests.capture.pcapgen import write_pcap
from tests.conftest import require_oracle


def mbap(pdu: bytes, unit: int = 1, tid: int = 1) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def crc(b: bytes) -> bytes:
    c = 0
    for byte in b:
        c ^= byte
        for _ in range(8):
            c = (c >> 1) ^ 0xA6BC if c & 1 else c >> 1
    return struct.pack("<H", ~c & 0xFFFF)


def dnp3(app: bytes, dst: int = 10, src: int = 1) -> bytes:
    head = struct.pack("<BBBBHH", 0x05, 0x64, 5 + len(app), 0xC4, dst, src)
    out = head + crc(head)
    for i in range(0, len(app), 16):
        out += app[i:i + 16] + crc(app[i:i + 16])
    return out


def tpkt_dt(data: bytes) -> bytes:
    return b"\x03\x00" + struct.pack(">H", 7 + len(data)) + b"\x02\xf0\x80" + data


def s7_job(param: bytes, data: bytes = b"") -> bytes:
    return tpkt_dt(struct.pack(">BBHHHH", 0x32, 1, 0, 1, len(param), len(data)) + param + data)


def enip(cmd: int, body: bytes = b"") -> bytes:
    return struct.pack("<HHII8sI", cmd, len(body), 1, 0, b"\0" * 8, 0) + body


def send_rr(cip: bytes) -> bytes:
    cpf = struct.pack("<IHH", 0, 0, 2) + struct.pack("<HH", 0, 0) + struct.pack(
        "<HH", 0xB2, len(cip)) + cip
    return enip(0x6F, cpf)


def cip(service: int, path: bytes, data: bytes = b"") -> bytes:
    return bytes([service, len(path) // 2]) + path + data


def sym(name: str) -> bytes:
    b = name.encode()
    return bytes([0x91, len(b)]) + b + (b"\0" if len(b) % 2 else b"")


def bacnet_confirmed(service: int) -> bytes:
    apdu = bytes([0x00, 0x05, 0x01, service]) + b"\x0c\x00\x00\x00\x01\x19\x55"
    npdu = b"\x01\x04"
    return b"\x81\x0a" + struct.pack(">H", 4 + len(npdu) + len(apdu)) + npdu + apdu


def bacnet_unconfirmed(service: int) -> bytes:
    body = b"\x01\x20\xff\xff\x00\xff" + bytes([0x10, service])
    return b"\x81\x0b" + struct.pack(">H", 4 + len(body)) + body


def iec104(type_id: int, cot: int = 6) -> bytes:
    asdu = bytes([type_id, 1, cot, 0, 1, 0]) + b"\x01\x00\x00" + b"\x01"
    apci = b"\x00\x00\x00\x00"
    return bytes([0x68, len(apci) + len(asdu)]) + apci + asdu


def opcua_msg(type_id: int) -> bytes:
    body = b"\x01\x00" + struct.pack("<H", type_id) + b"\x00" * 20
    chunk = b"MSGF" + struct.pack("<I", 24 + len(body)) + struct.pack("<IIII", 1, 1, 1, 1) + body
    return chunk


def opcua_opn(policy: str) -> bytes:
    uri = policy.encode()
    body = struct.pack("<I", 0) + struct.pack("<i", len(uri)) + uri + struct.pack("<ii", -1, -1)
    return b"OPNF" + struct.pack("<I", 8 + len(body)) + body


def mms_request(tag: int) -> bytes:
    service = bytes([0xA0 | tag, 0x00]) if tag < 31 else bytes([0xBF, tag, 0x00])
    confirmed = b"\x02\x01\x01" + service
    mms = bytes([0xA0, len(confirmed)]) + confirmed
    pdv = b"\x02\x01\x03" + bytes([0xA0, len(mms)]) + mms
    seq = bytes([0x30, len(pdv)]) + pdv
    pres = bytes([0x61, len(seq)]) + seq
    return tpkt_dt(b"\x01\x00\x01\x00" + pres)


def tls_hello(sni: str) -> bytes:
    name = sni.encode()
    ext = struct.pack(">HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    body = (b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" +
            struct.pack(">H", len(ext)) + ext)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


S7_ITEM = b"\x12\x0a\x10\x02\x00\x01\x00\x01\x84\x00\x00\x00"
RDP_CR = (b"\x03\x00\x00\x2a\x25\xe0\x00\x00\x00\x00\x00Cookie: mstshash=admin\r\n"
          b"\x01\x00\x08\x00\x03\x00\x00\x00")

# (id, transport, sport, dport, payload, app, from_client, expected operation classes)
CASES = [
    ("modbus-read", 6, 40000, 502, mbap(b"\x03\x00\x10\x00\x02"), "modbus", True, ["read"]),
    ("modbus-write6", 6, 40000, 502, mbap(b"\x06\x00\x10\x00\x01"), "modbus", True, ["write"]),
    ("modbus-write16", 6, 40000, 502, mbap(b"\x10\x00\x10\x00\x02\x04\x00\x01\x00\x02"),
     "modbus", True, ["write"]),
    ("modbus-write-coil", 6, 40000, 502, mbap(b"\x05\x00\x01\xff\x00"), "modbus", True, ["write"]),
    ("modbus-fc8-restart", 6, 40000, 502, mbap(b"\x08\x00\x01\x00\x00"), "modbus", True,
     ["control"]),
    ("modbus-fc8-listen-only", 6, 40000, 502, mbap(b"\x08\x00\x04\x00\x00"), "modbus", True,
     ["control"]),
    ("modbus-fc8-echo", 6, 40000, 502, mbap(b"\x08\x00\x00\x12\x34"), "modbus", True, ["read"]),
    ("modbus-43-14", 6, 40000, 502, mbap(b"\x2b\x0e\x01\x00"), "modbus", True, ["discovery"]),
    ("modbus-umas-stop", 6, 40000, 502, mbap(b"\x5a\x00\x41"), "modbus", True, ["control"]),
    ("modbus-umas-download", 6, 40000, 502, mbap(b"\x5a\x00\x34\x01"), "modbus", True,
     ["program"]),
    ("modbus-response-not-counted", 6, 502, 40000, mbap(b"\x06\x00\x10\x00\x01"), "modbus",
     False, []),
    ("modbus-exception", 6, 502, 40000, mbap(b"\x86\x02"), "modbus", False, ["exception"]),
    ("modbus-two-adus", 6, 40000, 502,
     mbap(b"\x03\x00\x00\x00\x01") + mbap(b"\x06\x00\x01\x00\x02"), "modbus", True,
     ["read", "write"]),
    ("http-on-502-is-not-modbus", 6, 40000, 502, b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n", "http",
     True, []),
    ("junk-on-502-is-not-modbus", 6, 40000, 502, b"\x00\x01\x00\x05\x00\x06\x01\x03", None,
     True, []),
    ("dnp3-read", 6, 40000, 20000, dnp3(b"\xc0\xc1\x01\x3c\x02\x06"), "dnp3", True, ["read"]),
    ("dnp3-on-20001", 6, 40000, 20001, dnp3(b"\xc0\xc1\x01\x3c\x02\x06"), "dnp3", True, ["read"]),
    ("dnp3-direct-operate-multiblock", 6, 40000, 20000,
     dnp3(b"\xc0\xc1\x05\x0c\x01\x28\x01\x00\x00\x00\x03\x01\xe8\x03\x00\x00\x00\x00\x00\x00\x00"),
     "dnp3", True, ["control"]),
    ("dnp3-cold-restart", 17, 40000, 20000, dnp3(b"\xc0\xc1\x0d"), "dnp3", True, ["control"]),
    ("dnp3-stop-app", 6, 40000, 20000, dnp3(b"\xc0\xc1\x12"), "dnp3", True, ["control"]),
    ("dnp3-write-time", 6, 40000, 20000, dnp3(b"\xc0\xc1\x02\x32\x01\x07\x01" + bytes(6)),
     "dnp3", True, ["time"]),
    ("dnp3-open-file", 6, 40000, 20000, dnp3(b"\xc0\xc1\x19\x46\x03\x5b\x01"), "dnp3", True,
     ["file"]),
    ("dnp3-response-not-counted", 6, 20000, 40000, dnp3(b"\xc0\xc1\x81\x00\x00"), "dnp3", False,
     []),
    ("s7-read-var", 6, 40000, 102, s7_job(b"\x04\x01" + S7_ITEM), "s7comm", True, ["read"]),
    ("s7-write-var", 6, 40000, 102, s7_job(b"\x05\x01" + S7_ITEM, b"\x00\x04\x00\x10\x00\x01"),
     "s7comm", True, ["write"]),
    ("s7-request-download", 6, 40000, 102, s7_job(b"\x1a\x00" + bytes(16)), "s7comm", True,
     ["program"]),
    ("s7-upload", 6, 40000, 102, s7_job(b"\x1d\x00" + bytes(16)), "s7comm", True, ["program"]),
    ("s7-plc-stop", 6, 40000, 102, s7_job(b"\x29\x00\x00\x00\x00\x00\x09P_PROGRAM"), "s7comm",
     True, ["control"]),
    ("s7-pi-insert", 6, 40000, 102,
     s7_job(b"\x28\x00\x00\x00\x00\x00\x00\xfd\x00\x02\x00\x00\x05_INSE"), "s7comm", True,
     ["program"]),
    ("s7-userdata-szl", 6, 40000, 102, tpkt_dt(struct.pack(">BBHHHH", 0x32, 7, 0, 1, 8, 4) +
                                                b"\x00\x01\x12\x04\x11\x44\x01\x00" +
                                                b"\xff\x09\x00\x00"), "s7comm", True,
     ["discovery"]),
    ("s7plus-set-variable", 6, 40000, 102, tpkt_dt(b"\x72\x02\x00\x20\x31\x00\x00\x04\xf2" +
                                                    bytes(20)), "s7comm-plus", True, ["write"]),
    ("s7plus-explore", 6, 40000, 102, tpkt_dt(b"\x72\x02\x00\x20\x31\x00\x00\x04\xbb" +
                                               bytes(20)), "s7comm-plus", True, ["discovery"]),
    ("rdp-cr-on-3389", 6, 40000, 3389, RDP_CR, "rdp", True, []),
    ("rdp-cr-on-102-is-not-s7", 6, 40000, 102, RDP_CR, "rdp", True, []),
    ("mms-write", 6, 40000, 102, mms_request(5), "mms", True, ["write"]),
    ("mms-read", 6, 40000, 102, mms_request(4), "mms", True, ["read"]),
    ("mms-download", 6, 40000, 102, mms_request(26), "mms", True, ["program"]),
    ("mms-file-delete", 6, 40000, 102, mms_request(76), "mms", True, ["file"]),
    ("enip-list-identity-udp", 17, 40000, 44818, enip(0x63), "enip", True, ["discovery"]),
    ("enip-register", 6, 40000, 44818, enip(0x65, b"\x01\x00\x00\x00"), "enip", True, []),
    ("cip-stop", 6, 40000, 44818, send_rr(cip(0x07, b"\x20\x01\x24\x01")), "enip", True,
     ["control"]),
    ("cip-reset", 6, 40000, 44818, send_rr(cip(0x05, b"\x20\x01\x24\x01", b"\x00")), "enip",
     True, ["control"]),
    ("cip-set-attribute-single", 6, 40000, 44818,
     send_rr(cip(0x10, b"\x20\xf5\x24\x01\x30\x05", b"\x01\x00")), "enip", True, ["config"]),
    ("cip-set-time", 6, 40000, 44818,
     send_rr(cip(0x10, b"\x20\x43\x24\x01\x30\x06", bytes(8))), "enip", True, ["time"]),
    ("cip-get-attribute-single", 6, 40000, 44818,
     send_rr(cip(0x0E, b"\x20\x01\x24\x01\x30\x01")), "enip", True, ["read"]),
    ("logix-write-tag", 6, 40000, 44818,
     send_rr(cip(0x4D, sym("Valve_1"), b"\xc1\x00\x01\x00\x01")), "enip", True, ["write"]),
    ("logix-read-tag", 6, 40000, 44818, send_rr(cip(0x4C, sym("Level"), b"\x01\x00")), "enip",
     True, ["read"]),
    ("cm-forward-close-is-not-a-write", 6, 40000, 44818,
     send_rr(cip(0x4E, b"\x20\x06\x24\x01", bytes(10))), "enip", True, []),
    ("unconnected-send-embedded-stop", 6, 40000, 44818,
     send_rr(cip(0x52, b"\x20\x06\x24\x01", b"\x07\xe9" + struct.pack("<H", 6) +
                 cip(0x07, b"\x20\x01\x24\x01") + b"\x01\x00\x01\x00")), "enip", True,
     ["control"]),
    ("multiple-service-packet", 6, 40000, 44818,
     send_rr(cip(0x0A, b"\x20\x02\x24\x01", struct.pack("<HHH", 2, 6, 12) +
                 cip(0x0E, b"\x20\x01\x24\x01") + cip(0x4D, sym("ab"), b"\xc1\x00\x01\x00"))),
     "enip", True, ["read", "write"]),
    ("bacnet-write-property", 17, 47808, 47808, bacnet_confirmed(15), "bacnet", True, ["write"]),
    ("bacnet-reinitialize", 17, 47808, 47808, bacnet_confirmed(20), "bacnet", True, ["control"]),
    ("bacnet-dcc", 17, 47808, 47808, bacnet_confirmed(17), "bacnet", True, ["control"]),
    ("bacnet-atomic-write-file", 17, 47808, 47808, bacnet_confirmed(7), "bacnet", True, ["file"]),
    ("bacnet-read-property", 17, 47808, 47808, bacnet_confirmed(12), "bacnet", True, ["read"]),
    ("bacnet-who-is", 17, 47808, 47808, bacnet_unconfirmed(8), "bacnet", True, ["discovery"]),
    ("bacnet-time-sync", 17, 47808, 47808, bacnet_unconfirmed(6), "bacnet", True, ["time"]),
    ("bacnet-register-foreign-device", 17, 47808, 47808, b"\x81\x05\x00\x06\x00\x3c", "bacnet",
     True, ["config"]),
    ("iec104-single-command", 6, 40000, 2404, iec104(45), "iec104", True, ["control"]),
    ("iec104-setpoint", 6, 40000, 2404, iec104(50), "iec104", True, ["write"]),
    ("iec104-interrogation", 6, 40000, 2404, iec104(100), "iec104", True, ["discovery"]),
    ("iec104-clock-sync", 6, 40000, 2404, iec104(103), "iec104", True, ["time"]),
    ("iec104-reset-process", 6, 40000, 2404, iec104(105), "iec104", True, ["control"]),
    ("iec104-actcon-not-counted", 6, 2404, 40000, iec104(45, cot=7), "iec104", False, []),
    ("iec104-startdt", 6, 40000, 2404, b"\x68\x04\x07\x00\x00\x00", "iec104", True, []),
    ("opcua-write", 6, 40000, 4840, opcua_msg(673), "opcua", True, ["write"]),
    ("opcua-call", 6, 40000, 4840, opcua_msg(712), "opcua", True, ["control"]),
    ("opcua-read", 6, 40000, 4840, opcua_msg(631), "opcua", True, ["read"]),
    ("opcua-browse", 6, 40000, 48010, opcua_msg(527), "opcua", True, ["discovery"]),
    ("opcua-hello", 6, 40000, 4840, b"HELF\x1c\x00\x00\x00" + bytes(20), "opcua", True, []),
    ("tls", 6, 40000, 443, tls_hello("plant.example"), "tls", True, []),
    ("ssh", 6, 40000, 22, b"SSH-2.0-OpenSSH_9.2\r\n", "ssh", True, []),
    ("smb2", 6, 40000, 445, b"\x00\x00\x00\x44\xfeSMB" + bytes(64), "smb", True, []),
    ("http", 6, 40000, 8080, b"POST /api HTTP/1.1\r\nHost: x\r\n\r\n", "http", True, []),
    ("dns", 17, 40000, 53,
     b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01", "dns", True,
     []),
]


@pytest.mark.parametrize(("transport", "sport", "dport", "payload", "app", "from_client", "ops"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_detect_and_operations(transport: int, sport: int, dport: int, payload: bytes,
                               app: str | None, from_client: bool, ops: list[str]) -> None:
    assert detect(payload, transport, sport, dport) == app
    if app in DECODERS:
        got = DECODERS[app](payload, from_client, {})
        assert [op for op, _ in got] == ops, got
    else:
        assert ops == []


def test_dnp3_crc() -> None:
    frame = dnp3(b"\xc0\xc1\x01")
    assert dnp3_crc_ok(frame[:10])
    assert not dnp3_crc_ok(frame[:8] + b"\x00\x00")


def test_tls_sni_and_opcua_security_none_notes(tmp_path: Path) -> None:
    assert tls_sni(tls_hello("hmi.plant.example")) == "hmi.plant.example"
    state: dict[str, object] = {}
    DECODERS["opcua"](opcua_opn("http://opcfoundation.org/UA/SecurityPolicy#None"), True, state)
    assert state["notes"] == {"opcua SecurityPolicy#None"}
    state2: dict[str, object] = {}
    DECODERS["opcua"](opcua_opn("http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"),
                      True, state2)
    assert DECODERS["opcua"](opcua_msg(673), True, state2) == []  # encrypted: not guessed


def _frames(cases: list[tuple[object, ...]]) -> list[bytes]:
    out = []
    for i, (_, transport, sport, dport, payload, *_rest) in enumerate(cases):
        l4 = (TCP(sport=int(sport) + i, dport=dport, flags="PA") if transport == 6  # type: ignore[call-overload]
              else UDP(sport=int(sport) + i, dport=dport))  # type: ignore[call-overload]
        out.append(bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                         IP(src="10.0.0.1", dst="10.0.0.2") / l4 / Raw(payload)))
    return out


@pytest.mark.parametrize(("prefix", "field"), [
    ("modbus", "modbus.func_code"), ("dnp3", "dnp3.al.func"), ("s7-", "s7comm.param.func"),
    ("iec104", "iec60870_asdu.typeid"), ("bacnet", "bacapp.confirmed_service"),
])
def test_function_codes_agree_with_tshark(tmp_path: Path, prefix: str, field: str) -> None:
    """tshark's decoded function code of each crafted request appears in our detail text."""
    if not tshark_oracle.available():
        require_oracle("tshark not installed")
    cases = [c for c in CASES if c[0].startswith(prefix) and c[6] and c[7]
             and c[7] != ["exception"]]
    p = write_pcap(tmp_path / "fc.pcap", _frames(cases))
    out = subprocess.run(["tshark", "-n", "-r", str(p), "-d", "tcp.port==20001,dnp3",
                          "-T", "fields", "-e", "frame.number", "-e", field],
                         capture_output=True, text=True, check=True).stdout
    codes = {int(line.split("\t")[0]): line.split("\t")[1] for line in out.splitlines()}
    res = extract_flows([p], workers=1)
    checked = 0
    for f in res.flows:
        for frame, _op, detail in f.events:
            want = codes.get(frame, "")
            if not want:
                continue
            codes_here = [int(c, 0) for c in want.split(",")]
            assert any(f"0x{c:02x}" in detail or f" {c} " in f" {detail} "
                       for c in codes_here), (detail, want)
            checked += 1
    assert checked >= len(cases) // 2
