"""Differential-test harness: random aerleon policies, their renderings, and their own meaning.

The oracle is aerleon (a policy-to-ACL generator, independent of segcheck): a random
policy is rendered to a vendor's syntax by aerleon, parsed back by segcheck, and segcheck's
verdict on random packets is compared with the verdict of the *policy itself*, computed here
by ``reference_verdict`` — a deliberately naive first-match evaluation of the terms that
shares no code with segcheck's parsers or engine.

Writing a test for one more vendor takes a few lines::

    from tests.oracle import aerleon_harness as H

    def test_fortigate() -> None:
        H.assert_agreement("fortigate", parse=my_parse, verdict=my_verdict)

where ``verdict(device, packet) -> "permit" | "deny"`` picks the filter or zone pair the
target's header (``TARGETS[target].header``) put the policy in; ``H.filter_verdict`` and
``H.zone_verdict`` cover the usual cases.

Building blocks: ``random_policy(seed, target)`` -> ``Policy`` (only features the target
renders), ``Policy.to_aerleon(target)`` -> (policy dict, definitions dict), ``render(policy,
target)`` -> text, ``random_packets(policy, n, seed)``, ``reference_verdict(policy, packet)``
and ``reference_term`` (the deciding term, for messages), ``detected_vendor(text)`` (the
registry's tie-free detection over the parsers that are ready), ``run_target`` /
``assert_agreement`` (the loop, with the first disagreements as examples).

Where a rendering does not mean the policy (an aerleon bug or a vendor default aerleon does
not compensate), the vendor's test pins the case in a test of its own with the reason and
leaves it out of the agreement run — see the module docstrings of ``test_aerleon_*.py``.
The reference meaning itself is checked against aerleon's ``aclcheck`` evaluator
(``test_aerleon_reference.py``).

Term semantics (what ``reference_verdict`` implements; the random generator only produces
terms for which these are aerleon's documented meaning):

- Terms are tried in order; the first matching term decides; no match -> deny (every
  target's rendering ends in an implicit or explicit deny).
- ``accept`` -> permit; ``deny`` and ``reject`` -> deny.
- An address field that lists addresses matches a packet whose address is in one of them and
  in none of the field's excludes. Listing only addresses of the *other* family means the
  term matches no packet of this family (aerleon drops the term from that family's filter).
  An empty field matches any address.
- Protocols: a term naming ``icmp`` is IPv4-only, one naming ``icmpv6`` IPv6-only (aerleon
  drops AF-mismatched ICMP terms); the generator keeps ICMP terms single-protocol. No
  protocol -> any protocol.
- Ports only with tcp/udp terms; each listed range applies to every protocol of the term
  (the service definitions list each range for each of the term's protocols).
- ICMP types (names from aerleon's table, per family) only in single-ICMP-protocol terms;
  any code.
- Packets are connection-initiating (``new``); renderings that add ``established`` handling
  do not matter for them.

Scale: ``SEGCHECK_ORACLE_SCALE`` (default 1) multiplies the 100 policies x 100 packets of a
CI run.
"""

from __future__ import annotations

import ipaddress
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from segcheck.model.device import Device
from segcheck.model.packet import PORT_PROTOCOLS, Packet, protocol_number
from segcheck.model.rules import Action, IfaceContext

Net = ipaddress.IPv4Network | ipaddress.IPv6Network

ICMP_TYPES: dict[int, dict[str, int]] = {
    4: {"echo-reply": 0, "unreachable": 3, "redirect": 5, "echo-request": 8,
        "time-exceeded": 11, "parameter-problem": 12, "timestamp-request": 13},
    6: {"destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3,
        "echo-request": 128, "echo-reply": 129, "neighbor-solicit": 135,
        "neighbor-advertisement": 136},
}
"""A subset of aerleon's ``policy.Term.ICMP_TYPE``, restated here (the oracle's own table)."""

PORT_PROTOS = ("tcp", "udp")
OTHER_PROTOS = ("gre", "esp", "ah", "sctp")


