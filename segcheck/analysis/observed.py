"""Observed traffic versus the policy (and the configured reachability): capture findings.

``observed_findings(policy, flows, capture_path, reachable)`` judges every IP flow whose two
ends resolve to different zones (``Policy.resolve``; intra-zone traffic crosses no conduit;
multicast, limited broadcast, link-local and unspecified-source traffic stays on its segment
and is not judged):

* **SC-OBS-UNAUTH** — no conduit flow of the zone pair matches it in either direction
  (endpoints, service ports, and the service's ``app`` when both are known);
* **SC-DIRECTION** — it matches a conduit flow only with initiator and responder swapped
  (and the flow is not ``bidirectional``): the responder initiated it;
* **SC-OBS-DANGEROUS-OP** — an observed operation (write, program, control, config, file,
  time, or read) that no matching conduit flow allows (``operations: None`` allows all); with
  no conduit at all every such operation is reported. Critical into a safety zone;
* **SC-OBS-DISCOVERY** — discovery operations (FC 43/14, ListIdentity, Who-Is, DCP
  identify, C_IC interrogation, SZL reads…) that the conduit flow does not allow;
* **SC-OBS-BYPASS** — ``reachable(packet)`` says the configured firewalls deny the flow's
  initiating packet, yet it was seen (dual-homed host, rogue link, unmodelled device); and
  one MAC address seen sending from addresses of two zones (a few addresses only: a router's
  MAC carries many hosts' traffic, so MACs sending for more than ``MAC_HOST_LIMIT``
  addresses are not reported);
* **SC-OBS-INSECURE-SESSION** — an OPC UA secure channel opened with SecurityPolicy#None
  across zones (BRIEF.md §3);
* **SC-OBS-CONDUIT-UNUSED** (info) — a conduit flow no observed flow matched.

Findings are aggregated per (code, initiator, responder, protocol, port[, operation]) and cite
the capture file and frame numbers (operation frames first). ``reachable`` is a
``Callable[[Packet], bool]`` or an object with ``cell(src_zone, dst_zone) -> PacketSet``
(``engine.reach.ReachMatrix``); None skips the bypass check. ``flows=None`` reads
``capture_path`` itself.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from segcheck.analysis.result import Finding, Observed, Severity
from segcheck.analysis.standards import catalogue, standards_for
from segcheck.capture.flows import Flow, extract_flows
from segcheck.capture.tables import OPERATIONS
from segcheck.model import ranges as R
from segcheck.model.packet import Packet

MAX_FRAMES = 20
MAC_HOST_LIMIT = 4
APP_ALIASES: dict[str, frozenset[str]] = {
    "tls": frozenset({"tls", "https", "ssl"}), "s7comm": frozenset({"s7comm", "s7", "s7comm-plus"}),
    "enip": frozenset({"enip", "cip", "ethernet-ip"}), "iec104": frozenset({"iec104", "iec-104"}),
}
Reachable = Callable[[Packet], bool]


@dataclass
class _Agg:
    """Flows folded into one finding."""

    flows: list[Flow] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    count: int = 0


def observed_findings(policy: Any, flows: Sequence[Flow] | None, capture_path: str,
                      reachable: Reachable | Any | None = None) -> list[Finding]:
    """Capture findings for ``flows`` (or the flows of ``capture_path``); see module doc."""
    if flows is None:
        flows = extract_flows([capture_path]).flows
    reach = _reach_fn(reachable)
    pairs = policy.flows()
    used: set[int] = set()
    aggs: dict[tuple[Any, ...], _Agg] = {}
    memo: dict[tuple[Any, ...], tuple[list[Match], list[Match]]] = {}

    def add(code: str, key: tuple[Any, ...], f: Flow, frames: Iterable[int], detail: str = "",
            count: int = 1) -> None:
        agg = aggs.setdefault((code, *key), _Agg())
        agg.flows.append(f)
        agg.count += count
        for fr in frames:
            if len(agg.frames) < MAX_FRAMES and fr not in agg.frames:
                agg.frames.append(fr)
        if detail and len(agg.details) < 5 and detail not in agg.details:
            agg.details.append(detail)

    for f in flows:
        pkt = f.packet()
        if pkt is None:
            continue
        sip, dip = ipaddress.ip_address(f.src), ipaddress.ip_address(f.dst)
        if _link_local_traffic(sip, dip):
            continue  # multicast/broadcast never crosses a routed zone boundary
        src, dst = policy.resolve(sip), policy.resolve(dip)
        if src is None or dst is None or src[0] == dst[0]:
            continue
        sz, dz = src[0], dst[0]
        base = (f.src, f.dst, f.proto_name, f.dport, sz, dz)
        memo_key = (f.src, f.dst, f.proto, f.dport, f.app)
        hit = memo.get(memo_key)
        if hit is None:
            hit = memo[memo_key] = _matches(policy, pairs, f, sz, dz)
        fwd, rev = hit
        used.update(i for i, _, _ in fwd + rev)
        if not fwd and rev:
            add("SC-DIRECTION", base, f, f.frames,
                f"conduit {rev[0][1].id} expects {f.dst} to initiate; initiator decided by "
                f"{f.initiator_by}")
        elif not fwd:
            add("SC-OBS-UNAUTH", base, f, f.frames, f"app {f.app or 'unknown'}")
        allowed: set[str] | None = set()
        for _, _, cf in fwd:
            if cf.operations is None:
                allowed = None
                break
            allowed |= set(cf.operations)  # type: ignore[operator]
        for op, n in f.operations:
            if allowed is not None and op in allowed:
                continue
            if op == "read" and not fwd:
                continue  # reads on a flow in no conduit: SC-OBS-UNAUTH already says it
            frames = f.op_frames([op])
            details = [d for fr, o, d in f.events if o == op][:3]
            code = "SC-OBS-DISCOVERY" if op == "discovery" else "SC-OBS-DANGEROUS-OP"
            add(code, (*base, op), f, frames, "; ".join(details), n)
        if "opcua SecurityPolicy#None" in f.notes:
            add("SC-OBS-INSECURE-SESSION", base, f, f.frames,
                "OPN with http://opcfoundation.org/UA/SecurityPolicy#None")
        if reach is not None and not reach(pkt, sz, dz):
            add("SC-OBS-BYPASS", base, f, f.frames,
                "the configured firewalls deny this initiating packet")
    out = [_finding(policy, key, agg) for key, agg in aggs.items()]
    out += _mac_findings(policy, flows)
    if flows:
        out += _unused(policy, pairs, used, capture_path)
    return out


Match = tuple[int, Any, Any]
"""(index in ``policy.flows()``, conduit, conduit flow)."""


def _matches(policy: Any, pairs: Sequence[tuple[Any, Any]], f: Flow, sz: str, dz: str,
             ) -> tuple[list[Match], list[Match]]:
    """Conduit flows that allow ``f`` as initiated (``fwd``) and those that would allow it
    only the other way round (``rev``), among the conduits between the two zones."""
    fwd: list[Match] = []
    rev: list[Match] = []
    for i, (c, cf) in enumerate(pairs):
        if {sz, dz} != set(c.between) or not _service_ok(policy, cf, f):
            continue
        if _ends_ok(cf.sources, f.src) and _ends_ok(cf.destinations, f.dst):
            fwd.append((i, c, cf))
        elif _ends_ok(cf.sources, f.dst) and _ends_ok(cf.destinations, f.src):
            (fwd if cf.bidirectional else rev).append((i, c, cf))
    return fwd, rev


def _link_local_traffic(src: ipaddress.IPv4Address | ipaddress.IPv6Address,
                        dst: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (dst.is_multicast or src.is_unspecified or dst.is_link_local or src.is_link_local
            or (dst.version == 4 and dst == ipaddress.IPv4Address("255.255.255.255")))


def _reach_fn(reachable: Any) -> Callable[[Packet, str, str], bool] | None:
    if reachable is None:
        return None
    if hasattr(reachable, "cell"):
        return lambda pkt, sz, dz: bool(reachable.cell(sz, dz).contains(pkt))
    fn: Reachable = reachable
    return lambda pkt, _sz, _dz: bool(fn(pkt))


def _ends_ok(endpoints: Iterable[Any], addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    return any(ip in net for ep in endpoints for net in ep.networks if net.version == ip.version)


def _service_ok(policy: Any, cf: Any, f: Flow) -> bool:
    for name in cf.services:
        svc = policy.services.get(name)
        if svc is None:
            continue
        for proto, ports in svc.ports:
            if proto != f.proto:
                continue
            if f.proto in (6, 17, 33, 132, 136) and not R.contains(ports, f.dport):
                continue
            if svc.app and f.app and not _same_app(svc.app, f.app):
                continue  # e.g. RDP on the Modbus port is not the modbus service
            return True
    return False


def _same_app(a: str, b: str) -> bool:
    return a == b or b in APP_ALIASES.get(a, ()) or a in APP_ALIASES.get(b, ())


def _finding(policy: Any, key: tuple[Any, ...], agg: _Agg) -> Finding:
    code, src, dst, proto, dport, sz, dz = key[:7]
    op = key[7] if len(key) > 7 else None
    ci = catalogue().get(code)
    sev = ci.severity if ci else Severity.HIGH
    if code == "SC-OBS-DANGEROUS-OP" and _safety(policy, dz) and op != "read":
        sev = Severity.CRITICAL
    if code == "SC-OBS-DANGEROUS-OP" and op == "read":
        sev = Severity.MEDIUM
    first = agg.flows[0]
    apps = sorted({f.app for f in agg.flows if f.app})
    ops: dict[str, int] = defaultdict(int)
    for f in agg.flows:
        for o, n in f.operations:
            ops[o] += n
    captures = sorted({f.capture for f in agg.flows})
    what = f"{proto}/{dport}" if proto in ("tcp", "udp", "sctp") else proto
    lead = {
        "SC-OBS-UNAUTH": "observed flow in no conduit",
        "SC-DIRECTION": "observed flow initiated by the conduit's responder",
        "SC-OBS-DANGEROUS-OP": f"observed {op} operation the conduit does not allow",
        "SC-OBS-DISCOVERY": "observed discovery across zones",
        "SC-OBS-BYPASS": "observed although the configured firewalls deny it",
        "SC-OBS-INSECURE-SESSION": "observed OPC UA session without security across zones",
    }[code]
    message = (f"{lead}: {src} ({sz}) -> {dst} ({dz}) {what}"
               f"{' app ' + ','.join(apps) if apps else ''}; {len(agg.flows)} flow(s), "
               f"frames {', '.join(map(str, agg.frames[:8]))} in {', '.join(captures)}"
               + (f"; {' | '.join(agg.details)}" if agg.details else ""))
    observed = Observed(
        capture=captures[0], frames=tuple(agg.frames),
        packets=sum(f.packets for f in agg.flows), app=apps[0] if apps else None,
        operations=tuple(sorted(ops.items(), key=lambda kv: OPERATIONS.index(kv[0]))),
        first_seen=min(f.first_seen for f in agg.flows),
        last_seen=max(f.last_seen for f in agg.flows), detail="; ".join(agg.details))
    return Finding(
        code=code, severity=sev, title=ci.title if ci else code, message=message,
        src_zone=sz, dst_zone=dz, witness=first.packet(), observed=observed,
        standards=standards_for(code, getattr(policy, "attack_version", None)),
        object=f"{src}->{dst}:{what}" + (f":{op}" if op else ""),
        remediation=ci.remediation if ci else "")


def _safety(policy: Any, zone_id: str) -> bool:
    try:
        return bool(policy.zone(zone_id).safety)
    except KeyError:
        return False


def _mac_findings(policy: Any, flows: Sequence[Flow]) -> list[Finding]:
    """One MAC sending from addresses of two zones (few addresses: not a router)."""
    by_mac: dict[str, dict[str, list[Flow]]] = defaultdict(lambda: defaultdict(list))
    for f in flows:
        if f.version and f.src_mac:
            by_mac[f.src_mac][f.src].append(f)
        if f.version and f.dst_mac:
            by_mac[f.dst_mac][f.dst].append(f)
    out = []
    ci = catalogue().get("SC-OBS-BYPASS")
    for mac, addrs in sorted(by_mac.items()):
        if len(addrs) > MAC_HOST_LIMIT:
            continue
        zones: dict[str, str] = {}
        for a in addrs:
            r = policy.resolve(ipaddress.ip_address(a))
            if r is not None:
                zones.setdefault(r[0], a)
        if len(zones) < 2:
            continue
        fl = [f for a in addrs.values() for f in a]
        frames: list[int] = []
        for a in zones.values():
            frames += list(addrs[a][0].frames[:3])
        (z1, a1), (z2, a2) = sorted(zones.items())[:2]
        out.append(Finding(
            code="SC-OBS-BYPASS", severity=ci.severity if ci else Severity.CRITICAL,
            title=ci.title if ci else "SC-OBS-BYPASS",
            message=(f"one MAC {mac} sends from {a1} ({z1}) and {a2} ({z2}): a host bridging "
                     f"two zones (dual-homed or a rogue link); frames {frames} in "
                     f"{fl[0].capture}"),
            src_zone=z1, dst_zone=z2, witness=None,
            observed=Observed(capture=fl[0].capture, frames=tuple(sorted(frames)),
                              packets=sum(f.packets for f in fl),
                              detail=f"mac {mac} addresses {sorted(addrs)}"),
            standards=standards_for("SC-OBS-BYPASS", getattr(policy, "attack_version", None)),
            object=f"mac:{mac}", remediation=ci.remediation if ci else ""))
    return out


def _unused(policy: Any, pairs: Sequence[tuple[Any, Any]], used: set[int],
            capture_path: str) -> list[Finding]:
    ci = catalogue().get("SC-OBS-CONDUIT-UNUSED")
    out = []
    for i, (c, cf) in enumerate(pairs):
        if i in used:
            continue
        srcs = ",".join(e.ref for e in cf.sources)
        dsts = ",".join(e.ref for e in cf.destinations)
        out.append(Finding(
            code="SC-OBS-CONDUIT-UNUSED", severity=Severity.INFO,
            title=ci.title if ci else "Conduit flow not seen in the captures",
            message=(f"conduit {c.id} flow {srcs} -> {dsts} ({','.join(cf.services)}) was "
                     f"not observed in {capture_path}"),
            src_zone=cf.sources[0].zone if cf.sources else None,
            dst_zone=cf.destinations[0].zone if cf.destinations else None,
            observed=Observed(capture=capture_path, frames=()),
            standards=standards_for("SC-OBS-CONDUIT-UNUSED",
                                    getattr(policy, "attack_version", None)),
            object=f"{c.id}:{srcs}->{dsts}", remediation=ci.remediation if ci else ""))
    return out


def flow_rows(policy: Any | None, flows: Iterable[Flow]) -> list[dict[str, Any]]:
    """DESIGN.md §4 flow objects with zones resolved (for ``flows`` and ``check`` output)."""
    rows = []
    for f in flows:
        sz = dz = None
        if policy is not None and f.version:
            s = policy.resolve(ipaddress.ip_address(f.src))
            d = policy.resolve(ipaddress.ip_address(f.dst))
            sz, dz = (s[0] if s else None), (d[0] if d else None)
        rows.append(f.to_json(sz, dz))
    return rows
