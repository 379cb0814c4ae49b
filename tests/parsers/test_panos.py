"""PAN-OS parser: tiny fixtures per feature, XML vs set format agreement, corpus smoke."""

from __future__ import annotations

import contextlib
import itertools
from pathlib import Path

import pytest

from segcheck.errors import ConfigParseError
from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import Action, IfaceContext
from segcheck.model.source import Level
from segcheck.parsers import panos, registry

XML = """<?xml version="1.0"?>
<config version="10.1.0">
  <shared>
    <address>
      <entry name="scada"><ip-netmask>10.40.1.0/24</ip-netmask></entry>
      <entry name="plc-range"><ip-range>10.50.1.10-10.50.1.20</ip-range></entry>
    </address>
    <service>
      <entry name="modbus"><protocol><tcp><port>502</port></tcp></protocol></entry>
    </service>
  </shared>
  <devices>
    <entry name="localhost.localdomain">
      <deviceconfig><system><hostname>fw-it</hostname></system></deviceconfig>
      <network>
        <profiles>
          <interface-management-profile>
            <entry name="allow-mgmt">
              <https>yes</https>
              <ssh>yes</ssh>
              <permitted-ip><entry name="10.250.0.0/24"/></permitted-ip>
            </entry>
          </interface-management-profile>
        </profiles>
        <interface>
          <ethernet>
            <entry name="ethernet1/1"><layer3><ip><entry name="10.10.0.1/16"/></ip>
              <interface-management-profile>allow-mgmt</interface-management-profile>
            </layer3></entry>
            <entry name="ethernet1/2"><layer3><ip><entry name="10.40.1.1/24"/></ip></layer3></entry>
            <entry name="ethernet1/3"><layer3><ip><entry name="10.50.1.1/24"/></ip></layer3></entry>
          </ethernet>
        </interface>
      </network>
      <vsys>
        <entry name="vsys1">
          <zone>
            <entry name="ent">
              <network><layer3><member>ethernet1/1</member></layer3></network></entry>
            <entry name="scada">
              <network><layer3><member>ethernet1/2</member></layer3></network></entry>
            <entry name="field">
              <network><layer3><member>ethernet1/3</member></layer3></network></entry>
          </zone>
          <address>
            <entry name="ews"><ip-netmask>10.40.1.50</ip-netmask></entry>
            <entry name="web"><fqdn>www.example.com</fqdn></entry>
            <entry name="v6net"><ip-netmask>2001:db8:40::/48</ip-netmask></entry>
          </address>
          <address-group>
            <entry name="ot-hosts">
              <static><member>ews</member><member>plc-range</member></static></entry>
            <entry name="loop-a"><static><member>loop-b</member></static></entry>
            <entry name="loop-b"><static><member>loop-a</member></static></entry>
          </address-group>
          <service>
            <entry name="rdp"><protocol><tcp><port>3389</port></tcp></protocol></entry>
            <entry name="dnp3-src">
              <protocol><tcp><port>20000</port><source-port>1024-65535</source-port></tcp></protocol></entry>
          </service>
          <service-group>
            <entry name="ot-svcs">
              <members><member>modbus</member><member>rdp</member></members></entry>
          </service-group>
          <rulebase>
            <security>
              <rules>
                <entry name="ews-to-plc">
                  <from><member>scada</member></from><to><member>field</member></to>
                  <source><member>ews</member></source><destination><member>plc-range</member></destination>
                  <service><member>ot-svcs</member></service><application><member>any</member></application>
                  <action>allow</action>
                </entry>
                <entry name="old-any">
                  <from><member>any</member></from><to><member>any</member></to>
                  <source><member>any</member></source><destination><member>any</member></destination>
                  <service><member>any</member></service><application><member>any</member></application>
                  <action>allow</action><disabled>yes</disabled>
                </entry>
                <entry name="not-scada-to-field">
                  <from><member>any</member></from><to><member>field</member></to>
                  <source><member>scada</member></source><negate-source>yes</negate-source>
                  <destination><member>any</member></destination>
                  <service><member>any</member></service><application><member>any</member></application>
                  <action>deny</action>
                </entry>
                <entry name="scada-intra-deny-rdp">
                  <rule-type>intrazone</rule-type>
                  <from><member>scada</member></from><to><member>scada</member></to>
                  <source><member>any</member></source><destination><member>any</member></destination>
                  <service><member>rdp</member></service><application><member>any</member></application>
                  <action>drop</action>
                </entry>
                <entry name="web-browsing">
                  <from><member>scada</member></from><to><member>ent</member></to>
                  <source><member>any</member></source><destination><member>any</member></destination>
                  <service><member>application-default</member></service>
                  <application><member>web-browsing</member></application>
                  <action>allow</action>
                </entry>
                <entry name="v6-ping">
                  <from><member>ent</member></from><to><member>scada</member></to>
                  <source><member>any</member></source><destination><member>v6net</member></destination>
                  <service><member>application-default</member></service>
                  <application><member>ipv6-icmp</member></application>
                  <action>allow</action>
                </entry>
                <entry name="broken">
                  <from><member>ent</member></from><to><member>scada</member></to>
                  <source><member>loop-a</member></source><destination><member>web</member></destination>
                  <service><member>any</member></service><application><member>any</member></application>
                  <action>allow</action>
                </entry>
              </rules>
            </security>
            <default-security-rules>
              <rules><entry name="interzone-default"><action>deny</action></entry></rules>
            </default-security-rules>
            <nat><rules><entry name="pf-rdp">
              <destination-translation><translated-address>10.40.1.50</translated-address></destination-translation>
            </entry></rules></nat>
          </rulebase>
        </entry>
      </vsys>
    </entry>
  </devices>
</config>
"""

