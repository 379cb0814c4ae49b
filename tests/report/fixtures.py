"""Hand-built CheckResults for the report tests.

``riverbend()`` models the misconfigured Riverbend Water site of BRIEF.md §2.3/§6 the way the
analysis reports it: findings of many codes with evidence at file:line, a pivot path, an
observed bypass, a suppressed finding, an expired exception and an incomplete parse.
``generated(n)`` is a synthetic n-zone site (for layout and determinism tests). Both are pure
functions of their arguments.
"""

from __future__ import annotations

from segcheck.analysis.result import (
    CheckResult,
    Evidence,
    Finding,
    Hop,
    InputFile,
    MatrixCell,
    Observed,
    Severity,
)
from segcheck.model.packet import Packet
from segcheck.model.source import Diagnostic, Level, SourceSpan

FW_IT = "topologies/configs/fw-it.xml"
FW_OT = "topologies/configs/fw-ot.conf"
POLICY = "policies/riverbend.yaml"


def _ev(device: str, path: str, line: int, rule: str, text: str,
        action: str = "permit") -> Evidence:
    return Evidence(device, SourceSpan(path, line, text), rule, action)


def _zone(zid: str, kind: str, levels: list[float], cidrs: list[str], sl_t: object = None,
          safety: bool = False,
          assets: dict[str, dict[str, object]] | None = None) -> dict[str, object]:
    return {"id": zid, "name": zid, "kind": kind, "purdue_levels": levels, "sl_t": sl_t,
            "safety": safety, "segmentation": "physical" if safety else "logical",
            "cidrs": cidrs, "assets": assets or {}}


ZONES = (
    _zone("z-internet", "external", [5], ["0.0.0.0/0", "::/0"]),
    _zone("z-vendor", "external", [5], ["203.0.113.0/24"]),
    _zone("z-ent", "it", [4], ["10.10.0.0/16", "2001:db8:10::/48"], 1,
          assets={"corp-vpn-pool": {"networks": ["10.99.0.0/22"], "role": "vpn_users"},
                  "ot-engineers": {"networks": ["10.10.40.0/26"], "role": "engineer_clients"}}),
    _zone("z-it-dmz", "dmz", [4], ["10.20.0.0/24"], 2,
          assets={"web-proxy": {"networks": ["10.20.0.10/32"], "role": "proxy"}}),
    _zone("z-ot-dmz", "dmz", [3.5], ["10.30.0.0/24"], 2,
          assets={"hist-mirror": {"networks": ["10.30.0.10/32"], "role": "historian_mirror"},
                  "jump-01": {"networks": ["10.30.0.20/32"], "role": "jump_host"},
                  "ra-gw": {"networks": ["10.30.0.40/32"], "role": "remote_access_gateway"}}),
    _zone("z-scada", "ot", [2, 3], ["10.40.1.0/24"],
          {"IAC": 2, "UC": 2, "SI": 2, "DC": 1, "RDF": 3, "TRE": 2, "RA": 2},
          assets={"hmi": {"networks": ["10.40.1.10/32", "10.40.1.11/32"], "role": "hmi"},
                  "historian": {"networks": ["10.40.1.30/32"], "role": "historian"},
                  "ews": {"networks": ["10.40.1.50/32"], "role": "ews"}}),
    _zone("z-field-plant", "ot", [1], ["10.50.1.0/24"], 2),
    _zone("z-field-remote", "ot", [1], ["10.60.0.0/16"], 2),
    _zone("z-sis", "ot", [1], ["10.70.1.0/28"], 3, safety=True),
    _zone("z-mgmt", "mgmt", [3], ["10.250.0.0/24"]),
)

