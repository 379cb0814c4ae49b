"""The zone/conduit policy and site topology: loading, lint, schema.

Public API (the contract in the team brief)::

    from segcheck.policy import load_policy, load_topology
    policy = load_policy("policies/riverbend.yaml")          # -> Policy (PolicyError w/ span)
    topology = load_topology("topologies/riverbend.yaml", policy)   # -> Topology
    policy.resolve(ipaddress.ip_address("10.40.1.50"))       # -> ("z-scada", "ews")

The value types live in ``segcheck.policy.model``; ``lint`` returns ``Diagnostic``s.
"""

from __future__ import annotations

from segcheck.policy.loader import load_policy
from segcheck.policy.model import (
    Asset,
    BridgeHost,
    Conduit,
    ConduitFlow,
    DeclaredDevice,
    Endpoint,
    GlobalRules,
    Policy,
    PolicyException,
    Route,
    Service,
    TopoDevice,
    Topology,
    Zone,
)
from segcheck.policy.topology import load_topology, topology_policy_path

__all__ = [
    "Asset",
    "BridgeHost",
    "Conduit",
    "ConduitFlow",
    "DeclaredDevice",
    "Endpoint",
    "GlobalRules",
    "Policy",
    "PolicyException",
    "Route",
    "Service",
    "TopoDevice",
    "Topology",
    "Zone",
    "load_policy",
    "load_topology",
    "topology_policy_path",
]