SET = """set deviceconfig system hostname fw-it
set shared address scada ip-netmask 10.40.1.0/24
set shared address plc-range ip-range 10.50.1.10-10.50.1.20
set shared service modbus protocol tcp port 502
set network profiles interface-management-profile allow-mgmt https yes
set network profiles interface-management-profile allow-mgmt ssh yes
set network profiles interface-management-profile allow-mgmt permitted-ip 10.250.0.0/24
set network interface ethernet ethernet1/1 layer3 ip 10.10.0.1/16
set network interface ethernet ethernet1/1 layer3 interface-management-profile allow-mgmt
set network interface ethernet ethernet1/2 layer3 ip 10.40.1.1/24
set network interface ethernet ethernet1/3 layer3 ip 10.50.1.1/24
set zone ent network layer3 ethernet1/1
set zone scada network layer3 ethernet1/2
set zone field network layer3 ethernet1/3
set address ews ip-netmask 10.40.1.50
set address web fqdn www.example.com
set address v6net ip-netmask 2001:db8:40::/48
set address-group ot-hosts static [ ews plc-range ]
set address-group loop-a static loop-b
set address-group loop-b static loop-a
set service rdp protocol tcp port 3389
set service dnp3-src protocol tcp port 20000 source-port 1024-65535
set service-group ot-svcs members [ modbus rdp ]
set rulebase security rules ews-to-plc from scada
set rulebase security rules ews-to-plc to field
set rulebase security rules ews-to-plc source ews
set rulebase security rules ews-to-plc destination plc-range
set rulebase security rules ews-to-plc service ot-svcs
set rulebase security rules ews-to-plc application any
set rulebase security rules ews-to-plc action allow
set rulebase security rules old-any from any
set rulebase security rules old-any to any
set rulebase security rules old-any source any
set rulebase security rules old-any destination any
set rulebase security rules old-any service any
set rulebase security rules old-any application any
set rulebase security rules old-any action allow
set rulebase security rules old-any disabled yes
set rulebase security rules not-scada-to-field from any
set rulebase security rules not-scada-to-field to field
set rulebase security rules not-scada-to-field source scada
set rulebase security rules not-scada-to-field negate-source yes
set rulebase security rules not-scada-to-field destination any
set rulebase security rules not-scada-to-field service any
set rulebase security rules not-scada-to-field application any
set rulebase security rules not-scada-to-field action deny
set rulebase security rules scada-intra-deny-rdp rule-type intrazone
set rulebase security rules scada-intra-deny-rdp from scada
set rulebase security rules scada-intra-deny-rdp to scada
set rulebase security rules scada-intra-deny-rdp source any
set rulebase security rules scada-intra-deny-rdp destination any
set rulebase security rules scada-intra-deny-rdp service rdp
set rulebase security rules scada-intra-deny-rdp application any
set rulebase security rules scada-intra-deny-rdp action drop
set rulebase security rules web-browsing from scada
set rulebase security rules web-browsing to ent
set rulebase security rules web-browsing source any
set rulebase security rules web-browsing destination any
set rulebase security rules web-browsing service application-default
set rulebase security rules web-browsing application web-browsing
set rulebase security rules web-browsing action allow
set rulebase security rules v6-ping from ent
set rulebase security rules v6-ping to scada
set rulebase security rules v6-ping source any
set rulebase security rules v6-ping destination v6net
set rulebase security rules v6-ping service application-default
set rulebase security rules v6-ping application ipv6-icmp
set rulebase security rules v6-ping action allow
set rulebase security rules broken from ent
set rulebase security rules broken to scada
set rulebase security rules broken source loop-a
set rulebase security rules broken destination web
set rulebase security rules broken service any
set rulebase security rules broken application any
set rulebase security rules broken action allow
set rulebase default-security-rules rules interzone-default action deny
set rulebase nat rules pf-rdp destination-translation translated-address 10.40.1.50
"""

