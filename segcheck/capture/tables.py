"""ICS protocol semantics as data: function codes -> (operation class, name).

Operation classes are the eight of BRIEF.md §2.2: ``read``, ``write``, ``program``,
``control``, ``config``, ``file``, ``discovery``, ``time``. A code mapped to ``None`` is
recognised but is no operation (session set-up, keep-alive, acknowledgement).

Sources: the Wireshark dissectors named in BRIEF.md §3 [18]; values marked ⚠ are vendor
specific or disputed and kept here so they can be corrected without touching code.
Program *upload* (reading logic out of a PLC) is classed ``program`` like download: a conduit
that allows ``read`` does not thereby allow copying the controller's program.
"""

from __future__ import annotations

from typing import Final

OPERATIONS: Final = ("read", "write", "program", "control", "config", "file", "discovery", "time")
"""The operation classes, in report order."""

Entry = tuple[str | None, str]

# --- Modbus/TCP (MBAP protocol id 0) -------------------------------------------------------
MODBUS_FC: Final[dict[int, Entry]] = {
    1: ("read", "read coils"),
    2: ("read", "read discrete inputs"),
    3: ("read", "read holding registers"),
    4: ("read", "read input registers"),
    5: ("write", "write single coil"),
    6: ("write", "write single register"),
    7: ("read", "read exception status"),
    8: ("read", "diagnostics"),
    11: ("read", "get comm event counter"),
    12: ("read", "get comm event log"),
    15: ("write", "write multiple coils"),
    16: ("write", "write multiple registers"),
    17: ("discovery", "report server id"),
    20: ("file", "read file record"),
    21: ("write", "write file record"),
    22: ("write", "mask write register"),
    23: ("write", "read/write multiple registers"),
    24: ("read", "read fifo queue"),
    43: ("read", "encapsulated interface transport"),
    90: ("program", "UMAS (Schneider) ⚠"),
}
MODBUS_DIAG_SUBFN: Final[dict[int, Entry]] = {
    0x00: ("read", "return query data (echo)"),
    0x01: ("control", "restart communications option"),
    0x02: ("read", "return diagnostic register"),
    0x03: ("config", "change ascii input delimiter"),
    0x04: ("control", "force listen only mode"),
    0x0A: ("config", "clear counters and diagnostic register"),
    0x14: ("config", "clear overrun counter and flag"),
}
MODBUS_MEI: Final[dict[int, Entry]] = {
    13: ("config", "CANopen general reference"),
    14: ("discovery", "read device identification"),
}
MODBUS_UMAS: Final[dict[int, Entry]] = {  # ⚠ Schneider UMAS, from public reverse engineering
    0x01: ("discovery", "init comm"),
    0x02: ("discovery", "read id"),
    0x03: ("read", "read project info"),
    0x04: ("read", "read plc info"),
    0x06: ("read", "read card info"),
    0x0A: ("read", "repeat"),
    0x10: ("config", "take plc reservation"),
    0x11: ("config", "release plc reservation"),
    0x12: (None, "keep alive"),
    0x20: ("read", "read memory block"),
    0x22: ("read", "read variables"),
    0x23: ("write", "write variables"),
    0x24: ("read", "read coils/registers"),
    0x25: ("write", "write coils/registers"),
    0x30: ("program", "initialize upload"),
    0x31: ("program", "upload block"),
    0x32: ("program", "end strategy upload"),
    0x33: ("program", "initialize download"),
    0x34: ("program", "download block"),
    0x35: ("program", "end strategy download"),
    0x39: ("read", "read ethernet master data"),
    0x40: ("control", "start plc"),
    0x41: ("control", "stop plc"),
    0x50: ("read", "monitor plc"),
    0x58: ("read", "check plc"),
    0x70: ("read", "read io object"),
    0x71: ("write", "write io object"),
    0x73: ("read", "get status module"),
}

