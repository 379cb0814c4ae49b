"""Writing a ``Policy`` back as policy-language data (the inverse of the loader).

``dump_policy(policy)`` returns plain data (dicts, lists, str, int, float, bool,
``datetime.date``) in the canonical form of the language; ``dump_policy_yaml`` renders it.
Invariant (tested with hypothesis): ``load(dump(p)) == p`` for every loaded policy ``p``
(spans and paths aside, which take no part in equality). The implicit ``z-internet`` zone
is not written (the loader adds it back).

Canonical choices: ports as ints and ``"lo-hi"`` strings (the full range as ``any``); an
asset's leading host addresses as ``ip``/``ips`` and the rest, in order, as ``cidrs`` (a /32
is a valid CIDR), so the order of ``Asset.networks`` survives; single-item lists of endpoints
and services as scalars.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml

from segcheck.model import ranges as R
from segcheck.model.packet import ICMP, ICMPV6, PORT_PROTOCOLS, PROTOCOL_NAMES, PROTOCOL_NUMBERS
from segcheck.policy.model import (
    FORMAT_VERSION,
    OPERATIONS,
    Asset,
    Conduit,
    ConduitFlow,
    DeclaredDevice,
    Endpoint,
    GlobalRules,
    IPNetwork,
    Policy,
    PolicyException,
    Service,
    SLTarget,
    Zone,
)

Data = dict[str, Any]


def dump_policy(policy: Policy) -> Data:
    """The policy as canonical policy-language data."""
    out: Data = {"segcheck": FORMAT_VERSION}
    _put(out, "suc", policy.suc)
    _put(out, "attack_version", policy.attack_version)
    out["services"] = {name: _service(s) for name, s in policy.services.items()}
    out["zones"] = [_zone(z) for z in policy.zones if not z.implicit]
    if policy.devices:
        out["devices"] = [_device(d) for d in policy.devices]
    out["conduits"] = [_conduit(c) for c in policy.conduits]
    out["global_rules"] = _global_rules(policy.global_rules)
    if policy.exceptions:
        out["exceptions"] = [_exception(e) for e in policy.exceptions]
    return out


def dump_policy_yaml(policy: Policy) -> str:
    return yaml.safe_dump(dump_policy(policy), sort_keys=False, allow_unicode=True, width=100)


def _put(out: Data, key: str, value: Any) -> None:
    """Set ``key`` unless the value is absent (None, empty)."""
    if value is None or value == () or value == [] or value == {}:
        return
    out[key] = value


def _one_or_list(items: tuple[str, ...]) -> str | list[str]:
    return items[0] if len(items) == 1 else list(items)


def _proto_name(proto: int) -> str:
    name = PROTOCOL_NAMES.get(proto)
    if name is None or name not in PROTOCOL_NUMBERS:
        name = next(n for n, v in sorted(PROTOCOL_NUMBERS.items()) if v == proto)
    return name


def _ports(proto: int, ranges: R.Ranges) -> Any:
    top = R.PORT_MAX if proto in PORT_PROTOCOLS else R.ICMP_MAX
    if ranges == ((0, top),) or (proto not in PORT_PROTOCOLS and proto not in (ICMP, ICMPV6)):
        return "any"
    return [lo if lo == hi else f"{lo}-{hi}" for lo, hi in ranges]


def _service(s: Service) -> Data:
    out: Data = {_proto_name(p): _ports(p, r) for p, r in s.ports}
    _put(out, "app", s.app)
    return out


def _level(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def _sl(sl: SLTarget) -> Any:
    return dict(sl) if isinstance(sl, dict) else sl


def _zone(z: Zone) -> Data:
    out: Data = {"id": z.id}
    _put(out, "name", z.name)
    out["kind"] = z.kind
    if z.purdue_levels:
        levels = [_level(x) for x in z.purdue_levels]
        out["purdue_level"] = levels[0] if len(levels) == 1 else levels
    _put(out, "sl_t", _sl(z.sl_t))
    if z.safety:
        out["safety"] = True
    _put(out, "segmentation", z.segmentation)
    _put(out, "cidrs", [str(n) for n in z.networks])
    _put(out, "assets", {a.id: _asset(a) for a in z.assets.values()})
    _put(out, "owner", z.owner)
    _put(out, "description", z.description)
    return out


def _is_host(n: IPNetwork) -> bool:
    return n.prefixlen == n.max_prefixlen


def _asset(a: Asset) -> Data:
    out: Data = {}
    k = 0
    while k < len(a.networks) and _is_host(a.networks[k]):
        k += 1
    hosts = [str(n.network_address) for n in a.networks[:k]]
    if len(hosts) == 1:
        out["ip"] = hosts[0]
    elif hosts:
        out["ips"] = hosts
    _put(out, "cidrs", [str(n) for n in a.networks[k:]])
    _put(out, "role", a.role)
    _put(out, "controls", list(a.controls))
    if a.safety is not None:
        out["safety"] = a.safety
    _put(out, "description", a.description)
    return out


def _refs(endpoints: tuple[Endpoint, ...]) -> str | list[str]:
    return _one_or_list(tuple(e.ref for e in endpoints))


def _flow(f: ConduitFlow) -> Data:
    out: Data = {"from": _refs(f.sources), "to": _refs(f.destinations),
                 "service": _one_or_list(f.services)}
    if f.operations is not None:
        out["operations"] = [op for op in OPERATIONS if op in f.operations]
    _put(out, "controls", list(f.controls))
    if f.bidirectional:
        out["bidirectional"] = True
    return out


def _conduit(c: Conduit) -> Data:
    out: Data = {"id": c.id}
    _put(out, "name", c.name)
    out["between"] = list(c.between)
    _put(out, "sl_t", _sl(c.sl_t))
    _put(out, "controls_required", list(c.controls_required))
    _put(out, "compensating", list(c.compensating))
    _put(out, "enforced_by", list(c.enforced_by))
    for key in ("justification", "owner", "approved_by", "ticket", "expires"):
        _put(out, key, getattr(c, key))
    out["flows"] = [_flow(f) for f in c.flows]
    return out


def _global_rules(g: GlobalRules) -> Data:
    out: Data = {"default_action": g.default_action}
    if g.dmz_termination is not None:
        out["dmz_termination"] = {"from_kinds": list(g.dmz_termination.from_kinds),
                                  "to_kinds": list(g.dmz_termination.to_kinds)}
    _put(out, "disjoint_protocols_across", list(g.disjoint_protocols_across))
    if g.no_any_in_cross_zone_rules:
        out["no_any_in_cross_zone_rules"] = True
    _put(out, "max_port_span", g.max_port_span)
    if g.internet_egress is not None:
        out["internet_egress"] = {"deny_from_kinds": list(g.internet_egress.deny_from_kinds),
                                  "allow_conduits": list(g.internet_egress.allow_conduits)}
    if g.safety_zones is not None:
        out["safety_zones"] = {"only_conduits": list(g.safety_zones.only_conduits),
                               "forbid_operations": list(g.safety_zones.forbid_operations)}
    if g.remote_access is not None:
        ra: Data = {}
        _put(ra, "terminate_on_role", g.remote_access.terminate_on_role)
        ra["require_controls"] = list(g.remote_access.require_controls)
        out["remote_access"] = ra
    if g.management_plane is not None:
        out["management_plane"] = {"only_from": list(g.management_plane.only_from)}
    if g.ipv6_parity:
        out["ipv6_parity"] = True
    if g.conduit_sl_ge_zone_sl:
        out["conduit_sl_ge_zone_sl"] = True
    _put(out, "max_exception_days", g.max_exception_days)
    return out


def _exception(e: PolicyException) -> Data:
    out: Data = {"id": e.id, "finding": e.finding, "object": e.object}
    _put(out, "justification", e.justification)
    _put(out, "compensating", list(e.compensating))
    for key in ("owner", "approved_by", "created", "expires"):
        _put(out, key, getattr(e, key))
    return out


def _device(d: DeclaredDevice) -> Data:
    out: Data = {"id": d.id}
    _put(out, "vendor", d.vendor)
    _put(out, "interfaces", dict(d.interfaces))
    _put(out, "management", [str(a) for a in d.management])
    return out


def to_json_data(data: Any) -> Any:
    """Loaded YAML data made JSON-compatible (dates become ISO strings), for JSON Schema."""
    if isinstance(data, dict):
        return {str(k): to_json_data(v) for k, v in data.items()}
    if isinstance(data, list):
        return [to_json_data(v) for v in data]
    if isinstance(data, date):
        return data.isoformat()
    return data
