"""The shared corpus: aerleon's published renderings agree across vendors; real Cisco/Juniper
exports parse (or yield diagnostics with lines) without crashing.

``firewalls/aerleon_oracle/expected`` holds aerleon's regression outputs: one policy rendered
for several platforms. Every rendering segcheck can parse must give the same verdict for the
same packet (``GROUPS`` says which filter or zone pair of each rendering holds the policy,
and which families it carries). Vendors whose parser is not available yet are skipped.
Packets are built around every address and port that appears in the renderings.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from segcheck.errors import ConfigParseError
from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.parsers import registry
from tests.oracle import aerleon_harness as H

pytestmark = pytest.mark.corpus

Verdict = Callable[[Device, Packet], "str | None"]
Exempt = Callable[[Packet], bool]
PREFIX = "TestRegressionDemo.testSmokeTest."


def _filters(v4: str | None, v6: str | None) -> Verdict:
    def verdict(device: Device, p: Packet) -> str | None:
        name = v4 if p.version == 4 else v6
        return None if name is None else H.filter_verdict(device, name, p)

    return verdict


def _zones(a: str, b: str) -> Verdict:
    def verdict(device: Device, p: Packet) -> str | None:
        return H.zone_verdict(device, p, a, b)

    return verdict


def _never(p: Packet) -> bool:
    return False


_ESTABLISHED_HOSTS = range(int(ipaddress.ip_address("200.1.1.1")),
                           int(ipaddress.ip_address("200.1.1.5")) + 1)


def asa_dropped_established(p: Packet) -> bool:
    """Pinned aerleon divergence: the ``ciscoasa`` generator drops ``option::
    tcp-established`` (the ASA is stateful), so term ``permit-tcp-established`` becomes
    ``permit tcp any host 200.1.1.x`` and admits *new* TCP connections to the five hosts,
    which the policy (and the IOS/JunOS/iptables renderings) do not."""
    return p.proto == 6 and p.dst in _ESTABLISHED_HOSTS


def srx_any_is_dual_stack(p: Packet) -> bool:
    """Pinned aerleon divergence: for the ``inet`` filter internal->external, the ``srx``
    generator renders address-less terms with ``source-address any`` — on SRX ``any``
    includes IPv6 — while the policy (and the PAN-OS rendering, ``any-ipv4``) mean IPv4 only;
    IPv6 tcp/udp then meets the inet filter's permits."""
    return p.version == 6 and p.proto in (6, 17)


GROUPS: dict[str, list[tuple[str, str, Exempt, Verdict]]] = {
    "multitarget inbound": [
        ("cisco-ios", "sample_multitarget.acl", _never,
         _filters("edge-inbound", "ipv6-edge-inbound")),
        ("cisco-asa", "sample_multitarget.asa", asa_dropped_established,
         _filters("asa_in", None)),
        ("junos", "sample_multitarget.jcl", _never, _filters("inet:edge-inbound", None)),
        ("iptables", "sample_multitarget.ipt", _never, _filters("INPUT", None)),
    ],
    "multitarget outbound": [
        ("cisco-ios", "sample_multitarget.acl", _never,
         _filters("edge-outbound", "ipv6-edge-outbound")),
        ("cisco-asa", "sample_multitarget.asa", _never, _filters("asa_out", None)),
        ("junos", "sample_multitarget.jcl", _never, _filters("inet:edge-outbound", None)),
    ],
    **{
        f"stateful {a}->{b}": [
            ("junos", "sample_stateful_multitarget_simple.srx",
             srx_any_is_dual_stack if (a, b) == ("internal", "external") else _never,
             _zones(a, b)),
            ("panos", "sample_stateful_multitarget_simple.xml", _never, _zones(a, b)),
        ]
        for a, b in (("internal", "external"), ("external", "internal"),
                     ("unknown", "internal"))
    },
}


