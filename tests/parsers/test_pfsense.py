"""pfSense parser: automatic rules, aliases, macros, NAT, diagnostics, corpus smoke."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from segcheck.errors import ConfigParseError
from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import Action
from segcheck.model.source import Level
from segcheck.parsers import opnsense, pfsense, registry

CONFIG = """<?xml version="1.0"?>
<pfsense>
  <system>
    <hostname>fw-ot</hostname>
    <webgui><protocol>https</protocol></webgui>
    <ssh><enable>enabled</enable><port>2222</port></ssh>
  </system>
  <interfaces>
    <wan><enable/><if>em0</if><ipaddr>203.0.113.2</ipaddr><subnet>24</subnet>
      <blockpriv/></wan>
    <lan><enable/><if>em1</if><ipaddr>10.40.1.1</ipaddr><subnet>24</subnet>
      <ipaddrv6>track6</ipaddrv6></lan>
    <opt1><enable/><if>em2</if><ipaddr>10.50.1.1</ipaddr><subnet>24</subnet></opt1>
  </interfaces>
  <aliases>
    <alias><name>plcs</name><type>host</type>
      <address>10.50.1.10 10.50.1.11 plc_extra</address></alias>
    <alias><name>plc_extra</name><type>network</type><address>10.50.1.32/28</address></alias>
    <alias><name>ics_ports</name><type>port</type><address>502 20000:20010</address></alias>
    <alias><name>bad_list</name><type>urltable</type><url>https://example.com/x</url></alias>
    <alias><name>cyc_a</name><type>host</type><address>cyc_b</address></alias>
    <alias><name>cyc_b</name><type>host</type><address>cyc_a</address></alias>
  </aliases>
  <filter>
    <rule>
      <type>pass</type><interface>lan</interface><ipprotocol>inet</ipprotocol>
      <protocol>tcp</protocol><descr>scada to plcs</descr>
      <source><network>lan</network></source>
      <destination><address>plcs</address><port>ics_ports</port></destination>
    </rule>
    <rule>
      <type>block</type><interface>lan</interface><ipprotocol>inet</ipprotocol>
      <descr>old</descr><disabled/>
      <source><any/></source><destination><any/></destination>
    </rule>
    <rule>
      <type>pass</type><interface>lan</interface><ipprotocol>inet</ipprotocol>
      <protocol>icmp</protocol><icmptype>echoreq</icmptype><descr>ping out</descr>
      <source><any/></source><destination><network>opt1</network><not/></destination>
    </rule>
    <rule>
      <type>block</type><interface>opt1</interface><ipprotocol>inet</ipprotocol>
      <descr>nothing from bad list</descr>
      <source><address>bad_list</address></source><destination><any/></destination>
    </rule>
    <rule>
      <type>pass</type><interface>opt1</interface><ipprotocol>inet</ipprotocol>
      <descr>cycle</descr>
      <source><address>cyc_a</address></source><destination><any/></destination>
    </rule>
    <rule>
      <type>pass</type><interface>lan</interface><ipprotocol>inet6</ipprotocol>
      <descr>lan v6</descr>
      <source><network>lan</network></source><destination><any/></destination>
    </rule>
  </filter>
  <nat>
    <rule>
      <interface>wan</interface><protocol>tcp</protocol><target>10.40.1.50</target>
      <local-port>3389</local-port>
      <source><any/></source><destination><network>wanip</network><port>3389</port></destination>
    </rule>
  </nat>