CONDUITS = (
    {"id": "C-01", "between": ["z-ent", "z-ot-dmz"], "sl_t": 2, "controls_required": [],
     "flows": [{"from": ["z-ent"], "to": ["hist-mirror"], "services": ["https"]},
               {"from": ["ot-engineers"], "to": ["jump-01"], "services": ["https"],
                "controls": ["mfa"]}],
     "justification": "Business users read process data", "owner": "OT Engineering",
     "approved_by": "", "ticket": "CHG-1182", "expires": None,
     "implemented_by": [f"{FW_OT}:12"]},
    {"id": "C-02", "between": ["z-ot-dmz", "z-scada"], "sl_t": 3,
     "controls_required": ["stateful", "ids"],
     "flows": [{"from": ["historian"], "to": ["hist-mirror"], "services": ["pi-archive"]},
               {"from": ["jump-01"], "to": ["ews", "hmi"], "services": ["rdp"]}],
     "justification": "Historian push; engineering access", "owner": "OT Engineering",
     "approved_by": "CISO", "ticket": "CHG-1190", "expires": None,
     "implemented_by": [f"{FW_OT}:20", f"{FW_OT}:24"]},
    {"id": "C-03", "between": ["z-scada", "z-field-plant"], "sl_t": 2,
     "controls_required": ["dpi"],
     "flows": [{"from": ["hmi"], "to": ["plc"], "services": ["modbus"],
                "operations": ["read", "write"]}],
     "justification": "Supervisory control", "owner": "Operations", "approved_by": "CISO",
     "ticket": "CHG-1201", "expires": None, "implemented_by": [f"{FW_OT}:30"]},
    {"id": "C-04", "between": ["z-scada", "z-field-remote"], "sl_t": 2, "controls_required": [],
     "flows": [{"from": ["scada-srv"], "to": ["rtu"], "services": ["dnp3"],
                "operations": ["read", "control", "time"]}],
     "justification": "Telemetry", "owner": "Operations", "approved_by": "CISO",
     "ticket": "CHG-1202", "expires": None, "implemented_by": []},
    {"id": "C-05", "between": ["z-scada", "z-sis"], "sl_t": 3, "controls_required": ["dpi"],
     "flows": [{"from": ["scada-srv"], "to": ["sis"], "services": ["modbus"],
                "operations": ["read"]}],
     "justification": "SIS status read", "owner": "Safety", "approved_by": "CISO",
     "ticket": "CHG-1203", "expires": None, "implemented_by": [f"{FW_OT}:40"]},
    {"id": "C-06", "between": ["z-vendor", "z-ot-dmz"], "sl_t": 3, "controls_required": [],
     "flows": [{"from": ["z-vendor"], "to": ["ra-gw"], "services": ["https"],
                "controls": ["mfa", "approval"]}],
     "justification": "", "owner": "", "approved_by": "", "ticket": "",
     "expires": "2026-12-31", "implemented_by": [f"{FW_OT}:50"]},
)

MATRIX = (
    MatrixCell("z-ent", "z-ot-dmz", "tcp/443 from 10.10.0.0/16 to 10.30.0.10", ("tcp/443",),
               (_ev("fw-ot", FW_OT, 12, "policy/12", "edit 12"),)),
    MatrixCell("z-ent", "z-scada", "any from 10.99.0.0/22 to 10.40.1.0/24", ("any",),
               (_ev("fw-ot", FW_OT, 101, "policy/31", "set srcaddr \"vpn-pool\""),),
               allowed_by_policy=False),
    MatrixCell("z-ot-dmz", "z-scada", "tcp/3389,5450 to 10.40.1.0/24", ("tcp/3389", "tcp/5450"),
               (_ev("fw-ot", FW_OT, 20, "policy/20", "edit 20"),
                _ev("fw-ot", FW_OT, 24, "policy/24", "edit 24")),
               allowed_by_policy=False),
    MatrixCell("z-scada", "z-ot-dmz", "tcp/5450 from 10.40.1.30 to 10.30.0.10", ("tcp/5450",),
               (_ev("fw-ot", FW_OT, 22, "policy/22", "edit 22"),)),
    MatrixCell("z-ot-dmz", "z-ent", "", ()),
    MatrixCell("z-scada", "z-field-plant", "tcp/502 to 10.50.1.0/26", ("tcp/502",),
               (_ev("fw-ot", FW_OT, 30, "policy/30", "edit 30"),)),
    MatrixCell("z-scada", "z-sis", "any to 10.70.1.0/28", ("any",),
               (_ev("fw-ot", FW_OT, 40, "policy/40", "edit 40"),), allowed_by_policy=False),
    MatrixCell("z-scada", "z-internet", "udp/53 to 0.0.0.0/0", ("udp/53",),
               (_ev("fw-ot", FW_OT, 60, "policy/60", "edit 60"),), allowed_by_policy=False),
    MatrixCell("z-vendor", "z-ot-dmz", "tcp/443 to 10.30.0.40", ("tcp/443",),
               (_ev("fw-ot", FW_OT, 50, "policy/50", "edit 50"),)),
    MatrixCell("z-vendor", "z-scada", "tcp/3389 to 10.40.1.50", ("tcp/3389",),
               (_ev("fw-ot", FW_OT, 70, "vip/ews-rdp", "edit \"ews-rdp\""),),
               allowed_by_policy=False),
    MatrixCell("z-ent", "z-mgmt", "tcp/22,443 to 10.250.0.2", ("tcp/22", "tcp/443"),
               (_ev("fw-ot", FW_OT, 8, "port1 allowaccess", "set allowaccess https ssh"),),
               allowed_by_policy=False),
    MatrixCell("z-ent", "z-internet", "tcp/443 to 0.0.0.0/0", ("tcp/443",),
               (_ev("fw-it", FW_IT, 40, "ent-web", "<entry name=\"ent-web\">"),)),
    MatrixCell("z-ot-dmz", "z-it-dmz", "tcp/443 from 10.30.0.30 to 10.20.0.10", ("tcp/443",),
               (_ev("fw-it", FW_IT, 55, "patch-proxy", "<entry name=\"patch-proxy\">"),)),
)