def _packets(texts: list[str], n: int, seed: int) -> list[Packet]:
    rng = random.Random(seed)
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for text in texts:
        for m in re.finditer(r"(?<![\w.:])(\d+\.\d+\.\d+\.\d+(?:/\d+)?|[0-9a-f:]*::[0-9a-f:]*"
                             r"(?:/\d+)?)(?![\w.:])", text):
            try:
                nets.append(ipaddress.ip_network(m.group(1), strict=False))
            except ValueError:
                continue
    ports = sorted({int(x) for t in texts for x in re.findall(r"\b(\d{1,5})\b", t)
                    if int(x) <= 65535} | {0, 22, 25, 53, 80, 123, 443, 1024, 65535})
    v4 = [x for x in nets if x.version == 4] or [ipaddress.ip_network("0.0.0.0/0")]
    v6 = [x for x in nets if x.version == 6] or [ipaddress.ip_network("::/0")]

    def addr(pool: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> int:
        net = rng.choice(pool)
        lo, hi = int(net.network_address), int(net.broadcast_address)
        top = (1 << net.max_prefixlen) - 1
        return max(0, min(top, rng.choice((lo, hi, lo - 1, hi + 1, rng.randint(lo, hi)))))

    out = []
    for _ in range(n):
        version = rng.choice((4, 6))
        pool = v4 if version == 4 else v6
        proto = rng.choice((6, 6, 17, 17, 1 if version == 4 else 58, 47, 50, 51))
        sport = dport = itype = 0
        if proto in (6, 17):
            sport, dport = rng.choice(ports), rng.choice(ports)
        if proto in (1, 58):
            itype = rng.choice((0, 3, 8, 11, 128, 129, 135, 136))
        out.append(Packet(version, addr(pool), addr(pool), proto, sport, dport, itype, 0))
    return out


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_renderings_of_one_policy_agree_across_vendors(corpus: Path, group: str) -> None:
    base = corpus / "firewalls" / "aerleon_oracle" / "expected"
    ready = set(registry.available_vendors())
    members = []
    for vendor, name, exempt, verdict in GROUPS[group]:
        path = base / f"{PREFIX}{name}.ref"
        if vendor not in ready or not hasattr(registry.parser(vendor), "parse"):
            continue
        text = path.read_text()
        device = registry.parser(vendor).parse(text, str(path))
        members.append((vendor, text, device, verdict, exempt))
    if len(members) < 2:
        pytest.skip(f"fewer than two parsers available for {group}")
    checked = 0
    bad = []
    for p in _packets([m[1] for m in members], 1500, 1):
        got = {vendor: v for vendor, _t, dev, fn, exempt in members
               if not exempt(p) and (v := fn(dev, p)) is not None}
        if len(got) >= 2:
            checked += 1
            if len(set(got.values())) != 1 and len(bad) < 5:
                bad.append(f"{p}: {got}")
    assert checked > 500
    assert not bad, "\n".join(bad)


MY_VENDORS = {"cisco_asa": "cisco-asa", "cisco_ios": "cisco-ios", "juniper_srx": "junos"}


@pytest.mark.parametrize("folder", sorted(MY_VENDORS))
def test_every_export_parses_or_reports_lines(corpus: Path, folder: str) -> None:
    vendor = MY_VENDORS[folder]
    files = sorted(f for f in (corpus / "firewalls" / folder).rglob("*") if f.is_file())
    assert files
    for f in files:
        text = f.read_text(errors="replace")
        claimed = H.detected_vendor(text)
        if claimed not in (None, vendor):
            continue  # a non-config file of another format in the folder (iptables, json)
        try:
            device = registry.parser(vendor).parse(text, str(f))
        except ConfigParseError as exc:
            error: ConfigParseError | None = exc
        else:
            error = None
        if error is not None:
            assert error.span is not None
            continue
        for d in device.diagnostics:
            assert d.span is not None, (f, str(d))
            assert 1 <= d.span.line <= text.count("\n") + 1, (f, str(d))
        for flt in device.filters.values():
            for rule in flt.rules:
                assert 1 <= rule.span.line <= text.count("\n") + 1


@pytest.mark.parametrize(("pattern", "vendor"), [
    ("cisco_asa/*.asa", "cisco-asa"),
    ("cisco_ios/*.ios", "cisco-ios"),
    ("cisco_ios/batfish-example-live/configs/*.cfg", "cisco-ios"),
    ("juniper_srx/batfish-srx-testbed/configs/*.cfg", "junos"),
])
def test_full_configs_are_detected(corpus: Path, pattern: str, vendor: str) -> None:
    files = sorted((corpus / "firewalls").glob(pattern))
    assert files
    for f in files:
        assert H.detected_vendor(f.read_text(errors="replace")) == vendor, f


def _parse_ref(corpus: Path, vendor: str, name: str) -> Device:
    path = corpus / "firewalls" / "aerleon_oracle" / "expected" / f"{PREFIX}{name}.ref"
    return registry.parser(vendor).parse(path.read_text(), str(path))


def test_asa_established_divergence_is_pinned(corpus: Path) -> None:
    asa = _parse_ref(corpus, "cisco-asa", "sample_multitarget.asa")
    ios = _parse_ref(corpus, "cisco-ios", "sample_multitarget.acl")
    p = Packet.make("198.51.101.7", "200.1.1.2", "tcp", 40000, 113)
    assert asa_dropped_established(p)
    assert H.filter_verdict(asa, "asa_in", p) == "permit"
    assert H.filter_verdict(ios, "edge-inbound", p) == "deny"


def test_srx_any_dual_stack_divergence_is_pinned(corpus: Path) -> None:
    srx = _parse_ref(corpus, "junos", "sample_stateful_multitarget_simple.srx")
    p = Packet.make("2001:db8::1", "2001:db8:ffff::1", "tcp", 40000, 9999)
    assert srx_any_is_dual_stack(p)
    rules = [r for r in srx.filters["security-policy"].rules
             if r.name == "internal->external:test-tcp-log-both"]
    assert rules
    assert any(m.family == 6 for m in rules[0].matches)
    assert H.zone_verdict(srx, p, "internal", "external") == "permit"


# --------------------------------------------------------------------------- input policies

INPUT_POLICIES = ["sample_cisco_lab.pol", "sample_multitarget.pol", "sample_srx.pol",
                  "sample_speedway.pol", "sample_stateful_multitarget_simple.pol"]
"""``input/policies/pol`` files the installed aerleon renders for all four of our targets
(``sample_stateful_multitarget_complex`` renders to hundreds of MB; the others target cloud
or other platforms only)."""

_ESTABLISHED_TERM = re.compile(r"term\s+[\w.-]+\s*\{[^{}]*?option::[^{}]*?established[^{}]*?\}")


def _retarget(text: str) -> tuple[str, int]:
    """Every header gets our four targets (filter ``f<i>``, SRX zones ``a<i>`` -> ``b<i>``);
    terms with an ``established`` option are dropped: they are meant for reply packets and
    match no connection-initiating packet, but generators render them differently (IOS
    ``established``, JunOS a high-port range for udp, ASA drops the option — see
    ``asa_dropped_established``), so keeping them would compare renderings, not meaning."""
    out: list[str] = []
    count = 0
    for line in _ESTABLISHED_TERM.sub("", text).splitlines():
        if re.match(r"\s*target::", line):
            continue
        out.append(line)
        if re.match(r"\s*header\s*\{", line):
            count += 1
            out += [f"  target:: cisco f{count} mixed", f"  target:: ciscoasa f{count}",
                    f"  target:: juniper f{count} mixed",
                    f"  target:: srx from-zone a{count} to-zone b{count} mixed"]
    return "\n".join(out), count


def _rerender(corpus: Path, name: str) -> tuple[dict[str, str], int]:
    import logging

    from aerleon.lib import cisco, ciscoasa, juniper, junipersrx, naming, policy

    logging.getLogger("absl").setLevel(logging.ERROR)
    base = corpus / "firewalls" / "aerleon_oracle" / "input"
    text, count = _retarget((base / "policies" / "pol" / name).read_text())
    pol = policy.ParsePolicy(text, naming.Naming(str(base / "def")),
                             base_dir=str(base / "policies"))
    out = {}
    for target, gen in (("cisco", cisco.Cisco), ("ciscoasa", ciscoasa.CiscoASA),
                        ("juniper", juniper.Juniper), ("srx", junipersrx.JuniperSRX)):
        try:
            out[target] = str(gen(pol, 2))
        except Exception as exc:  # aerleon refuses some terms per target
            logging.getLogger(__name__).info("aerleon %s refused %s: %s", target, name, exc)
    return out, count


SRX_MALFORMED = {"sample_speedway.pol"}
"""Pinned aerleon bug: for ``sample_speedway.pol`` the ``srx`` generator emits policy
``base-allow-lo0-out`` without its ``then`` block and closing brace, so every later policy
nests inside it; segcheck reports it (``test_srx_malformed_rendering_is_pinned``) and the
agreement test leaves that rendering out."""


def _explicit_ios(v4: str, v6: str) -> Verdict:
    """IOS filters with the implicit IPv6 ND permits set aside: no other rendering has them
    (the gap is pinned in ``test_aerleon_cisco.test_ios_implicit_nd_permit_gap_is_pinned``)."""
    def verdict(device: Device, p: Packet) -> str | None:
        flt = device.filters[v4 if p.version == 4 else v6]
        rules = tuple(r for r in flt.rules
                      if r.detail != "IPv6 ACL implicit neighbor discovery permit")
        return str(dataclasses.replace(flt, rules=rules).decide(p)[0])

    return verdict


def _input_verdict(target: str, i: int) -> Verdict:
    if target == "cisco":
        return _explicit_ios(f"f{i}", f"ipv6-f{i}")
    if target == "ciscoasa":
        return _filters(f"f{i}", None)
    if target == "juniper":
        def juniper(device: Device, p: Packet) -> str | None:
            name = f"inet:f{i}4" if p.version == 4 else f"inet6:f{i}6"
            return H.filter_verdict(device, name, p) if name in device.filters else None

        return juniper
    return _zones(f"a{i}", f"b{i}")


_PARSERS = {"cisco": "cisco-ios", "ciscoasa": "cisco-asa", "juniper": "junos", "srx": "junos"}


@pytest.mark.parametrize("name", INPUT_POLICIES)
def test_input_policies_rerendered_agree_across_vendors(corpus: Path, name: str) -> None:
    pytest.importorskip("aerleon")
    texts, count = _rerender(corpus, name)
    if name in SRX_MALFORMED:
        texts.pop("srx", None)
    devices = {}
    for target, text in texts.items():
        device = registry.parser(_PARSERS[target]).parse(text, f"{name}.{target}")
        assert device.complete, (target, [str(d) for d in device.diagnostics][:5])
        devices[target] = device
    assert len(devices) >= 2
    for i in range(1, count + 1):
        checked = 0
        bad = []
        for p in _packets(list(texts.values()), 1500, i):
            got = {t: v for t, d in devices.items()
                   if (v := _input_verdict(t, i)(d, p)) is not None}
            if len(got) >= 2:
                checked += 1
                if len(set(got.values())) != 1 and len(bad) < 5:
                    bad.append(f"filter {i}: {p}: {got}")
        assert checked > 500
        assert not bad, "\n".join(bad)


def test_srx_malformed_rendering_is_pinned(corpus: Path) -> None:
    pytest.importorskip("aerleon")
    texts, _ = _rerender(corpus, "sample_speedway.pol")
    device = registry.parser("junos").parse(texts["srx"], "speedway.srx")
    assert not device.complete
    assert any(d.code == "junos.action" and "base-allow-lo0-out" in d.message
               for d in device.diagnostics)