# --- DNP3 application layer (requests: FC <= 0x21; responses 0x81-0x83) ---------------------
DNP3_FC: Final[dict[int, Entry]] = {
    0x00: (None, "confirm"),
    0x01: ("read", "read"),
    0x02: ("write", "write"),
    0x03: ("control", "select"),
    0x04: ("control", "operate"),
    0x05: ("control", "direct operate"),
    0x06: ("control", "direct operate no ack"),
    0x07: ("control", "immediate freeze"),
    0x08: ("control", "immediate freeze no ack"),
    0x09: ("control", "freeze clear"),
    0x0A: ("control", "freeze clear no ack"),
    0x0B: ("control", "freeze at time"),
    0x0C: ("control", "freeze at time no ack"),
    0x0D: ("control", "cold restart"),
    0x0E: ("control", "warm restart"),
    0x0F: ("config", "initialize data"),
    0x10: ("control", "initialize application"),
    0x11: ("control", "start application"),
    0x12: ("control", "stop application"),
    0x13: ("config", "save configuration"),
    0x14: ("config", "enable unsolicited"),
    0x15: ("config", "disable unsolicited"),
    0x16: ("config", "assign class"),
    0x17: ("time", "delay measurement"),
    0x18: ("time", "record current time"),
    0x19: ("file", "open file"),
    0x1A: ("file", "close file"),
    0x1B: ("file", "delete file"),
    0x1C: ("file", "get file info"),
    0x1D: ("file", "authenticate file"),
    0x1E: ("file", "abort file"),
    0x1F: ("config", "activate config"),
    0x20: (None, "authenticate request"),
    0x21: (None, "authenticate request no ack"),
}
DNP3_TIME_GROUPS: Final = frozenset({50, 51, 52})
"""Object groups whose WRITE sets the outstation clock (g50 time and date)."""
DNP3_FILE_GROUP: Final = 70

# --- S7comm (0x32) --------------------------------------------------------------------------
S7_JOB_FUNCTION: Final[dict[int, Entry]] = {
    0x00: (None, "cpu services"),
    0x04: ("read", "read var"),
    0x05: ("write", "write var"),
    0x1A: ("program", "request download"),
    0x1B: ("program", "download block"),
    0x1C: ("program", "download ended"),
    0x1D: ("program", "start upload"),
    0x1E: ("program", "upload"),
    0x1F: ("program", "end upload"),
    0x28: ("control", "PI service"),
    0x29: ("control", "PLC stop"),
    0xF0: (None, "setup communication"),
}
S7_PI_SERVICES: Final[dict[str, Entry]] = {
    "_INSE": ("program", "PI insert block"),
    "_DELE": ("program", "PI delete block"),
    "P_PROGRAM": ("control", "PI program start/stop"),
    "_GARB": ("program", "PI compress memory"),
    "_MODU": ("program", "PI copy RAM to ROM"),
}
S7_USERDATA_GROUP: Final[dict[int, Entry]] = {
    0x1: ("control", "programmer commands"),
    0x2: ("read", "cyclic data"),
    0x3: ("discovery", "block functions"),
    0x4: ("discovery", "cpu functions (SZL)"),
    0x5: ("config", "security"),
    0x6: ("read", "PBC bsend/brecv"),
    0x7: ("time", "time functions"),
}
S7PLUS_FUNCTION: Final[dict[int, Entry]] = {  # ⚠ from the S7CommPlus dissector [19]
    0x04BB: ("discovery", "explore"),
    0x04CA: ("config", "create object"),
    0x04D4: ("config", "delete object"),
    0x04F2: ("write", "set variable"),
    0x04FC: ("read", "get variable"),
    0x0506: (None, "add link"),
    0x051A: (None, "remove link"),
    0x0524: ("read", "get link"),
    0x0542: ("write", "set multi variables"),
    0x054C: ("read", "get multi variables"),
    0x0556: ("program", "begin sequence"),
    0x0560: ("program", "end sequence"),
    0x056B: ("control", "invoke"),
    0x057C: ("write", "set var substreamed"),
    0x0586: ("read", "get var substreamed"),
    0x0590: ("read", "get variables address"),
    0x059A: (None, "abort"),
}