IFACES = ("ethernet1/1", "ethernet1/2", "ethernet1/3")


def verdict(device: Device, p: Packet, ingress: str, egress: str) -> str:
    for f in device.forward_filters(device.context(ingress), device.context(egress)):
        action, _ = f.decide(p)
        if action is not Action.PERMIT:
            return "deny"
    return "permit"


def rule_of(device: Device, p: Packet, ingress: str, egress: str) -> str | None:
    (f,) = device.forward_filters(device.context(ingress), device.context(egress))
    _, rule = f.decide(p)
    return rule.name if rule else None


@pytest.fixture(scope="module")
def xml_dev() -> Device:
    return panos.parse(XML, "fw-it.xml")


def test_objects_zones_and_rule_order(xml_dev: Device) -> None:
    d = xml_dev
    assert d.name == "fw-it"
    assert d.interfaces["ethernet1/2"].zone == "scada"
    modbus = Packet.make("10.40.1.50", "10.50.1.15", "tcp", 40000, 502)
    assert rule_of(d, modbus, "ethernet1/2", "ethernet1/3") == "ews-to-plc"
    assert verdict(d, modbus, "ethernet1/2", "ethernet1/3") == "permit"
    # outside the ip-range: falls through to interzone-default
    edge = Packet.make("10.40.1.50", "10.50.1.21", "tcp", 40000, 502)
    assert rule_of(d, edge, "ethernet1/2", "ethernet1/3") == "interzone-default"
    # negate-source: everything not from scada into field is denied by the rule
    ent = Packet.make("10.10.5.5", "10.50.1.15", "tcp", 40000, 502)
    assert rule_of(d, ent, "ethernet1/1", "ethernet1/3") == "not-scada-to-field"


def test_disabled_rule_is_kept_but_never_decides(xml_dev: Device) -> None:
    f = xml_dev.filters["security"]
    old = next(r for r in f.rules if r.name == "old-any")
    assert not old.enabled
    p = Packet.make("10.10.5.5", "10.40.1.7", "udp", 1, 53)
    assert verdict(xml_dev, p, "ethernet1/1", "ethernet1/2") == "deny"


def test_predefined_rules_are_synthetic_and_last(xml_dev: Device) -> None:
    rules = xml_dev.filters["security"].rules
    assert [r.name for r in rules[-2:]] == ["intrazone-default", "interzone-default"]
    assert all(r.synthetic for r in rules[-2:])
    assert rules[0].name == "stateful-return"
    assert rules[0].synthetic
    # intrazone: allowed by default, except what the intrazone rule drops
    rdp = Packet.make("10.40.1.10", "10.40.1.50", "tcp", 50000, 3389)
    assert rule_of(xml_dev, rdp, "ethernet1/2", "ethernet1/2") == "scada-intra-deny-rdp"
    https = Packet.make("10.40.1.10", "10.40.1.50", "tcp", 50000, 443)
    assert rule_of(xml_dev, https, "ethernet1/2", "ethernet1/2") == "intrazone-default"
    assert verdict(xml_dev, https, "ethernet1/2", "ethernet1/2") == "permit"


def test_problems_only_in_disabled_rules_do_not_make_results_incomplete() -> None:
    text = XML.replace("<source><member>loop-a</member></source>"
                       "<destination><member>web</member></destination>",
                       "<source><member>loop-a</member></source>"
                       "<destination><member>web</member></destination>"
                       "<disabled>yes</disabled>")
    d = panos.parse(text, "x.xml")
    codes = {x.code: x for x in d.diagnostics}
    assert codes["panos.fqdn"].level is Level.WARNING
    assert codes["panos.group-cycle"].level is Level.WARNING
    assert codes["panos.dnat"].level is Level.UNSUPPORTED  # still there: NAT is live