</pfsense>
"""


def fwd(device: Device, p: Packet, ingress: str, egress: str) -> tuple[str, str | None]:
    for f in device.forward_filters(device.context(ingress), device.context(egress)):
        action, rule = f.decide(p)
        if action is not Action.PERMIT:
            return "deny", rule.name if rule else None
    return "permit", None


def local(device: Device, p: Packet, ingress: str) -> tuple[str, str | None]:
    (f,) = device.local_filters(device.context(ingress))
    action, rule = f.decide(p)
    return action.value, rule.name if rule else None


@pytest.fixture(scope="module")
def dev() -> Device:
    return pfsense.parse(CONFIG, "config.xml")


def test_nested_aliases_and_port_alias(dev: Device) -> None:
    for dst, port, want in (("10.50.1.10", 502, "permit"), ("10.50.1.40", 20005, "permit"),
                            ("10.50.1.12", 502, "deny"), ("10.50.1.11", 20011, "deny")):
        p = Packet.make("10.40.1.7", dst, "tcp", 40000, port)
        assert fwd(dev, p, "lan", "opt1")[0] == want, (dst, port)
    # device names work like logical names
    p = Packet.make("10.40.1.7", "10.50.1.10", "tcp", 40000, 502)
    assert fwd(dev, p, "em1", "em2")[0] == "permit"


def test_default_deny_disabled_rule_and_icmp_negation(dev: Device) -> None:
    old = next(r for r in dev.filters["in:lan"].rules if r.name == "old")
    assert not old.enabled
    ping_wan = Packet.make("10.40.1.7", "198.51.100.1", "icmp", icmp_type=8)
    assert fwd(dev, ping_wan, "lan", "wan")[0] == "permit"
    ping_opt1 = Packet.make("10.40.1.7", "10.50.1.10", "icmp", icmp_type=8)
    assert fwd(dev, ping_opt1, "lan", "opt1") == ("deny", "default deny (block in all)")
    reply = Packet.make("10.40.1.7", "198.51.100.1", "icmp", icmp_type=0)
    assert fwd(dev, reply, "lan", "wan")[0] == "deny"


def test_anti_lockout_on_lan_with_redirect_and_ssh(dev: Device) -> None:
    for port in (443, 80, 2222):
        p = Packet.make("10.40.1.9", "10.40.1.1", "tcp", 40000, port)
        assert local(dev, p, "lan") == ("permit", "anti-lockout rule"), port
    assert local(dev, Packet.make("10.40.1.9", "10.40.1.1", "tcp", 4, 22), "lan")[0] == "deny"
    wan = Packet.make("198.51.100.1", "203.0.113.2", "tcp", 40000, 443)
    assert local(dev, wan, "wan") == ("deny", "default deny (block in all)")
    off = pfsense.parse(CONFIG.replace("<webgui>", "<webgui><noantilockout/>"), "c.xml")
    assert not any(r.name == "anti-lockout rule" for r in off.filters["in:lan"].rules)


def test_blockpriv_and_ipv6_default_block(dev: Device) -> None:
    p = Packet.make("10.1.1.1", "10.40.1.7", "tcp", 1, 443)
    assert fwd(dev, p, "wan", "lan") == ("deny", "block private networks")
    v6 = Packet.make("2001:db8:40::5", "2001:db8:99::1", "tcp", 1, 443)
    assert fwd(dev, v6, "lan", "wan") == ("deny", "IPv6 disabled (system/ipv6allow unset)")


def test_diagnostics_with_lines(dev: Device) -> None:
    by_code = {d.code: d for d in dev.diagnostics}
    assert by_code["pfsense.runtime-alias"].level is Level.UNSUPPORTED
    assert by_code["pfsense.group-cycle"].level is Level.ERROR
    assert by_code["pfsense.port-forward"].level is Level.UNSUPPORTED
    assert by_code["pfsense.dynamic-address"].level is Level.UNSUPPORTED  # lan v6 is track6
    assert [n.kind for n in dev.nat] == ["dnat"]
    for d in dev.diagnostics:
        assert d.span is not None
        assert d.span.line > 1


def test_rule_spans_point_at_the_rule_element(dev: Device) -> None:
    rule = next(r for r in dev.filters["in:lan"].rules if r.name == "scada to plcs")
    assert rule.span.text == "<rule>"
    assert CONFIG.splitlines()[rule.span.line - 1].strip() == "<rule>"


def test_detection_pfsense_vs_opnsense() -> None:
    assert pfsense.detect(CONFIG) == 100
    assert opnsense.detect(CONFIG) == 0
    other = CONFIG.replace("<pfsense>", "<opnsense>").replace("</pfsense>", "</opnsense>")
    assert opnsense.detect(other) == 100
    assert pfsense.detect(other) == 0
    with pytest.raises(ConfigParseError):
        pfsense.parse(other, "o.xml")


def test_empty_filter_is_default_deny_in() -> None:
    d = pfsense.parse("<pfsense><system><ipv6allow/></system><interfaces><lan><if>em1</if>"
                      "<ipaddr>10.0.0.1</ipaddr><subnet>24</subnet></lan>"
                      "<wan><if>em0</if><ipaddr>dhcp</ipaddr></wan></interfaces></pfsense>",
                      "e.xml")
    p = Packet.make("10.0.0.5", "8.8.8.8", "udp", 1, 53)
    assert fwd(d, p, "lan", "wan") == ("deny", "default deny (block in all)")


@pytest.mark.corpus
def test_corpus_parses_or_diagnoses(corpus: Path) -> None:
    for vendor, folder in (("pfsense", "pfsense"), ("opnsense", "opnsense")):
        files = sorted(p for p in (corpus / "firewalls" / folder).rglob("*") if p.is_file())
        assert files
        for path in files:
            d = registry.load_device(path, vendor)
            assert any(k.startswith("in:") for k in d.filters)
            for diag in d.diagnostics:
                assert diag.span is not None, (path, str(diag))
                assert diag.span.line > 0, (path, str(diag))


JUNK = ("any", "", "-1", "999999", "a-b", "10.0.0.0/33", "::/200", '"', "[", "}", "end",
        "next", "edit", "set", "<not/>", "0-0", "65535-1", "300", "<", "&amp;")


def test_mutated_input_never_crashes() -> None:
    """Deleted, duplicated, swapped lines and junk words: a ConfigParseError or a device
    (with diagnostics), never a traceback."""
    import random

    from segcheck.errors import ConfigParseError as Bad

    rng = random.Random(8)
    for _ in range(300):
        lines = rng.choice((CONFIG,)).splitlines()
        i = rng.randrange(len(lines))
        op = rng.random()
        if op < 0.3:
            del lines[i]
        elif op < 0.5:
            lines.insert(i, rng.choice(lines))
        elif op < 0.8:
            words = lines[i].split() or [""]
            words[rng.randrange(len(words))] = rng.choice(JUNK)
            lines[i] = " ".join(words)
        else:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        with contextlib.suppress(Bad):
            pfsense.parse("\n".join(lines), "fuzz")


def test_query_cli_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from segcheck.cli import main

    cfg = tmp_path / "config.xml"
    cfg.write_text(CONFIG)
    base = {"src": "10.40.1.7", "dst": "10.50.1.10", "proto": "tcp", "sport": 40000,
            "dport": 502}
    lines = [dict(base, in_iface="lan", out_iface="opt1"), dict(base, in_iface="em1",
             out_iface="em2"), dict(base, dst="10.50.1.12", from_zone="lan", to_zone="opt1")]
    packets = tmp_path / "p.jsonl"
    packets.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert main(["query", "--config", str(cfg), "--packets", str(packets)]) == 0
    answers = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [a["verdict"] for a in answers] == ["permit", "permit", "deny"]
    assert answers[0]["rule"]["name"] == "scada to plcs"
    assert answers[2]["rule"]["name"] == "default deny (block in all)"