@dataclass(frozen=True)
class Term:
    name: str
    action: str  # accept | deny | reject
    src: tuple[Net, ...] = ()
    src_exclude: tuple[Net, ...] = ()
    dst: tuple[Net, ...] = ()
    dst_exclude: tuple[Net, ...] = ()
    protocols: tuple[str, ...] = ()
    sports: tuple[tuple[int, int], ...] = ()
    dports: tuple[tuple[int, int], ...] = ()
    icmp_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """A random policy in the harness's own form (the reference meaning is computed from it)."""

    seed: int
    terms: tuple[Term, ...]
    families: tuple[int, ...] = (4, 6)
    name: str = "f1"

    def to_aerleon(self, target: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(policy dict, definitions dict) for ``aerleon.api.Generate`` and ``target``."""
        networks: dict[str, Any] = {}
        services: dict[str, Any] = {}
        terms: list[dict[str, Any]] = []
        for i, t in enumerate(self.terms):
            d: dict[str, Any] = {"name": t.name, "action": t.action}
            for key, nets in (("source-address", t.src), ("source-exclude", t.src_exclude),
                              ("destination-address", t.dst),
                              ("destination-exclude", t.dst_exclude)):
                if nets:
                    ref = f"T{i}_{key.replace('-', '_').upper()}"
                    networks[ref] = {"values": [{"address": str(n)} for n in nets]}
                    d[key] = ref
            if t.protocols:
                d["protocol"] = " ".join(t.protocols)
            for key, ports in (("source-port", t.sports), ("destination-port", t.dports)):
                if ports:
                    ref = f"T{i}_{key.replace('-', '_').upper()}"
                    services[ref] = [
                        {"port": f"{lo}" if lo == hi else f"{lo}-{hi}", "protocol": p}
                        for lo, hi in ports for p in t.protocols
                    ]
                    d[key] = ref
            if t.icmp_types:
                d["icmp-type"] = " ".join(t.icmp_types)
            terms.append(d)
        spec = TARGETS[target]
        header = spec.header.format(name=self.name)
        policy = {
            "filename": f"pol{self.seed}",
            "filters": [{"header": {"targets": {spec.name: header}}, "terms": terms}],
        }
        return policy, {"networks": networks, "services": services}


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """How the harness renders to one aerleon target."""

    name: str
    header: str
    """aerleon header options (``{name}`` = the policy's filter name)."""
    families: tuple[int, ...] = (4, 6)
    """Address families the rendering carries (aerleon's ciscoasa is IPv4-only)."""
    actions: tuple[str, ...] = ("accept", "deny", "reject")
    excludes: bool = True
    icmp: bool = True
    """Generate ICMP terms at all."""
    icmp_types: bool = True
    """Generate ``icmp-type`` restrictions."""
    note: str = ""


TARGETS: dict[str, Target] = {
    "cisco": Target("cisco", "{name} mixed"),
    "ciscoasa": Target("ciscoasa", "{name}", families=(4,),
                       note="aerleon's ciscoasa generator renders IPv4 only"),
    "juniper": Target("juniper", "{name} mixed"),
    "srx": Target("srx", "from-zone a to-zone b mixed"),
    "paloalto": Target("paloalto", "from-zone a to-zone b mixed"),
    "fortigate": Target("fortigate", "from-zone a to-zone b mixed", actions=("accept", "deny"),
                        icmp=False,
                        note="aerleon 1.18 fortigate: no reject; ICMP terms crash or are refused "
                             "(service sort TypeError, ICMPv6 AF mismatch without addresses)"),
    "nftables": Target("nftables", "mixed INPUT", actions=("accept", "deny"), icmp_types=False,
                       note="aerleon 1.18 nftables: no reject; icmpv6 types crash (TypeError)"),
    "iptables": Target("iptables", "FORWARD DROP", families=(4,)),
    "iptables6": Target("iptables", "FORWARD DROP inet6", families=(6,),
                        note="the same generator, ip6tables rendering"),
}
"""Harness target name -> aerleon target (``Target.name``), header and capabilities;
``junipersrx`` is aerleon's ``srx``; ``iptables6`` is aerleon ``iptables`` for IPv6."""


# --------------------------------------------------------------------------- generation

_V4_BASES = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "10.1.0.0/16", "172.16.0.0/12",
                                                "192.168.0.0/16", "203.0.113.0/24")]
_V6_BASES = [ipaddress.ip_network(n) for n in ("2001:db8::/32", "2001:db8:1::/48", "fd00::/8")]