def test_default_security_rules_override() -> None:
    text = XML.replace("<entry name=\"interzone-default\"><action>deny</action>",
                       "<entry name=\"interzone-default\"><action>allow</action>")
    d = panos.parse(text, "x.xml")
    p = Packet.make("10.10.5.5", "10.40.1.7", "udp", 1, 53)
    assert rule_of(d, p, "ethernet1/1", "ethernet1/2") == "interzone-default"
    assert verdict(d, p, "ethernet1/1", "ethernet1/2") == "permit"


def test_app_id_permit_over_approximated(xml_dev: Device) -> None:
    p = Packet.make("10.40.1.10", "8.8.8.8", "udp", 5000, 9999)
    assert rule_of(xml_dev, p, "ethernet1/2", "ethernet1/1") == "web-browsing"
    codes = {d.code for d in xml_dev.diagnostics}
    assert "panos.app-id-approximated" in codes


def test_protocol_application_is_exact_and_family_specific(xml_dev: Device) -> None:
    ping6 = Packet.make("2001:db8:10::1", "2001:db8:40::5", "icmpv6", icmp_type=128)
    assert rule_of(xml_dev, ping6, "ethernet1/1", "ethernet1/2") == "v6-ping"
    tcp6 = Packet.make("2001:db8:10::1", "2001:db8:40::5", "tcp", 1, 22)
    assert rule_of(xml_dev, tcp6, "ethernet1/1", "ethernet1/2") == "interzone-default"


def test_cycles_fqdn_and_dnat_are_diagnosed_with_lines(xml_dev: Device) -> None:
    by_code = {d.code: d for d in xml_dev.diagnostics}
    assert by_code["panos.group-cycle"].level is Level.ERROR
    assert by_code["panos.fqdn"].level is Level.UNSUPPORTED
    assert by_code["panos.dnat"].level is Level.UNSUPPORTED
    assert not xml_dev.complete
    assert all(d.span is not None and d.span.line > 0 for d in xml_dev.diagnostics)
    assert [n.kind for n in xml_dev.nat] == ["dnat"]
    broken = next(r for r in xml_dev.filters["security"].rules if r.name == "broken")
    assert broken.matches == ()  # nothing resolved: matches nothing, and we said so


def test_management_profile_is_a_local_filter(xml_dev: Device) -> None:
    """The addressed interface's profile decides what the firewall answers, and the security
    policy towards that interface's zone must allow the packet too."""

    def local(p: Packet, ingress: str) -> str:
        filters = xml_dev.local_filters(xml_dev.context(ingress))
        assert [f.name for f in filters] == ["management", "security-to-device"]
        return "permit" if all(f.decide(p)[0] is Action.PERMIT for f in filters) else "deny"

    ok = Packet.make("10.250.0.10", "10.10.0.1", "tcp", 40000, 443)
    assert local(ok, "ethernet1/1") == "permit"  # ent -> ent: intrazone-default allow
    assert local(Packet.make("10.10.3.3", "10.10.0.1", "tcp", 40000, 443), "ethernet1/1") \
        == "deny"  # not a permitted-ip
    assert local(Packet.make("10.250.0.10", "10.10.0.1", "tcp", 40000, 80), "ethernet1/1") \
        == "deny"  # http not enabled
    # from another zone: scada -> ent is allowed by rule web-browsing (App-ID over-approx.)
    assert local(ok, "ethernet1/2") == "permit"
    # field -> ent: no rule, interzone-default deny
    assert local(ok, "ethernet1/3") == "deny"
    # an interface without a profile answers nothing
    assert local(Packet.make("10.250.0.10", "10.40.1.1", "tcp", 40000, 443), "ethernet1/2") \
        == "deny"


def _grid() -> list[Packet]:
    srcs = ["10.40.1.50", "10.40.1.10", "10.10.5.5", "10.50.1.15", "10.250.0.10"]
    dsts = ["10.50.1.15", "10.50.1.9", "10.40.1.50", "10.10.0.1", "8.8.8.8"]
    out = [Packet.make(s, d, proto, 40000, port) for s, d in itertools.product(srcs, dsts)
           for proto, port in (("tcp", 502), ("tcp", 3389), ("udp", 53), ("tcp", 443))]
    out.append(Packet.make("2001:db8:10::1", "2001:db8:40::5", "icmpv6", icmp_type=128))
    return out