# --- EtherNet/IP encapsulation and CIP ------------------------------------------------------
ENIP_COMMANDS: Final[dict[int, Entry]] = {
    0x0001: (None, "nop"),
    0x0004: ("discovery", "list services"),
    0x0063: ("discovery", "list identity"),
    0x0064: ("discovery", "list interfaces"),
    0x0065: (None, "register session"),
    0x0066: (None, "unregister session"),
    0x006F: (None, "send rr data"),
    0x0070: (None, "send unit data"),
    0x0072: (None, "indicate status"),
    0x0073: (None, "cancel"),
}
CIP_SERVICES: Final[dict[int, Entry]] = {
    0x01: ("read", "get attributes all"),
    0x02: ("config", "set attributes all"),
    0x03: ("read", "get attribute list"),
    0x04: ("config", "set attribute list"),
    0x05: ("control", "reset"),
    0x06: ("control", "start"),
    0x07: ("control", "stop"),
    0x08: ("config", "create"),
    0x09: ("config", "delete"),
    0x0A: (None, "multiple service packet"),
    0x0D: ("config", "apply attributes"),
    0x0E: ("read", "get attribute single"),
    0x10: ("config", "set attribute single"),
    0x11: ("discovery", "find next object instance"),
    0x14: (None, "error response"),
    0x15: ("config", "restore"),
    0x16: ("config", "save"),
    0x17: (None, "nop"),
    0x18: ("read", "get member"),
    0x19: ("write", "set member"),
    0x1A: ("write", "insert member"),
    0x1B: ("write", "remove member"),
}
CIP_CONNECTION_MANAGER_SERVICES: Final[dict[int, Entry]] = {  # class 0x06
    0x4E: (None, "forward close"),
    0x52: (None, "unconnected send"),
    0x54: (None, "forward open"),
    0x5B: (None, "large forward open"),
}
CIP_LOGIX_SERVICES: Final[dict[int, Entry]] = {  # symbolic path or class 0x6B/0x6C [20]
    0x4C: ("read", "read tag"),
    0x4D: ("write", "write tag"),
    0x4E: ("write", "read modify write tag"),
    0x52: ("read", "read tag fragmented"),
    0x53: ("write", "write tag fragmented"),
    0x55: ("discovery", "get instance attribute list"),
}
CIP_SET_CLASS_OVERRIDE: Final[dict[int, str]] = {0x04: "write", 0x43: "time"}
"""Set-attribute services on these classes: assembly (process data) and time sync."""
CIP_LOGIX_CLASSES: Final = frozenset({0x6B, 0x6C})
CIP_VENDOR_CLASSES: Final = (0x64, 0xC7)
"""Vendor-specific class range: Logix tag services apply there (e.g. 0x72 in Rockwell
traffic); outside it an unknown class-specific service is reported as unclassified."""

# --- BACnet ---------------------------------------------------------------------------------
BVLC_FUNCTIONS: Final[dict[int, Entry]] = {
    0x00: (None, "result"),
    0x01: ("config", "write broadcast distribution table"),
    0x02: ("read", "read broadcast distribution table"),
    0x03: (None, "read BDT ack"),
    0x04: (None, "forwarded NPDU"),
    0x05: ("config", "register foreign device"),
    0x06: ("read", "read foreign device table"),
    0x07: (None, "read FDT ack"),
    0x08: ("config", "delete foreign device table entry"),
    0x09: (None, "distribute broadcast to network"),
    0x0A: (None, "original unicast NPDU"),
    0x0B: (None, "original broadcast NPDU"),
    0x0C: (None, "secure BVLL"),
}
BACNET_CONFIRMED: Final[dict[int, Entry]] = {
    0: ("control", "acknowledge alarm"),
    1: (None, "confirmed COV notification"),
    2: (None, "confirmed event notification"),
    3: ("read", "get alarm summary"),
    4: ("read", "get enrollment summary"),
    5: ("read", "subscribe COV"),
    6: ("file", "atomic read file"),
    7: ("file", "atomic write file"),
    8: ("write", "add list element"),
    9: ("write", "remove list element"),
    10: ("config", "create object"),
    11: ("config", "delete object"),
    12: ("read", "read property"),
    13: ("read", "read property conditional"),
    14: ("read", "read property multiple"),
    15: ("write", "write property"),
    16: ("write", "write property multiple"),
    17: ("control", "device communication control"),
    18: ("control", "confirmed private transfer"),
    19: (None, "confirmed text message"),
    20: ("control", "reinitialize device"),
    21: (None, "vt open"),
    22: (None, "vt close"),
    23: (None, "vt data"),
    26: ("read", "read range"),
    27: ("control", "life safety operation"),
    28: ("read", "subscribe COV property"),
    29: ("read", "get event information"),
}
BACNET_UNCONFIRMED: Final[dict[int, Entry]] = {
    0: (None, "i-am"),
    1: (None, "i-have"),
    2: (None, "unconfirmed COV notification"),
    3: (None, "unconfirmed event notification"),
    4: ("control", "unconfirmed private transfer"),
    5: (None, "unconfirmed text message"),
    6: ("time", "time synchronization"),
    7: ("discovery", "who-has"),
    8: ("discovery", "who-is"),
    9: ("time", "utc time synchronization"),
    10: ("write", "write group"),
}
BACNET_NETWORK_MESSAGES: Final[dict[int, Entry]] = {
    0x00: ("discovery", "who-is-router-to-network"),
    0x01: (None, "i-am-router-to-network"),
    0x06: ("config", "initialize routing table"),
    0x08: (None, "establish connection to network"),
    0x12: ("discovery", "what-is-network-number"),
}