def _random_net(rng: random.Random, family: int) -> Net:
    base = rng.choice(_V4_BASES if family == 4 else _V6_BASES)
    top = 32 if family == 4 else 128
    plen = rng.randint(base.prefixlen, min(top, base.prefixlen + rng.choice((0, 2, 8, 16))))
    offset = rng.getrandbits(top - base.prefixlen) if top > base.prefixlen else 0
    addr = int(base.network_address) | offset
    return ipaddress.ip_network((addr, plen), strict=False)


def _subnet_of(rng: random.Random, net: Net) -> Net | None:
    top = net.max_prefixlen
    if net.prefixlen >= top - 1:
        return None
    plen = rng.randint(net.prefixlen + 1, min(top, net.prefixlen + 8))
    offset = rng.getrandbits(top - net.prefixlen)
    return ipaddress.ip_network((int(net.network_address) | offset, plen), strict=False)


def _random_addresses(
    rng: random.Random, families: Sequence[int], excludes: bool
) -> tuple[tuple[Net, ...], tuple[Net, ...]]:
    if rng.random() < 0.4:
        return (), ()
    nets = tuple(_random_net(rng, rng.choice(families)) for _ in range(rng.randint(1, 3)))
    ex: list[Net] = []
    if excludes and rng.random() < 0.25:
        sub = _subnet_of(rng, rng.choice(nets))
        if sub is not None:
            ex.append(sub)
    return nets, tuple(ex)


def _random_ports(rng: random.Random) -> tuple[tuple[int, int], ...]:
    out = []
    for _ in range(rng.randint(1, 3)):
        lo = rng.choice((22, 53, 80, 443, 502, 1024, 8080, rng.randint(1, 65535)))
        hi = lo if rng.random() < 0.6 else min(65535, lo + rng.randint(1, 2000))
        out.append((lo, hi))
    return tuple(sorted(set(out)))


def random_policy(seed: int, target: str | None = None, *, max_terms: int = 8) -> Policy:
    """A random policy using only features ``target`` renders (all targets when None)."""
    rng = random.Random(seed)
    spec = TARGETS[target] if target else Target("any", "")
    families = spec.families
    terms = []
    for i in range(rng.randint(1, max_terms)):
        src, src_ex = _random_addresses(rng, families, spec.excludes)
        dst, dst_ex = _random_addresses(rng, families, spec.excludes)
        kind = rng.random()
        protocols: tuple[str, ...] = ()
        sports: tuple[tuple[int, int], ...] = ()
        dports: tuple[tuple[int, int], ...] = ()
        icmp: tuple[str, ...] = ()
        if kind < 0.55:
            protocols = tuple(sorted(rng.sample(PORT_PROTOS, rng.randint(1, 2))))
            if rng.random() < 0.8:
                dports = _random_ports(rng)
            if rng.random() < 0.2:
                sports = _random_ports(rng)
        elif kind < 0.75 and spec.icmp:
            fam = rng.choice(families)
            protocols = ("icmp",) if fam == 4 else ("icmpv6",)
            if spec.icmp_types and rng.random() < 0.6:
                icmp = tuple(sorted(rng.sample(sorted(ICMP_TYPES[fam]), rng.randint(1, 2))))
            # an ICMP term only makes sense with addresses of its own family
            src = tuple(n for n in src if n.version == fam)
            dst = tuple(n for n in dst if n.version == fam)
            src_ex = tuple(n for n in src_ex if n.version == fam and src)
            dst_ex = tuple(n for n in dst_ex if n.version == fam and dst)
        elif kind < 0.85:
            protocols = (rng.choice(OTHER_PROTOS),)
        terms.append(Term(
            name=f"t{i}", action=rng.choice(spec.actions), src=src, src_exclude=src_ex,
            dst=dst, dst_exclude=dst_ex, protocols=protocols, sports=sports, dports=dports,
            icmp_types=icmp,
        ))
    return Policy(seed=seed, terms=tuple(terms), families=families)


def render(policy: Policy, target: str) -> str:
    """The text aerleon generates for ``policy`` on ``target``."""
    from aerleon import api
    from aerleon.lib import naming

    pol, defs = policy.to_aerleon(target)
    definitions = naming.Naming()
    definitions.ParseDefinitionsObject(defs, "")
    out = api.Generate([pol], definitions)
    if len(out) != 1:
        raise AssertionError(f"aerleon produced {sorted(out)} for {target}")
    text: str = next(iter(out.values()))
    return text