def test_set_format_means_the_same_as_xml(xml_dev: Device) -> None:
    set_dev = panos.parse(SET, "fw-it.set")
    assert set_dev.interfaces.keys() == xml_dev.interfaces.keys()
    for p in _grid():
        for i, e in itertools.product(IFACES, IFACES):
            assert verdict(set_dev, p, i, e) == verdict(xml_dev, p, i, e), (p, i, e)
    assert {d.code for d in set_dev.diagnostics} == {d.code for d in xml_dev.diagnostics}
    # spans point at the set line that defines the rule
    rule = next(r for r in set_dev.filters["security"].rules if r.name == "ews-to-plc")
    assert rule.span.text is not None
    assert rule.span.text.startswith(
        "set rulebase security rules ews-to-plc")


def test_zones_given_directly_work_like_interfaces(xml_dev: Device) -> None:
    p = Packet.make("10.40.1.50", "10.50.1.15", "tcp", 40000, 502)
    (f,) = xml_dev.forward_filters(IfaceContext(None, "scada"), IfaceContext(None, "field"))
    assert f.decide(p)[1] is not None
    assert f.decide(p)[1].name == "ews-to-plc"


def test_detection_and_registry() -> None:
    assert panos.detect(XML) >= 90
    assert panos.detect(SET) >= 80
    assert panos.detect("<?xml version='1.0'?>\n<pfsense><version>1</version></pfsense>") == 0
    assert panos.detect("config firewall policy\n    edit 1\n    next\nend\n") == 0
    assert top_vendor(XML) == "panos"
    assert top_vendor(SET) == "panos"


def top_vendor(text: str) -> str:
    """The unique best-scoring available parser (registry.detect's rule, skipping parsers
    still under construction that lack ``detect``)."""
    scores = {v: registry.parser(v).detect(text) for v in registry.available_vendors()
              if hasattr(registry.parser(v), "detect")}
    best = max(scores.values())
    winners = [v for v, s in scores.items() if s == best]
    assert len(winners) == 1, scores
    return winners[0]


def test_malformed_xml_is_a_parse_error_with_line() -> None:
    with pytest.raises(ConfigParseError) as info:
        panos.parse("<config>\n<devices>\n</config>\n", "bad.xml")
    assert info.value.span is not None
    assert info.value.span.line == 3


def test_empty_config_has_only_predefined_rules() -> None:
    d = panos.parse("<config><devices><entry name='x'><vsys><entry name='vsys1'/></vsys>"
                    "</entry></devices></config>", "e.xml")
    names = [r.name for r in d.filters["security"].rules]
    assert names == ["stateful-return", "intrazone-default", "interzone-default"]


@pytest.mark.corpus
def test_corpus_parses_or_diagnoses(corpus: Path) -> None:
    files = sorted(p for p in (corpus / "firewalls" / "paloalto").rglob("*") if p.is_file())
    files += sorted((corpus / "firewalls" / "aerleon_oracle" / "expected").glob("*paloalto*"))
    assert files
    for path in files:
        d = registry.load_device(path, "panos")
        assert "security" in d.filters or any(k.endswith("/security") for k in d.filters)
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
        lines = rng.choice((XML, SET,)).splitlines()
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
            panos.parse("\n".join(lines), "fuzz")


def test_foreign_exports_are_refused_or_flagged() -> None:
    with pytest.raises(ConfigParseError):
        panos.parse("*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n", "x.rules")
    with pytest.raises(ConfigParseError):
        panos.parse("set security policies from-zone a to-zone b policy p match any\n", "x")
    mixed = SET + "set interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/24\n"
    d = panos.parse(mixed, "mixed.set")
    (bad,) = [x for x in d.diagnostics if x.code == "panos.unknown-stanza"]
    assert bad.span is not None
    assert bad.span.line == len(mixed.splitlines())
    assert not d.complete