# --- IEC 60870-5-104 ASDU type ids (control direction) --------------------------------------
IEC104_TYPES: Final[dict[int, Entry]] = {
    45: ("control", "C_SC_NA_1 single command"),
    46: ("control", "C_DC_NA_1 double command"),
    47: ("control", "C_RC_NA_1 regulating step command"),
    48: ("write", "C_SE_NA_1 setpoint normalised"),
    49: ("write", "C_SE_NB_1 setpoint scaled"),
    50: ("write", "C_SE_NC_1 setpoint float"),
    51: ("write", "C_BO_NA_1 bitstring"),
    58: ("control", "C_SC_TA_1 single command with time"),
    59: ("control", "C_DC_TA_1 double command with time"),
    60: ("control", "C_RC_TA_1 regulating step with time"),
    61: ("write", "C_SE_TA_1 setpoint normalised with time"),
    62: ("write", "C_SE_TB_1 setpoint scaled with time"),
    63: ("write", "C_SE_TC_1 setpoint float with time"),
    64: ("write", "C_BO_TA_1 bitstring with time"),
    100: ("discovery", "C_IC_NA_1 interrogation"),
    101: ("read", "C_CI_NA_1 counter interrogation"),
    102: ("read", "C_RD_NA_1 read"),
    103: ("time", "C_CS_NA_1 clock synchronisation"),
    104: (None, "C_TS_NA_1 test"),
    105: ("control", "C_RP_NA_1 reset process"),
    106: ("time", "C_CD_NA_1 delay acquisition"),
    107: (None, "C_TS_TA_1 test with time"),
    110: ("config", "P_ME_NA_1 parameter normalised"),
    111: ("config", "P_ME_NB_1 parameter scaled"),
    112: ("config", "P_ME_NC_1 parameter float"),
    113: ("config", "P_AC_NA_1 parameter activation"),
    120: ("file", "F_FR_NA_1 file ready"),
    121: ("file", "F_SR_NA_1 section ready"),
    122: ("file", "F_SC_NA_1 call directory/select file"),
    123: ("file", "F_LS_NA_1 last section"),
    124: ("file", "F_AF_NA_1 ack file"),
    125: ("file", "F_SG_NA_1 segment"),
    126: ("file", "F_DR_TA_1 directory"),
    127: ("file", "F_SC_NB_1 query log"),
}
IEC104_REQUEST_COT: Final = frozenset({5, 6, 8, 13})
"""Causes of transmission that mark a control-direction request (request, act, deact, file)."""