def _pkt(src: str, dst: str, proto: str, dport: int = 0) -> Packet:
    return Packet.make(src, dst, proto, 40000 if dport else 0, dport)


STD_BYPASS = {"iec62443": ("SR 5.2",), "attack_ics": ("T0886", "T0822"),
              "attack_enterprise": ("T1133", "T1190"), "d3fend": ("D3-NI", "D3-ITF"),
              "cip": ("CIP-005 R1.2",)}

FINDINGS = (
    Finding("SC-DMZ-BYPASS", Severity.CRITICAL, "VPN pool reaches SCADA directly",
            "Any service from corp-vpn-pool (10.99.0.0/22) reaches z-scada without a DMZ hop.",
            "z-ent", "z-scada", _pkt("10.99.0.5", "10.40.1.10", "tcp", 3389),
            (_ev("fw-ot", FW_OT, 101, "policy/31", "set srcaddr \"vpn-pool\""),),
            standards=STD_BYPASS, object="fw-ot:policy/31",
            remediation="deny ipv4_connection src 10.99.0.0/22 dst 10.40.1.0/24",
            path=(Hop("device", "fw-ot", "z-ent", "z-scada",
                      (_ev("fw-ot", FW_OT, 101, "policy/31", "set srcaddr \"vpn-pool\""),),
                      "any"),)),
    Finding("SC-ANY-RULE", Severity.HIGH, "Cross-zone rule with service 'any'",
            "Rule policy/31 permits service ALL from z-ent to z-scada.",
            "z-ent", "z-scada", _pkt("10.99.0.5", "10.40.1.10", "udp", 161),
            (_ev("fw-ot", FW_OT, 101, "policy/31", "set service \"ALL\""),),
            standards={"iec62443": ("SR 5.2 RE1",), "attack_ics": ("T0885",)},
            object="fw-ot:policy/31", remediation="name the services the conduit needs"),
    Finding("SC-DMZ-TRANSIT", Severity.HIGH, "RDP into and out of jump-01",
            "jump-01 accepts tcp/3389 from z-ent and may open tcp/3389 to z-scada.",
            "z-ent", "z-scada", _pkt("10.10.40.7", "10.30.0.20", "tcp", 3389),
            (_ev("fw-ot", FW_OT, 14, "policy/14", "edit 14"),
             _ev("fw-ot", FW_OT, 20, "policy/20", "edit 20")),
            standards={"iec62443": ("SR 5.2",), "attack_ics": ("T0886", "T0867")},
            object="jump-01",
            path=(Hop("device", "fw-ot", "z-ent", "z-ot-dmz",
                      (_ev("fw-ot", FW_OT, 14, "policy/14", "edit 14"),), "tcp/3389"),
                  Hop("host", "jump-01", "z-ot-dmz", "z-ot-dmz", (), "rdp"),
                  Hop("device", "fw-ot", "z-ot-dmz", "z-scada",
                      (_ev("fw-ot", FW_OT, 20, "policy/20", "edit 20"),), "tcp/3389"))),
    Finding("SC-SHADOWED", Severity.MEDIUM, "Deny Modbus rule is shadowed",
            "policy/33 (deny z-ent→z-scada tcp/502) never matches: policy/31 covers it.",
            "z-ent", "z-scada", _pkt("10.10.1.1", "10.40.1.20", "tcp", 502),
            (_ev("fw-ot", FW_OT, 110, "policy/33", "edit 33", "deny"),
             _ev("fw-ot", FW_OT, 101, "policy/31", "set srcaddr \"vpn-pool\"")),
            standards={"iec62443": ("SR 5.2",), "d3fend": ("D3-NTPM",)},
            object="fw-ot:policy/33"),
    Finding("SC-BROAD-PORTS", Severity.MEDIUM, "tcp/1024-65535 between hist-mirror and OT",
            "policy/37 opens 64512 ports (max_port_span 16).",
            "z-ot-dmz", "z-scada", _pkt("10.30.0.10", "10.40.1.30", "tcp", 1024),
            (_ev("fw-ot", FW_OT, 120, "policy/37", "set service \"DCOM-HIGH\""),),
            standards={"iec62443": ("SR 5.2 RE1",)}, object="fw-ot:policy/37",
            suppressed_by="EXC-2026-014"),
    Finding("SC-EGRESS-INTERNET", Severity.HIGH, "SCADA resolves names on the internet",
            "z-scada can send udp/53 to any external address.",
            "z-scada", "z-internet", _pkt("10.40.1.20", "8.8.8.8", "udp", 53),
            (_ev("fw-ot", FW_OT, 60, "policy/60", "edit 60"),),
            standards={"iec62443": ("SR 5.1 RE2",), "attack_ics": ("T0883", "T0884")},
            object="fw-ot:policy/60"),
    Finding("SC-REMOTE-NO-MFA", Severity.CRITICAL, "Vendor RDP to the EWS bypasses ra-gw",
            "VIP ews-rdp forwards tcp/3389 from z-vendor to 10.40.1.50.",
            "z-vendor", "z-scada", _pkt("203.0.113.9", "10.40.1.50", "tcp", 3389),
            (_ev("fw-ot", FW_OT, 70, "vip/ews-rdp", "edit \"ews-rdp\""),),
            standards={"iec62443": ("SR 1.13", "SR 5.2"), "attack_ics": ("T0822", "T0859")},
            object="fw-ot:vip/ews-rdp"),
    Finding("SC-DIRECTION", Severity.HIGH, "hist-mirror can pull from the historian",
            "Conduit C-02 says historian pushes; rule policy/24 lets hist-mirror initiate.",
            "z-ot-dmz", "z-scada", _pkt("10.30.0.10", "10.40.1.30", "tcp", 5450),
            (_ev("fw-ot", FW_OT, 24, "policy/24", "edit 24"),),
            standards={"iec62443": ("SR 5.2",)}, object="C-02"),
    Finding("SC-SIS-REACH", Severity.CRITICAL, "SIS reachable with any service",
            "z-scada reaches z-sis on every service; C-05 allows Modbus read only.",
            "z-scada", "z-sis", _pkt("10.40.1.10", "10.70.1.2", "tcp", 502),
            (_ev("fw-ot", FW_OT, 40, "policy/40", "edit 40"),),
            standards={"iec62443": ("ZCR 3", "SR 5.1 RE3"), "attack_ics": ("T0880",)},
            object="fw-ot:policy/40"),
    Finding("SC-MGMT-EXPOSED", Severity.HIGH, "fw-ot management on the corporate port",
            "port1 allows https and ssh from z-ent.",
            "z-ent", "z-mgmt", _pkt("10.10.1.1", "10.250.0.2", "tcp", 443),
            (_ev("fw-ot", FW_OT, 8, "port1 allowaccess", "set allowaccess https ssh"),),
            object="fw-ot:port1"),
    Finding("SC-IPV6-GAP", Severity.HIGH, "IPv6 open from z-ent to z-scada",
            "The v6 policy permits everything z-ent→z-scada that v4 denies.",
            "z-ent", "z-scada",
            Packet.make("2001:db8:10::5", "2001:db8:40::10", "tcp", 40000, 445),
            (_ev("fw-ot", FW_OT, 130, "policy6/1", "edit 1"),), object="fw-ot:policy6/1"),
    Finding("SC-OBS-BYPASS", Severity.HIGH, "IT sessions seen inside z-scada",
            "Captured 10.10.5.5 ↔ 10.40.1.50 SMB sessions with no configured path.",
            "z-ent", "z-scada", _pkt("10.10.5.5", "10.40.1.50", "tcp", 445), (),
            Observed("captures/scada-span.pcapng", (17, 18, 240), 312, "smb", (),
                     1764000000.0, 1764003600.0),
            object="10.40.1.50"),
    Finding("SC-EXC-EXPIRED", Severity.MEDIUM, "Exception EXC-2025-003 expired",
            "EXC-2025-003 expired on 2026-03-31.", None, None, None,
            (_ev("policy", POLICY, 205, "EXC-2025-003", "- id: EXC-2025-003"),),
            object="EXC-2025-003"),
    Finding("SC-NO-JUSTIFICATION", Severity.LOW, "Conduit C-06 has no justification",
            "C-06 lacks justification, owner and ticket.", "z-vendor", "z-ot-dmz", None,
            (_ev("policy", POLICY, 180, "C-06", "- id: C-06"),), object="C-06"),
    Finding("SC-CONDUIT-UNIMPLEMENTED", Severity.INFO, "C-04 flow has no rule",
            "No rule permits scada-srv → rtu dnp3.", "z-scada", "z-field-remote", None,
            (_ev("policy", POLICY, 170, "C-04", "- {id: C-04"),), object="C-04"),
)