def test_query_cli_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``segcheck query`` on a PAN-OS export: auto-detected, packets by interface or by
    zone, one answer per line naming the deciding rule's file and line."""
    import json

    from segcheck.cli import main

    cfg = tmp_path / "fw.xml"
    cfg.write_text(XML)
    base = {"src": "10.40.1.50", "dst": "10.50.1.15", "proto": "tcp", "sport": 40000,
            "dport": 502}
    lines = [dict(base, in_iface="ethernet1/2", out_iface="ethernet1/3"),
             dict(base, from_zone="scada", to_zone="field"),
             dict(base, dport=503, from_zone="scada", to_zone="field")]
    packets = tmp_path / "p.jsonl"
    packets.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert main(["query", "--config", str(cfg), "--packets", str(packets)]) == 0
    answers = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [a["verdict"] for a in answers] == ["permit", "permit", "deny"]
    assert answers[0]["rule"]["name"] == "ews-to-plc"
    assert XML.splitlines()[answers[0]["rule"]["line"] - 1].strip().startswith(
        '<entry name="ews-to-plc">')
    assert answers[2]["rule"]["name"] == "interzone-default"


PANORAMA = """<config version="10.1.0">
  <shared>
    <address><entry name="plc"><ip-netmask>10.50.1.0/24</ip-netmask></entry></address>
    <pre-rulebase><security><rules>
      <entry name="shared-pre-deny-telnet"><from><member>any</member></from>
        <to><member>any</member></to><source><member>any</member></source>
        <destination><member>any</member></destination><service><member>telnet</member></service>
        <application><member>any</member></application><action>deny</action></entry>
    </rules></security></pre-rulebase>
  </shared>
  <devices><entry name="localhost.localdomain"><device-group>
    <entry name="ot">
      <address><entry name="scada"><ip-netmask>10.40.1.0/24</ip-netmask></entry></address>
      <service><entry name="telnet"><protocol><tcp><port>23</port></tcp></protocol></entry>
        <entry name="modbus"><protocol><tcp><port>502</port></tcp></protocol></entry></service>
      <pre-rulebase><security><rules>
        <entry name="ot-pre-modbus"><from><member>any</member></from><to><member>any</member></to>
          <source><member>scada</member></source><destination><member>plc</member></destination>
          <service><member>modbus</member></service><application><member>any</member></application>
          <action>allow</action></entry>
      </rules></security></pre-rulebase>
      <post-rulebase><security><rules>
        <entry name="ot-post-deny-plc"><from><member>any</member></from>
          <to><member>any</member></to>
          <source><member>any</member></source><destination><member>plc</member></destination>
          <service><member>any</member></service><application><member>any</member></application>
          <action>deny</action></entry>
      </rules></security></post-rulebase>
    </entry>
    <entry name="plant-a">
      <pre-rulebase><security><rules>
        <entry name="a-pre-telnet"><from><member>any</member></from><to><member>any</member></to>
          <source><member>scada</member></source><destination><member>plc</member></destination>
          <service><member>telnet</member></service><application><member>any</member></application>
          <action>allow</action></entry>
      </rules></security></pre-rulebase>
      <post-rulebase><security><rules>
        <entry name="a-post-allow-all"><from><member>any</member></from>
          <to><member>any</member></to>
          <source><member>any</member></source><destination><member>any</member></destination>
          <service><member>any</member></service><application><member>any</member></application>
          <action>allow</action></entry>
      </rules></security></post-rulebase>
    </entry>
  </device-group></entry></devices>
  <readonly><devices><entry name="localhost.localdomain"><device-group>
    <entry name="ot"><id>11</id></entry>
    <entry name="plant-a"><id>12</id><parent-dg>ot</parent-dg></entry>
  </device-group></entry></devices></readonly>
</config>
"""


def test_panorama_device_group_hierarchy() -> None:
    """Rule order for a child device group: shared pre, parent pre, own pre, own post,
    parent post, shared post; parents' objects are visible to the child."""
    d = panos.parse(PANORAMA, "panorama.xml")
    names = [r.name for r in d.filters["plant-a/security"].rules if not r.synthetic]
    assert names == ["shared-pre-deny-telnet", "ot-pre-modbus", "a-pre-telnet",
                     "a-post-allow-all", "ot-post-deny-plc"]
    assert [r.name for r in d.filters["ot/security"].rules if not r.synthetic] == [
        "shared-pre-deny-telnet", "ot-pre-modbus", "ot-post-deny-plc"]
    f = d.filters["plant-a/security"]
    telnet = Packet.make("10.40.1.5", "10.50.1.5", "tcp", 40000, 23)
    rule = f.decide(telnet)[1]
    assert rule is not None
    assert rule.name == "shared-pre-deny-telnet"  # resolves 'telnet' from the parent group
    assert not [x for x in d.diagnostics if x.level is Level.ERROR]
