"""Application recognition from payload, and ICS operation decoding.

``detect(payload, proto, sport, dport)`` names the application of a flow from one payload
(``None``: not recognised yet — the flow table keeps trying for a few packets). Recognition
is structural; ports only break ties where the structure is ambiguous (TPKT carries S7comm
and MMS on 102 but RDP on 3389; ``0x68`` starts IEC 104 only with a matching APCI). Traffic
on 502 that is not MBAP with protocol id 0 and a consistent length is *not* Modbus.

``decode(app, payload, from_client, state)`` returns the operations of one payload as
``(operation class, detail)`` pairs (requests only: responses repeat the request's code).
``state`` is a per-flow dict the decoders may use (OPC UA security policy, notes, SNI).
Decoders never raise on garbage: a malformed PDU yields no operation and increments
``state["malformed"]``. Per-segment decoding: no TCP reassembly (ICS PDUs are small; a PDU
split across segments is decoded when its header is in the segment, else counted malformed).

Function-code semantics live in ``segcheck.capture.tables`` (data, not code).
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable

from segcheck.capture import tables as T

Op = tuple[str, str]
"""(operation class, detail); the pseudo-classes ``unclassified`` (a recognised request whose
class no table gives: reported as a note, never guessed) and ``exception`` (a Modbus
exception response) are counted as notes, not operations."""
State = dict[str, object]
Decoder = Callable[[bytes, bool, State], list[Op]]

HTTP_METHODS = (b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ", b"PATCH ",
                b"CONNECT ", b"HTTP/1.")
OPCUA_TYPES = frozenset({b"HEL", b"ACK", b"ERR", b"RHE", b"OPN", b"MSG", b"CLO"})
DNS_PORTS = frozenset({53, 5353, 5355, 137})
PNIO_UUIDS = frozenset(
    enc for k in range(1, 5)
    for u in [uuid.UUID(f"dea0000{k}-6c97-11d1-8271-00a02442df7d")]
    for enc in (u.bytes, u.bytes_le))
"""PROFINET IO device/controller/supervisor/parameter-server DCE/RPC interfaces (both byte
orders: the RPC header's data representation decides)."""


def detect(p: bytes, proto: int, sport: int, dport: int) -> str | None:
    """The application carried by payload ``p`` (first match wins), or None."""
    n = len(p)
    ports = (sport, dport)
    if proto == 6:
        if n >= 8 and p[2] == 0 and p[3] == 0 and (502 in ports or 802 in ports) and _mbap_ok(p):
            return "modbus"
        if n >= 7 and p[0] == 3 and p[1] == 0:
            return _tpkt_app(p, ports)
        if n >= 10 and p[0] == 0x05 and p[1] == 0x64 and p[2] >= 5 and dnp3_crc_ok(p[:10]):
            return "dnp3"
        if n >= 24 and _enip_ok(p):
            return "enip"
        if n >= 8 and p[:3] in OPCUA_TYPES and p[3:4] in (b"F", b"C", b"A"):
            return "opcua"
        if n >= 6 and p[0] == 0x68 and _iec104_ok(p, ports):
            return "iec104"
        if p.startswith(b"SSH-"):
            return "ssh"
        if n >= 6 and p[0] == 0x16 and p[1] == 3 and p[5] in (1, 2):
            return "rdp" if 3389 in ports else "tls"
        if p.startswith(HTTP_METHODS):
            return "http"
        if n >= 8 and p[0] == 0 and p[5:8] == b"SMB" and p[4] in (0xFF, 0xFE, 0xFD):
            return "smb"
        if n >= 14 and (53 in ports) and (p[0] << 8 | p[1]) == n - 2:
            return "dns"
        return None
    if proto == 17:
        if n >= 4 and p[0] in (0x81, 0x82) and p[1] <= 0x0C and 4 <= (p[2] << 8 | p[3]) <= n and (
                p[1] not in (0x0A, 0x0B) or (n > 4 and p[4] == 1)):
            return "bacnet"
        if n >= 80 and p[0] == 4 and p[24:40] in PNIO_UUIDS:  # DCE/RPC to a PROFINET IO interface
            return "profinet"
        if n >= 10 and p[0] == 0x05 and p[1] == 0x64 and p[2] >= 5 and dnp3_crc_ok(p[:10]):
            return "dnp3"
        if n >= 24 and _enip_ok(p):
            return "enip"
        if n >= 6 and p[:4] == b"\x02\x00\x02\x80":  # CPF: sequenced address + connected data
            return "enip"
        if n >= 12 and DNS_PORTS & set(ports):
            return {137: "nbns", 5355: "llmnr", 5353: "mdns"}.get(
                min(sport, dport) if 53 not in ports else 53, "dns")
        if 34964 in ports:
            return "profinet"
        if 3389 in ports:
            return "rdp"
        if n >= 48 and 123 in ports:
            return "ntp"
        if 67 in ports or 68 in ports:
            return "dhcp"
    return None


def _mbap_ok(p: bytes) -> bool:
    """Every MBAP ADU in ``p`` has protocol id 0, a length that fits, and a valid FC."""
    i, n = 0, len(p)
    while i + 8 <= n:
        length = p[i + 4] << 8 | p[i + 5]
        fc = p[i + 7] & 0x7F
        if p[i + 2] or p[i + 3] or length < 2 or length > 254 or not 1 <= fc <= 127:
            return False
        i += 6 + length
    return i == n


def _tpkt_app(p: bytes, ports: tuple[int, int]) -> str | None:
    if (p[2] << 8 | p[3]) < 7:
        return None
    li, ctype = p[4], p[5] & 0xF0
    on102 = 102 in ports
    if ctype == 0xF0 and len(p) > 5 + li:
        first = p[5 + li]
        if on102 and first == 0x32:
            return "s7comm"
        if on102 and first == 0x72:
            return "s7comm-plus"
        if on102 and first in (0x0D, 0x01, 0x0E, 0x19):
            return "mms"
        return "rdp" if 3389 in ports or not on102 else None
    if ctype in (0xE0, 0xD0):
        if b"Cookie: mstshash=" in p or 3389 in ports:
            return "rdp"
        if not on102 and len(p) >= 19 and p[-8] == 1:  # RDP negotiation request
            return "rdp"
    return None


def _enip_ok(p: bytes) -> bool:
    cmd, length = struct.unpack_from("<HH", p)
    return (cmd in T.ENIP_COMMANDS and length == len(p) - 24 and p[8:12] == b"\0\0\0\0") or (
        cmd in (0x63, 0x64, 0x04) and length == len(p) - 24)


def _iec104_ok(p: bytes, ports: tuple[int, int]) -> bool:
    i, n = 0, len(p)
    while i + 6 <= n:
        if p[i] != 0x68 or p[i + 1] < 4:
            return False
        i += 2 + p[i + 1]
    return i == n and (2404 in ports or p[2] & 3 == 3 or p[1] > 4)


# --- decoders ------------------------------------------------------------------------------
def _entry(table: dict[int, T.Entry], code: int, what: str, out: list[Op], extra: str = "",
           ) -> None:
    op, name = table.get(code, (None, f"unknown {what} 0x{code:02x}"))
    if op is not None:
        out.append((op, f"{what} 0x{code:02x} {name}{extra}"))


def modbus(p: bytes, from_client: bool, state: State) -> list[Op]:
    out: list[Op] = []
    i, n = 0, len(p)
    while i + 8 <= n:
        length = p[i + 4] << 8 | p[i + 5]
        unit, fc = p[i + 6], p[i + 7]
        pdu = p[i + 7:i + 6 + length]
        i += 6 + length
        if fc & 0x80:
            out.append(("exception", f"fc 0x{fc & 0x7F:02x} exception code "
                                     f"{pdu[1] if len(pdu) > 1 else '?'} unit {unit}"))
            continue
        if not from_client:
            continue
        addr = f" unit {unit}" + (f" addr {pdu[1] << 8 | pdu[2]}" if len(pdu) >= 3 else "")
        if fc == 8 and len(pdu) >= 3:
            _entry(T.MODBUS_DIAG_SUBFN, pdu[1] << 8 | pdu[2], "fc 8 sub-function", out,
                   f" unit {unit}")
        elif fc == 43 and len(pdu) >= 2:
            _entry(T.MODBUS_MEI, pdu[1], "fc 43 mei", out, f" unit {unit}")
        elif fc == 90 and len(pdu) >= 3:
            _entry(T.MODBUS_UMAS, pdu[2], "fc 90 umas", out, f" unit {unit}")
        else:
            _entry(T.MODBUS_FC, fc, "fc", out, addr)
    return out


def dnp3_crc_ok(block: bytes) -> bool:
    """Whether the last two bytes of ``block`` are the DNP3 CRC of the rest."""
    crc = 0
    for byte in block[:-2]:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
    crc = ~crc & 0xFFFF
    return block[-2] == crc & 0xFF and block[-1] == crc >> 8


def dnp3_user_data(p: bytes) -> list[bytes]:
    """Link frames in ``p`` -> their user data with the CRC of every block removed."""
    frames: list[bytes] = []
    i, n = 0, len(p)
    while i + 10 <= n and p[i] == 0x05 and p[i + 1] == 0x64:
        length = p[i + 2]
        if length < 5:
            break
        udl = length - 5
        body, j = bytearray(), i + 10
        while udl > 0 and j < n:
            take = min(16, udl)
            body += p[j:j + take]
            j += take + 2
            udl -= take
        frames.append(bytes(body))
        i = j
    return frames


def dnp3(p: bytes, from_client: bool, state: State) -> list[Op]:
    out: list[Op] = []
    for ud in dnp3_user_data(p):
        if len(ud) < 3 or not ud[0] & 0x40:  # transport FIR: the application header follows
            continue
        fc = ud[2]
        if fc >= 0x81:
            continue
        extra = ""
        if fc == 0x02 and len(ud) >= 4 and ud[3] in T.DNP3_TIME_GROUPS:
            out.append(("time", f"dnp3 fc 0x02 write time (g{ud[3]})"))
            continue
        if fc == 0x02 and len(ud) >= 4 and ud[3] == T.DNP3_FILE_GROUP:
            out.append(("file", "dnp3 fc 0x02 write file object (g70)"))
            continue
        if len(ud) >= 5:
            extra = f" g{ud[3]}v{ud[4]}"
        _entry(T.DNP3_FC, fc, "dnp3 fc", out, extra)
    return out


def _cotp_data(p: bytes) -> bytes | None:
    if len(p) < 7 or p[0] != 3 or p[5] & 0xF0 != 0xF0:
        return None
    return p[5 + p[4]:]


def s7comm(p: bytes, from_client: bool, state: State) -> list[Op]:
    out: list[Op] = []
    i = 0
    while i + 7 <= len(p) and p[i] == 3:
        seg_len = p[i + 2] << 8 | p[i + 3]
        data = _cotp_data(p[i:i + seg_len])
        i += max(seg_len, 4)
        if not data or len(data) < 10:
            continue
        if data[0] == 0x72:
            out += _s7plus(data)
            continue
        if data[0] != 0x32:
            continue
        rosctr, plen = data[1], data[6] << 8 | data[7]
        if rosctr == 1:
            param = data[10:10 + plen]
            if not param:
                continue
            fn = param[0]
            if fn == 0x28:
                name = _pi_service(param)
                op, label = T.S7_PI_SERVICES.get(name, ("control", "PI service"))
                out.append((op or "control", f"s7 0x28 {label} {name}".rstrip()))
            else:
                _entry(T.S7_JOB_FUNCTION, fn, "s7 function", out)
        elif rosctr == 7:
            param = data[10:10 + plen]
            if len(param) >= 7 and param[:3] == b"\x00\x01\x12" and param[5] >> 4 == 4:
                _entry(T.S7_USERDATA_GROUP, param[5] & 0x0F, "s7 userdata group", out,
                       f" subfunction 0x{param[6]:02x}")
    return out


def _pi_service(param: bytes) -> str:
    """The PI service name at the end of a 0x28 parameter block (e.g. ``_INSE``)."""
    if len(param) < 10:
        return ""
    plen = param[8] << 8 | param[9]
    k = 10 + plen
    if k < len(param):
        nlen = param[k]
        return param[k + 1:k + 1 + nlen].decode("latin-1")
    return ""


def _s7plus(d: bytes) -> list[Op]:
    if len(d) < 13 or d[4] != 0x31:  # opcode 0x31 = request
        return []
    out: list[Op] = []
    _entry(T.S7PLUS_FUNCTION, d[7] << 8 | d[8], "s7+ function", out)
    return out


def mms(p: bytes, from_client: bool, state: State) -> list[Op]:
    """ISO session DATA TRANSFER -> presentation PDV -> MMS confirmed-request service tag."""
    data = _cotp_data(p)
    if not data or not from_client or data[:4] != b"\x01\x00\x01\x00":
        return []
    pres = data[4:]
    try:
        tag, body, _ = _ber(pres, 0)
        if tag != 0x61:
            return []
        tag, pdv, _ = _ber(body, 0)  # PDV-list SEQUENCE
        j = 0
        while j < len(pdv):
            tag, val, j = _ber(pdv, j)
            if tag == 0xA0:  # single-ASN1-type: the MMS PDU
                mtag, mbody, _ = _ber(val, 0)
                if mtag != 0xA0:  # confirmed-RequestPDU
                    return []
                _, _, k = _ber(mbody, 0)  # invokeID
                stag = mbody[k]
                num = stag & 0x1F
                if num == 0x1F:
                    num = mbody[k + 1] & 0x7F
                out: list[Op] = []
                _entry(T.MMS_SERVICES, num, "mms service", out)
                return out
    except IndexError:
        state["malformed"] = int(state.get("malformed", 0)) + 1  # type: ignore[call-overload]
    return []


def _ber(b: bytes, i: int) -> tuple[int, bytes, int]:
    """(tag byte, value, next offset) of the BER element at ``i`` (single-byte tags)."""
    tag = b[i]
    if tag & 0x1F == 0x1F:
        i += 1
        while b[i] & 0x80:
            i += 1
    ln = b[i + 1]
    i += 2
    if ln & 0x80:
        k = ln & 0x7F
        ln = int.from_bytes(b[i:i + k], "big")
        i += k
    if i + ln > len(b):
        raise IndexError("BER element runs past its buffer")
    return tag, b[i:i + ln], i + ln


def enip(p: bytes, from_client: bool, state: State) -> list[Op]:
    if len(p) < 24:
        return []
    cmd, length = struct.unpack_from("<HH", p)
    out: list[Op] = []
    if cmd in (0x6F, 0x70):
        for item in _cpf_data(p[24:24 + length], cmd == 0x70):
            cip(item, out, 0)
    elif not from_client and cmd in (0x63, 0x64, 0x04):
        return []
    else:
        _entry(T.ENIP_COMMANDS, cmd, "enip command", out)
    return out


def _cpf_data(b: bytes, connected: bool) -> list[bytes]:
    if len(b) < 8:
        return []
    count = b[6] | b[7] << 8
    i, items = 8, []
    for _ in range(count):
        if i + 4 > len(b):
            break
        typ, ln = struct.unpack_from("<HH", b, i)
        val = b[i + 4:i + 4 + ln]
        i += 4 + ln
        if typ == 0xB2:
            items.append(val)
        elif typ == 0xB1 and len(val) > 2:
            items.append(val[2:])
    return items


def cip_path(path: bytes) -> tuple[int | None, int | None, str | None]:
    """(class, instance, symbolic tag) from a CIP EPATH."""
    cls = inst = None
    sym = None
    i = 0
    while i < len(path):
        seg = path[i]
        if seg == 0x20 and i + 1 < len(path):
            cls, i = path[i + 1], i + 2
        elif seg == 0x21 and i + 3 < len(path):
            cls, i = path[i + 2] | path[i + 3] << 8, i + 4
        elif seg == 0x24 and i + 1 < len(path):
            inst, i = path[i + 1], i + 2
        elif seg == 0x25 and i + 3 < len(path):
            inst, i = path[i + 2] | path[i + 3] << 8, i + 4
        elif seg in (0x28, 0x30) and i + 1 < len(path):
            i += 2
        elif seg in (0x29, 0x31):
            i += 4
        elif seg == 0x91 and i + 1 < len(path):
            ln = path[i + 1]
            name = path[i + 2:i + 2 + ln].decode("latin-1")
            sym = name if sym is None else f"{sym}.{name}"
            i += 2 + ln + (ln & 1)
        else:
            break
    return cls, inst, sym


def cip(m: bytes, out: list[Op], depth: int) -> None:
    """Operations of one CIP request (recursing into multiple-service and unconnected send)."""
    if len(m) < 2 or m[0] & 0x80 or depth > 3:
        return
    svc, words = m[0], m[1]
    path = m[2:2 + 2 * words]
    body = m[2 + 2 * words:]
    cls, inst, sym = cip_path(path)
    where = f" class 0x{cls:02x}" if cls is not None else ""
    where += f" instance {inst}" if inst is not None else ""
    where += f" tag {sym}" if sym else ""
    if svc == 0x0A and len(body) >= 2:
        count = body[0] | body[1] << 8
        offs = [body[2 + 2 * k] | body[3 + 2 * k] << 8 for k in range(count)
                if 3 + 2 * k < len(body)]
        for k, o in enumerate(offs):
            stop = offs[k + 1] if k + 1 < len(offs) else len(body)
            cip(body[o:stop], out, depth + 1)
        return
    if cls == 0x06 and svc in T.CIP_CONNECTION_MANAGER_SERVICES:
        if svc == 0x52 and len(body) >= 4:
            size = body[2] | body[3] << 8
            cip(body[4:4 + size], out, depth + 1)
        return
    if svc >= 0x4B:
        vendor = cls is not None and T.CIP_VENDOR_CLASSES[0] <= cls <= T.CIP_VENDOR_CLASSES[1]
        if sym is not None or cls in T.CIP_LOGIX_CLASSES or vendor:
            _entry(T.CIP_LOGIX_SERVICES, svc, "cip logix service", out, where)
        else:  # class-specific service of a class we have no table for: say so, not guess
            out.append(("unclassified", f"cip class-specific service 0x{svc:02x}{where}"))
        return
    op, name = T.CIP_SERVICES.get(svc, (None, f"unknown service 0x{svc:02x}"))
    if svc in (0x02, 0x04, 0x10) and cls in T.CIP_SET_CLASS_OVERRIDE:
        op = T.CIP_SET_CLASS_OVERRIDE[cls]
    if op is not None:
        out.append((op, f"cip service 0x{svc:02x} {name}{where}"))


def bacnet(p: bytes, from_client: bool, state: State) -> list[Op]:
    if len(p) < 4 or p[0] != 0x81:
        return []
    fn = p[1]
    out: list[Op] = []
    if fn not in (0x04, 0x09, 0x0A, 0x0B):
        _entry(T.BVLC_FUNCTIONS, fn, "bvlc function", out)
        return out
    i = 10 if fn == 0x04 else 4
    if i + 2 > len(p) or p[i] != 1:
        return out
    ctrl = p[i + 1]
    i += 2
    try:
        if ctrl & 0x20:  # DNET, DLEN, DADR (hop count comes after SADR)
            i += 3 + p[i + 2]
        if ctrl & 0x08:
            i += 3 + p[i + 2]
        if ctrl & 0x20:
            i += 1
        if ctrl & 0x80:
            _entry(T.BACNET_NETWORK_MESSAGES, p[i], "bacnet network message", out)
            return out
        kind = p[i] >> 4
        if kind == 0:
            svc = p[i + 5] if p[i] & 0x08 else p[i + 3]
            _entry(T.BACNET_CONFIRMED, svc, "bacnet confirmed service", out)
        elif kind == 1:
            _entry(T.BACNET_UNCONFIRMED, p[i + 1], "bacnet unconfirmed service", out)
    except IndexError:
        state["malformed"] = int(state.get("malformed", 0)) + 1  # type: ignore[call-overload]
    return out


def iec104(p: bytes, from_client: bool, state: State) -> list[Op]:
    out: list[Op] = []
    i, n = 0, len(p)
    while i + 6 <= n and p[i] == 0x68:
        ln = p[i + 1]
        apdu = p[i + 2:i + 2 + ln]
        i += 2 + ln
        if len(apdu) < 10 or apdu[0] & 1:  # S- or U-format: no ASDU
            continue
        tid, cot = apdu[4], apdu[6] & 0x3F
        if tid >= 45 and cot in T.IEC104_REQUEST_COT:
            _entry(T.IEC104_TYPES, tid, "iec104 type", out, f" cot {cot}")
    return out


def opcua(p: bytes, from_client: bool, state: State) -> list[Op]:
    out: list[Op] = []
    i = 0
    while i + 8 <= len(p):
        mtype = p[i:i + 3]
        size = int.from_bytes(p[i + 4:i + 8], "little")
        chunk = p[i:i + size] if size >= 8 else p[i:]
        i += max(size, 8)
        if mtype == b"OPN" and len(chunk) >= 16:
            ulen = int.from_bytes(chunk[12:16], "little", signed=True)
            uri = chunk[16:16 + max(ulen, 0)].decode("latin-1")
            state["security_policy"] = uri
            if uri.endswith("#None"):
                notes = state.setdefault("notes", set())
                if isinstance(notes, set):
                    notes.add("opcua SecurityPolicy#None")
        elif mtype == b"MSG" and from_client and len(chunk) >= 28:
            if str(state.get("security_policy", "#None")).endswith("#None") is False:
                continue  # body is signed/encrypted: the request type may not be visible
            b = chunk[24:]
            enc = b[0]
            if enc == 0x01 and len(b) >= 4:
                tid = b[2] | b[3] << 8
            elif enc == 0x00 and len(b) >= 2:
                tid = b[1]
            elif enc == 0x02 and len(b) >= 7:
                tid = int.from_bytes(b[3:7], "little")
            else:
                continue
            _entry(T.OPCUA_REQUESTS, tid, "opcua request", out)
    return out


def profinet(p: bytes, from_client: bool, state: State) -> list[Op]:
    """PROFINET over L2 (payload starts at the frame id); DCP requests carry operations."""
    out: list[Op] = []
    if len(p) < 4:
        return out
    fid = p[0] << 8 | p[1]
    if 0xFEFC <= fid <= 0xFEFF and p[3] == 0:  # service type 0 = request
        svc = p[2]
        extra = ""
        if svc == 4 and len(p) >= 14 and p[12] == 5 and p[13] == 6:
            out.append(("control", "DCP set control/factory reset"))
            return out
        _entry(T.PN_DCP_SERVICES, svc, "profinet dcp service", out, extra)
    return out


def tls(p: bytes, from_client: bool, state: State) -> list[Op]:
    if "sni" not in state and from_client:
        sni = tls_sni(p)
        if sni:
            state["sni"] = sni
    return []


def tls_sni(p: bytes) -> str | None:
    """The server name of a TLS ClientHello record, or None."""
    try:
        if p[0] != 0x16 or p[5] != 1:
            return None
        i = 9 + 2 + 32
        i += 1 + p[i]
        i += 2 + (p[i] << 8 | p[i + 1])
        i += 1 + p[i]
        end = i + 2 + (p[i] << 8 | p[i + 1])
        i += 2
        while i + 4 <= min(end, len(p)):
            etype, elen = p[i] << 8 | p[i + 1], p[i + 2] << 8 | p[i + 3]
            if etype == 0 and elen >= 5:
                nlen = p[i + 7] << 8 | p[i + 8]
                return p[i + 9:i + 9 + nlen].decode("ascii", "replace")
            i += 4 + elen
    except IndexError:
        return None
    return None


def http(p: bytes, from_client: bool, state: State) -> list[Op]:
    if from_client and "host" not in state:
        for line in p.split(b"\r\n", 32)[1:]:
            if line[:5].lower() == b"host:":
                state["host"] = line[5:].strip().decode("latin-1")
                break
    return []


def _modbus_key(p: bytes) -> bytes:
    """Modbus without its transaction id."""
    return p[2:]


def _s7_key(p: bytes) -> bytes:
    """S7comm without its PDU reference (TPKT 4 + COTP DT 3 + 0x32 rosctr reserved)."""
    return p[:11] + p[13:] if len(p) > 13 and p[4] == 2 else p


def _whole(p: bytes) -> bytes:
    """The payload itself (DNP3: the decoder reads neither state nor direction)."""
    return p


CACHE_KEY: dict[str, Callable[[bytes], bytes]] = {
    "modbus": _modbus_key,
    "s7comm": _s7_key,
    "dnp3": _whole,
}
"""Apps whose decoder is a pure function of ``key(payload)`` (the bytes that change on
every request — transaction ids, PDU references — left out), so the flow table may memoise
it: repeated polling then costs one dict lookup."""

DECODERS: dict[str, Decoder] = {
    "modbus": modbus, "dnp3": dnp3, "s7comm": s7comm, "s7comm-plus": s7comm, "mms": mms,
    "enip": enip, "bacnet": bacnet, "iec104": iec104, "opcua": opcua, "profinet": profinet,
    "tls": tls, "http": http,
}
"""App -> decoder for every payload of that app (others: recognition only)."""
ICS_APPS = frozenset({"modbus", "dnp3", "s7comm", "s7comm-plus", "mms", "enip", "bacnet",
                      "iec104", "opcua", "profinet", "goose", "sv", "ethercat", "powerlink",
                      "mrp"})