FLOWS = (
    {"src": "10.10.5.5", "dst": "10.40.1.50", "proto": "tcp", "sport": 51000, "dport": 445,
     "packets": 312, "bytes": 99000, "first_seen": 1764000000.0, "last_seen": 1764003600.0,
     "app": "smb", "operations": {}, "src_zone": "z-ent", "dst_zone": "z-scada",
     "frames": [17]},
    {"src": "10.40.1.10", "dst": "10.50.1.5", "proto": "tcp", "sport": 50001, "dport": 502,
     "packets": 1200, "bytes": 90000, "first_seen": 1764000001.0, "last_seen": 1764003500.0,
     "app": "modbus", "operations": {"read": 590, "write": 10}, "src_zone": "z-scada",
     "dst_zone": "z-field-plant", "frames": [3]},
)


def riverbend(*, complete: bool = False) -> CheckResult:
    diags = (Diagnostic(Level.UNSUPPORTED, "unsupported 'config firewall shaping-policy'",
                        SourceSpan(FW_OT, 300, "config firewall shaping-policy"),
                        "fortigate.unsupported-block"),) if not complete else ()
    return CheckResult(
        version="0.1.0",
        inputs=(InputFile(POLICY, "a" * 64, "policy"),
                InputFile("topologies/riverbend-misconfigured.yaml", "b" * 64, "topology"),
                InputFile(FW_IT, "c" * 64, "config"), InputFile(FW_OT, "d" * 64, "config"),
                InputFile("captures/scada-span.pcapng", "e" * 64, "capture")),
        diagnostics=(*diags, Diagnostic(Level.WARNING, "address object unused",
                                        SourceSpan(FW_IT, 12, "<entry name=\"old\">"),
                                        "panos.unused-object")),
        zones=ZONES, matrix=MATRIX, findings=FINDINGS, conduits=CONDUITS, flows=FLOWS,
        limitations=("No routes declared: any loop-free path through devices is assumed "
                     "possible (\"may reach\").", "NAT is modelled for destination VIPs only."),
        extra={"suc": "RBW-SCADA"},
    )


