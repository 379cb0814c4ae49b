"""A firewall or router in vendor-independent form.

How a packet crossing the device picks its filters is decided once, in the vendor
conversion, and recorded as ``Stage``s: a packet entering on interface ``i`` and leaving on
``e`` traverses, in order, every ``forward`` stage whose ``ingress``/``egress`` conditions
hold for ``(i, e)``, and is forwarded only if each of those filters permits it. Packets
addressed to the device itself (management) traverse the ``local`` stages likewise. A
device with no applicable stage forwards everything (a router without ACLs) — parsers of
vendors with an implicit deny must therefore emit a stage whose filter says so.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from segcheck.model.rules import Filter, IfaceContext, IfaceMatch
from segcheck.model.source import Diagnostic, SourceSpan, is_complete


@dataclass(frozen=True, slots=True)
class Stage:
    filter: str
    """Name of a filter in ``Device.filters``."""
    ingress: IfaceMatch | None = None
    """The stage applies to packets entering on a matching interface (``None``: any)."""
    egress: IfaceMatch | None = None

    def applies(self, ingress: IfaceContext, egress: IfaceContext) -> bool:
        return (self.ingress is None or self.ingress.matches(ingress)) and (
            self.egress is None or self.egress.matches(egress)
        )


@dataclass(frozen=True, slots=True)
class Interface:
    name: str
    zone: str | None = None
    """The *vendor's* zone/nameif for this interface (not the segcheck policy zone)."""
    addresses: tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, ...] = ()
    span: SourceSpan | None = None


@dataclass(frozen=True, slots=True)
class NatRule:
    """A parsed address translation. ``kind``: dnat, snat, masquerade, static, twice, ..."""

    kind: str
    span: SourceSpan
    description: str = ""
    modelled: bool = False
    """True when the parser reflected the translation in the filters' address space."""


@dataclass(frozen=True)
class Device:
    name: str
    vendor: str
    path: str
    filters: Mapping[str, Filter]
    forward: tuple[Stage, ...] = ()
    local: tuple[Stage, ...] = ()
    interfaces: Mapping[str, Interface] = field(default_factory=dict)
    nat: tuple[NatRule, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def complete(self) -> bool:
        return is_complete(self.diagnostics)

    def context(self, iface: str | None, zone: str | None = None) -> IfaceContext:
        """The interface context for ``iface``, filling in its vendor zone when known."""
        if zone is None and iface is not None and iface in self.interfaces:
            zone = self.interfaces[iface].zone
        return IfaceContext(iface, zone)

    def forward_filters(self, ingress: IfaceContext, egress: IfaceContext) -> tuple[Filter, ...]:
        """The filters a packet crossing from ``ingress`` to ``egress`` must pass, specialized."""
        return tuple(
            self.filters[s.filter].specialize(ingress, egress)
            for s in self.forward
            if s.applies(ingress, egress)
        )

    def local_filters(self, ingress: IfaceContext) -> tuple[Filter, ...]:
        """The filters a packet addressed to the device itself must pass, specialized."""
        none = IfaceContext()
        return tuple(
            self.filters[s.filter].specialize(ingress, none)
            for s in self.local
            if s.applies(ingress, none)
        )
