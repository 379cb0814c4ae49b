"""JSON Schemas (draft 2020-12) of the policy and topology languages, for editors and CI.

The schemas are built from the same key tuples the loaders accept (``loader.*_KEYS``,
``topology.*_KEYS``), and a test checks that both agree and that every bundled file
validates. The schema is the *shape*; the loader additionally checks what a schema cannot
(references, CIDR syntax, port order) and lint checks the semantics. Dates are strings
(``format: date``): YAML timestamps must be converted (``dump.to_json_data``) before
validating loaded data.
"""

from __future__ import annotations

from typing import Any

from segcheck.model.packet import PORT_PROTOCOLS, PROTOCOL_NUMBERS
from segcheck.parsers.registry import VENDORS
from segcheck.policy import loader as L
from segcheck.policy import topology as T
from segcheck.policy.model import (
    CONTROLS,
    FORMAT_VERSION,
    FOUNDATIONAL_REQUIREMENTS,
    OPERATIONS,
    SEGMENTATIONS,
    ZONE_KINDS,
)

Schema = dict[str, Any]
DRAFT = "https://json-schema.org/draft/2020-12/schema"
PORT_RANGE = r"^\s*\d+\s*-\s*\d+\s*$"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def _obj(props: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    out: Schema = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    out.update(extra)
    return out


def _list_of(item: Schema, *, scalar_ok: bool = False) -> Schema:
    arr = {"type": "array", "items": item}
    return {"oneOf": [item, arr]} if scalar_ok else arr


STR: Schema = {"type": "string", "minLength": 1}
BOOL: Schema = {"type": "boolean"}
DATE: Schema = {"type": "string", "format": "date"}


def _common_defs() -> dict[str, Schema]:
    level = {"type": "integer", "minimum": 0, "maximum": 4}
    return {
        "id": STR,
        "ids": _list_of(STR, scalar_ok=True),
        "address": {"type": "string", "minLength": 2, "description": "IPv4 or IPv6 address"},
        "cidr": {"type": "string", "minLength": 2, "description": "IPv4/IPv6 CIDR or address"},
        "cidrs": _list_of({"$ref": "#/$defs/cidr"}, scalar_ok=True),
        "control": {"enum": list(CONTROLS)},
        "controls": _list_of({"$ref": "#/$defs/control"}, scalar_ok=True),
        "kind": {"enum": list(ZONE_KINDS)},
        "kinds": _list_of({"$ref": "#/$defs/kind"}, scalar_ok=True),
        "operation": {"enum": list(OPERATIONS)},
        "operations": _list_of({"$ref": "#/$defs/operation"}, scalar_ok=True),
        "sl_t": {
            "description": "Target security level: 0..4, or the 7 foundational requirements",
            "oneOf": [
                level,
                _obj(dict.fromkeys(FOUNDATIONAL_REQUIREMENTS, level),
                     FOUNDATIONAL_REQUIREMENTS),
            ],
        },
        "management": {"oneOf": [
            _ref("address"),
            {"type": "array", "items": _ref("address")},
            _obj({"ip": _ref("address"), "ips": {"type": "array", "items": _ref("address")}}),
        ]},
        "interfaces": {
            "type": "object", "additionalProperties": _ref("id"),
            "description": "export interface name -> policy zone id",
        },
        "vendor": {"enum": list(VENDORS)},
    }


def policy_schema() -> Schema:
    """The JSON Schema of ``policies/*.yaml``."""
    port_item = {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 65535},
                           {"type": "string", "pattern": PORT_RANGE}]}
    ports = {"oneOf": [{"const": "any"}, port_item, {"type": "array", "items": port_item,
                                                      "minItems": 1}]}
    service_props: dict[str, Schema] = {
        name: (ports if num in PORT_PROTOCOLS or num in (1, 58) else {"const": "any"})
        for name, num in sorted(PROTOCOL_NUMBERS.items())
    }
    service_props.update(app=STR, description=STR)
    asset = _obj({
        "ip": _ref("address"), "ips": {"type": "array", "items": _ref("address")},
        "cidrs": _ref("cidrs"), "role": STR, "controls": _ref("controls"), "safety": BOOL,
        "description": STR,
    }, anyOf=[{"required": ["ip"]}, {"required": ["ips"]}, {"required": ["cidrs"]}])
    level = {"type": "number", "minimum": 0, "maximum": 5}
    zone = _obj({
        "id": _ref("id"), "name": STR, "kind": _ref("kind"),
        "purdue_level": _list_of(level, scalar_ok=True), "sl_t": _ref("sl_t"), "safety": BOOL,
        "segmentation": {"enum": list(SEGMENTATIONS)}, "cidrs": _ref("cidrs"),
        "assets": {"type": "object", "additionalProperties": _ref("asset")},
        "owner": STR, "description": STR,
    }, ("id", "kind"))
    flow = _obj({
        "from": _ref("ids"), "to": _ref("ids"), "service": _ref("ids"),
        "operations": _ref("operations"), "controls": _ref("controls"),
        "bidirectional": BOOL, "description": STR,
    }, ("from", "to", "service"))
    conduit = _obj({
        "id": _ref("id"), "name": STR,
        "between": {"type": "array", "items": _ref("id"), "minItems": 2, "maxItems": 2},
        "flows": {"type": "array", "items": _ref("flow"), "minItems": 1},
        "sl_t": _ref("sl_t"), "controls_required": _ref("controls"),
        "compensating": _ref("controls"), "enforced_by": _ref("ids"),
        "justification": STR, "owner": STR, "approved_by": STR, "ticket": STR,
        "expires": DATE, "description": STR,
    }, ("id", "between", "flows"))
    rules = _obj({
        "default_action": {"enum": ["deny", "permit"]},
        "dmz_termination": _obj({"from_kinds": _ref("kinds"), "to_kinds": _ref("kinds")}),
        "disjoint_protocols_across": _ref("ids"),
        "no_any_in_cross_zone_rules": BOOL,
        "max_port_span": {"type": "integer", "minimum": 1, "maximum": 65536},
        "internet_egress": _obj({"deny_from_kinds": _ref("kinds"),
                                 "allow_conduits": _ref("ids")}),
        "safety_zones": _obj({"only_conduits": _ref("ids"),
                              "forbid_operations": _ref("operations")}),
        "remote_access": _obj({"terminate_on_role": STR, "require_controls": _ref("controls")}),
        "management_plane": _obj({"only_from": _ref("ids")}),
        "ipv6_parity": BOOL, "conduit_sl_ge_zone_sl": BOOL,
        "max_exception_days": {"type": "integer", "minimum": 1},
    })
    exception = _obj({
        "id": _ref("id"), "finding": {"type": "string", "pattern": L.FINDING_CODE.pattern},
        "object": STR, "justification": STR, "compensating": _ref("controls"), "owner": STR,
        "approved_by": STR, "created": DATE, "expires": DATE,
    }, ("id", "finding", "object"))
    device = _obj({"id": _ref("id"), "vendor": _ref("vendor"), "interfaces": _ref("interfaces"),
                   "management": _ref("management")}, ("id",))
    defs = _common_defs()
    defs.update(service=_obj(service_props, minProperties=1), asset=asset, zone=zone, flow=flow,
                conduit=conduit, global_rules=rules, exception=exception, device=device)
    top = _obj({
        "segcheck": {"const": FORMAT_VERSION, "description": "format version"},
        "suc": STR, "attack_version": STR, "description": STR,
        "services": {"type": "object", "additionalProperties": _ref("service")},
        "zones": {"type": "array", "items": _ref("zone")},
        "devices": {"type": "array", "items": _ref("device")},
        "conduits": {"type": "array", "items": _ref("conduit")},
        "global_rules": _ref("global_rules"),
        "exceptions": {"type": "array", "items": _ref("exception")},
    }, ("segcheck", "zones"))
    return {"$schema": DRAFT, "$id": "https://segcheck.invalid/schema/policy-1.json",
            "title": "segcheck zone/conduit policy", **top, "$defs": defs}