LEVEL_KINDS = ((5, "external"), (4, "it"), (3.5, "dmz"), (3, "ot"), (2, "ot"), (1, "ot"))


def generated(n: int = 30) -> CheckResult:
    """An n-zone site: zones spread over the Purdue levels, a ring of permitted conduits,
    cross-level violations every few zones and an observed-only edge."""
    zones = []
    for i in range(n):
        level, kind = LEVEL_KINDS[i % len(LEVEL_KINDS)]
        zones.append(_zone(f"z{i:02d}-{kind}", kind, [level], [f"10.{i}.0.0/16"], 2,
                           safety=(i % 13 == 12)))
    ids = [str(z["id"]) for z in zones]
    cells, findings, conduits = [], [], []
    for i in range(n):
        a, b = ids[i], ids[(i + 1) % n]
        ev = _ev("fw-core", "configs/core.rules", 100 + i, f"r{i}", f"-A FORWARD -j r{i}")
        ok = i % 4 != 3
        cells.append(MatrixCell(a, b, f"tcp/{1000 + i}", (f"tcp/{1000 + i}",), (ev,),
                                allowed_by_policy=ok))
        if ok:
            conduits.append({"id": f"C-{i:02d}", "between": [a, b], "flows": [],
                             "implemented_by": [str(ev.span)]})
        else:
            sev = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)[(i // 4) % 4]
            findings.append(Finding("SC-PATH-UNAUTH", sev, f"{a} reaches {b}",
                                    f"tcp/{1000 + i} outside every conduit", a, b,
                                    _pkt("10.0.0.1", "10.1.0.1", "tcp", 1000 + i), (ev,),
                                    object=f"fw-core:r{i}"))
    conduits.append({"id": "C-stale", "between": [ids[0], ids[n // 2]], "flows": [],
                     "implemented_by": []})
    findings.append(Finding("SC-OBS-BYPASS", Severity.HIGH, "bridge", "seen", ids[1], ids[-1],
                            None, (), Observed("cap.pcap", (1,), 5), object="host-x"))
    return CheckResult("0.1.0", (InputFile("configs/core.rules", "f" * 64, "config"),), (),
                       tuple(zones), tuple(cells), tuple(findings), tuple(conduits))