# --------------------------------------------------------------------------- reference


def _in(nets: Sequence[Net], version: int, addr: int) -> bool:
    return any(n.version == version and int(n.network_address) <= addr
               <= int(n.broadcast_address) for n in nets)


def _addr_ok(nets: Sequence[Net], ex: Sequence[Net], version: int, addr: int) -> bool:
    if not nets:
        return not _in(ex, version, addr)
    return _in(nets, version, addr) and not _in(ex, version, addr)


def term_matches(t: Term, p: Packet) -> bool:
    """The reference meaning of one term (module docstring)."""
    if not _addr_ok(t.src, t.src_exclude, p.version, p.src):
        return False
    if not _addr_ok(t.dst, t.dst_exclude, p.version, p.dst):
        return False
    if t.protocols:
        if "icmp" in t.protocols and p.version != 4:
            return False
        if "icmpv6" in t.protocols and p.version != 6:
            return False
        numbers = {protocol_number(x) for x in t.protocols}
        if p.proto not in numbers:
            return False
    if t.sports and not any(lo <= p.sport <= hi for lo, hi in t.sports):
        return False
    if t.dports and not any(lo <= p.dport <= hi for lo, hi in t.dports):
        return False
    if t.icmp_types:
        wanted = {ICMP_TYPES[p.version][n] for n in t.icmp_types if n in ICMP_TYPES[p.version]}
        if p.icmp_type not in wanted:
            return False
    return True


def reference_verdict(policy: Policy, packet: Packet) -> str:
    """``"permit"`` or ``"deny"``: the policy's own first-match meaning for a new packet."""
    for t in policy.terms:
        if term_matches(t, packet):
            return "permit" if t.action == "accept" else "deny"
    return "deny"


def reference_term(policy: Policy, packet: Packet) -> str | None:
    """Name of the deciding term (for failure messages)."""
    for t in policy.terms:
        if term_matches(t, packet):
            return t.name
    return None


def _pick_addr(rng: random.Random, nets: Sequence[Net], ex: Sequence[Net], version: int) -> int:
    pool = [n for n in (*nets, *ex) if n.version == version]
    top = 32 if version == 4 else 128
    if pool and rng.random() < 0.85:
        n = rng.choice(pool)
        lo, hi = int(n.network_address), int(n.broadcast_address)
        choice = rng.random()
        if choice < 0.15:
            return lo
        if choice < 0.3:
            return hi
        if choice < 0.4:
            return max(0, lo - 1)
        if choice < 0.5:
            return min((1 << top) - 1, hi + 1)
        return rng.randint(lo, hi)
    base = rng.choice(_V4_BASES if version == 4 else _V6_BASES)
    return rng.randint(int(base.network_address), int(base.broadcast_address))


def _pick_port(rng: random.Random, ranges: Sequence[tuple[int, int]]) -> int:
    if ranges and rng.random() < 0.85:
        lo, hi = rng.choice(ranges)
        return max(0, min(65535, rng.choice((lo, hi, lo - 1, hi + 1, rng.randint(lo, hi)))))
    return rng.choice((0, 1, 22, 80, 443, 1024, 65535, rng.randint(0, 65535)))


def random_packets(policy: Policy, n: int, seed: int) -> list[Packet]:
    """``n`` packets aimed at the terms' edges (in, just outside, excluded) and elsewhere."""
    rng = random.Random(seed)
    out: list[Packet] = []
    while len(out) < n:
        t = rng.choice(policy.terms) if policy.terms and rng.random() < 0.9 else Term("x", "deny")
        version = rng.choice(policy.families)
        src = _pick_addr(rng, t.src, t.src_exclude, version)
        dst = _pick_addr(rng, t.dst, t.dst_exclude, version)
        protos = [protocol_number(x) for x in t.protocols]
        if t.protocols and rng.random() < 0.85:
            proto = rng.choice(protos) or 0
        else:
            proto = rng.choice((6, 17, 1, 58, 47, 50, 51, 132, 0, 255))
        sport = dport = itype = icode = 0
        if proto in PORT_PROTOCOLS:
            sport = _pick_port(rng, t.sports)
            dport = _pick_port(rng, t.dports)
        if (version, proto) in ((4, 1), (6, 58)):
            names = [x for x in t.icmp_types if x in ICMP_TYPES[version]]
            if names and rng.random() < 0.8:
                itype = ICMP_TYPES[version][rng.choice(names)]
            else:
                itype = rng.choice([*sorted(ICMP_TYPES[version].values()), rng.randint(0, 255)])
            icode = rng.choice((0, 0, 1, rng.randint(0, 255)))
        out.append(Packet(version, src, dst, proto, sport, dport, itype, icode))
    return out