# --- OPC UA binary: request type ids (binary encoding node ids, ns 0) ----------------------
OPCUA_REQUESTS: Final[dict[int, Entry]] = {
    422: ("discovery", "FindServersRequest"),
    428: ("discovery", "GetEndpointsRequest"),
    446: (None, "OpenSecureChannelRequest"),
    452: (None, "CloseSecureChannelRequest"),
    461: (None, "CreateSessionRequest"),
    467: (None, "ActivateSessionRequest"),
    473: (None, "CloseSessionRequest"),
    488: ("config", "AddNodesRequest"),
    494: ("config", "AddReferencesRequest"),
    500: ("config", "DeleteNodesRequest"),
    506: ("config", "DeleteReferencesRequest"),
    527: ("discovery", "BrowseRequest"),
    533: ("discovery", "BrowseNextRequest"),
    554: ("discovery", "TranslateBrowsePathsToNodeIdsRequest"),
    560: (None, "RegisterNodesRequest"),
    631: ("read", "ReadRequest"),
    664: ("read", "HistoryReadRequest"),
    673: ("write", "WriteRequest"),
    700: ("write", "HistoryUpdateRequest"),
    712: ("control", "CallRequest"),
    751: ("read", "CreateMonitoredItemsRequest"),
    787: ("read", "CreateSubscriptionRequest"),
    826: (None, "PublishRequest"),
}

# --- PROFINET DCP ---------------------------------------------------------------------------
PN_DCP_SERVICES: Final[dict[int, Entry]] = {
    3: ("read", "DCP get"),
    4: ("config", "DCP set"),
    5: ("discovery", "DCP identify"),
    6: (None, "DCP hello"),
}

# --- MMS confirmed-service request tags (ISO 9506) ------------------------------------------
MMS_SERVICES: Final[dict[int, Entry]] = {
    0: ("read", "status"),
    1: ("discovery", "getNameList"),
    2: ("discovery", "identify"),
    3: ("config", "rename"),
    4: ("read", "read"),
    5: ("write", "write"),
    6: ("discovery", "getVariableAccessAttributes"),
    7: ("config", "defineNamedVariable"),
    11: ("config", "defineNamedVariableList"),
    12: ("read", "getNamedVariableListAttributes"),
    13: ("config", "deleteNamedVariableList"),
    26: ("program", "initiateDownloadSequence"),
    27: ("program", "downloadSegment"),
    28: ("program", "terminateDownloadSequence"),
    29: ("program", "initiateUploadSequence"),
    30: ("program", "uploadSegment"),
    31: ("program", "terminateUploadSequence"),
    36: ("program", "deleteDomain"),
    37: ("read", "getDomainAttributes"),
    38: ("program", "createProgramInvocation"),
    39: ("program", "deleteProgramInvocation"),
    40: ("control", "start"),
    41: ("control", "stop"),
    42: ("control", "resume"),
    43: ("control", "reset"),
    44: ("control", "kill"),
    45: ("read", "getProgramInvocationAttributes"),
    72: ("file", "fileOpen"),
    73: ("file", "fileRead"),
    74: ("file", "fileClose"),
    75: ("file", "fileRename"),
    76: ("file", "fileDelete"),
    77: ("file", "fileDirectory"),
}

# --- Link layer -----------------------------------------------------------------------------
L2_ICS_ETHERTYPES: Final[dict[int, str]] = {
    0x8892: "profinet",
    0x88B8: "goose",
    0x88BA: "sv",
    0x88A4: "ethercat",
    0x88AB: "powerlink",
    0x88E3: "mrp",
}
"""Non-IP ethertypes recorded as flows (by MAC pair); other non-IP frames are only counted."""
NON_IP_NAMES: Final[dict[int, str]] = {
    0x0806: "arp", 0x88CC: "lldp", 0x8863: "pppoe-discovery", 0x8035: "rarp",
    0x888E: "eapol", 0x8809: "slow-protocols", 0x88F7: "ptp", 0x22F3: "trill", 0x9000: "loopback",
}

WELL_KNOWN_SERVER_PORTS: Final = frozenset({
    20, 21, 22, 23, 25, 53, 67, 68, 69, 80, 88, 102, 110, 123, 135, 137, 138, 139, 143, 161, 162,
    389, 443, 445, 502, 514, 636, 802, 993, 995, 1433, 1883, 2221, 2222, 2404, 3268, 3389, 4840,
    5353, 5355, 5450, 5900, 5985, 5986, 8080, 8443, 8530, 8531, 20000, 34962, 34963, 34964,
    44818, 47808, 48010,
})
"""Ports taken as the server side when neither a SYN nor the packet order decides."""