def topology_schema() -> Schema:
    """The JSON Schema of ``topologies/*.yaml``."""
    defs = _common_defs()
    defs["device"] = _obj({
        "id": _ref("id"), "vendor": _ref("vendor"),
        "config": {"oneOf": [STR, {"type": "array", "items": STR, "minItems": 1}],
                   "description": "export path(s), relative to the topology file"},
        "interfaces": _ref("interfaces"), "management": _ref("management"),
        "description": STR,
    }, ("id", "config", "interfaces"))
    defs["route"] = _obj({"device": _ref("id"), "to": _ref("cidr"), "interface": STR,
                          "via": _ref("address")}, ("device", "to"),
                         anyOf=[{"required": ["interface"]}, {"required": ["via"]}])
    defs["host"] = _obj({
        "id": _ref("id"),
        "addresses": {"oneOf": [_ref("address"), {"type": "array", "items": _ref("address"),
                                                  "minItems": 1}]},
        "asset": _ref("id"), "services": _ref("ids"), "role": STR, "description": STR,
    }, ("id", "addresses"))
    top = _obj({
        "segcheck": {"const": FORMAT_VERSION, "description": "format version"},
        "policy": {"type": "string", "description": "policy file, relative to this file"},
        "description": STR,
        "devices": {"type": "array", "items": _ref("device")},
        "routes": {"type": "array", "items": _ref("route")},
        "hosts": {"type": "array", "items": _ref("host")},
    }, ("segcheck", "devices"))
    return {"$schema": DRAFT, "$id": "https://segcheck.invalid/schema/topology-1.json",
            "title": "segcheck site topology", **top, "$defs": defs}


def schema(kind: str) -> Schema:
    """``policy`` or ``topology`` (KeyError otherwise)."""
    return {"policy": policy_schema, "topology": topology_schema}[kind]()


KEYSETS: dict[str, tuple[str, ...]] = {
    "policy": L.POLICY_KEYS, "zone": L.ZONE_KEYS, "asset": L.ASSET_KEYS,
    "conduit": L.CONDUIT_KEYS, "flow": L.FLOW_KEYS, "global_rules": L.GLOBAL_KEYS,
    "exception": L.EXCEPTION_KEYS, "device": L.DEVICE_KEYS,
    "topology": T.TOPOLOGY_KEYS, "topo_device": T.TOPO_DEVICE_KEYS, "route": T.ROUTE_KEYS,
    "host": T.HOST_KEYS,
}
"""Loader key sets by schema object, for the test that schema and loader agree."""