# --------------------------------------------------------------------------- segcheck side


def filter_verdict(device: Device, name: str, packet: Packet) -> str:
    """Verdict of one named filter of ``device`` (interface conditions: none)."""
    action, _ = device.filters[name].decide(packet)
    return "permit" if action is Action.PERMIT else "deny"


def zone_verdict(device: Device, packet: Packet, from_zone: str, to_zone: str,
                 in_iface: str | None = None, out_iface: str | None = None) -> str:
    """Verdict of the device's forward stages for a packet crossing zone pair (from, to)."""
    filters = device.forward_filters(IfaceContext(in_iface, from_zone),
                                     IfaceContext(out_iface, to_zone))
    for f in filters:
        action, _ = f.decide(packet)
        if action is not Action.PERMIT:
            return "deny"
    return "permit"


@dataclass
class Outcome:
    target: str
    policies: int = 0
    packets: int = 0
    agreed: int = 0
    disagreements: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.target}: {self.policies} policies x packets = {self.packets} checked, "
                f"{self.agreed} agree ({self.packets - self.agreed} differ)")


def detected_vendor(text: str) -> str | None:
    """The vendor whose parser claims ``text`` alone with the top score (None on a tie or
    when nobody claims it) — ``registry.detect`` over the parsers that are ready."""
    from segcheck.parsers import registry

    scores = []
    for vendor in registry.available_vendors():
        module = registry.parser(vendor)
        if hasattr(module, "detect"):
            scores.append((module.detect(text), vendor))
    scores.sort(reverse=True)
    if not scores or scores[0][0] < registry.DETECT_THRESHOLD:
        return None
    if len(scores) > 1 and scores[1][0] == scores[0][0]:
        return None
    return scores[0][1]


def scale() -> int:
    return max(1, int(os.environ.get("SEGCHECK_ORACLE_SCALE", "1")))


PINNED: dict[tuple[str, int], str] = {}
"""(target, seed) -> reason, for disagreements traced to an aerleon bug (none so far)."""


def run_target(
    target: str,
    parse: Callable[[str, str], Device],
    verdict: Callable[[Device, Packet], str],
    *,
    policies: int | None = None,
    packets: int = 100,
    first_seed: int = 0,
    keep: int = 5,
) -> Outcome:
    """Render ``policies`` random policies to ``target``, parse, compare on ``packets`` each."""
    n = policies if policies is not None else 100 * scale()
    out = Outcome(target)
    for seed in range(first_seed, first_seed + n):
        if (target, seed) in PINNED:
            out.skipped.append(f"seed {seed}: {PINNED[target, seed]}")
            continue
        pol = random_policy(seed, target)
        text = render(pol, target)
        device = parse(text, f"<aerleon {target} seed {seed}>")
        out.policies += 1
        for p in random_packets(pol, packets, seed):
            want = reference_verdict(pol, p)
            got = verdict(device, p)
            out.packets += 1
            if want == got:
                out.agreed += 1
            elif len(out.disagreements) < keep:
                out.disagreements.append(
                    f"seed {seed}: {p}: policy says {want} (term {reference_term(pol, p)}), "
                    f"segcheck says {got}")
    return out


def assert_agreement(
    target: str,
    parse: Callable[[str, str], Device],
    verdict: Callable[[Device, Packet], str],
    **kw: Any,
) -> Outcome:
    """``run_target`` and fail with examples unless agreement is 100%."""
    out = run_target(target, parse, verdict, **kw)
    assert out.policies > 0
    assert not out.disagreements, f"{out}\n" + "\n".join(out.disagreements)
    return out
