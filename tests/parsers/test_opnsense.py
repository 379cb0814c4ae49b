"""OPNsense parser: MVC aliases and MVC filter rules (sequence, quick, direction,
interfacenot) before legacy rules."""

from __future__ import annotations

from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import Action
from segcheck.model.source import Level
from segcheck.parsers import opnsense

CONFIG = """<?xml version="1.0"?>
<opnsense>
  <system><hostname>opn</hostname><webgui><protocol>https</protocol></webgui></system>
  <interfaces>
    <wan><enable>1</enable><if>vtnet0</if><ipaddr>203.0.113.2</ipaddr><subnet>24</subnet></wan>
    <lan><enable>1</enable><if>vtnet1</if><ipaddr>10.40.1.1</ipaddr><subnet>24</subnet>
      <ipaddrv6>2001:db8:40::1</ipaddrv6><subnetv6>64</subnetv6></lan>
    <opt1><enable>1</enable><if>vtnet2</if><ipaddr>10.50.1.1</ipaddr><subnet>24</subnet></opt1>
  </interfaces>
  <filter>
    <rule>
      <type>pass</type><interface>lan</interface><ipprotocol>inet46</ipprotocol>
      <descr>legacy lan any</descr>
      <source><network>lan</network></source><destination><any/></destination>
    </rule>
  </filter>
  <OPNsense>
    <Firewall>
      <Alias>
        <aliases>
          <alias><enabled>1</enabled><name>plc_hosts</name><type>host</type>
            <content>10.50.1.10
10.50.1.11</content></alias>
          <alias><enabled>1</enabled><name>ot_all</name><type>networkgroup</type>
            <content>plc_hosts
10.50.1.64/26</content></alias>
          <alias><enabled>1</enabled><name>geo</name><type>geoip</type><content>NL</content></alias>
        </aliases>
      </Alias>
      <Filter>
        <rules>
          <rule>
            <enabled>1</enabled><sequence>20</sequence><action>block</action><quick>1</quick>
            <interface>lan</interface><direction>in</direction><ipprotocol>inet</ipprotocol>
            <protocol>tcp</protocol><source_net>any</source_net>
            <destination_net>ot_all</destination_net><destination_port>3389</destination_port>
            <description>no rdp to ot</description>
          </rule>
          <rule>
            <enabled>1</enabled><sequence>10</sequence><action>pass</action><quick>0</quick>
            <interface>lan,opt1</interface><direction>in</direction><ipprotocol>inet</ipprotocol>
            <protocol>any</protocol><source_net>any</source_net><destination_net>any</destination_net>
            <description>soft pass</description>
          </rule>
          <rule>
            <enabled>1</enabled><sequence>30</sequence><action>block</action><quick>1</quick>
            <interface>wan</interface><interfacenot>1</interfacenot><direction>out</direction>
            <ipprotocol>inet</ipprotocol><protocol>udp</protocol>
            <source_net>any</source_net><destination_net>10.50.1.10</destination_net>
            <destination_port>161</destination_port><description>no snmp out</description>
          </rule>
          <rule>
            <enabled>0</enabled><sequence>40</sequence><action>pass</action>
            <interface>wan</interface><direction>in</direction><ipprotocol>inet</ipprotocol>
            <source_net>geo</source_net><destination_net>any</destination_net>
            <description>disabled geo</description>
          </rule>
        </rules>
      </Filter>
    </Firewall>
  </OPNsense>
</opnsense>
"""


def fwd(device: Device, p: Packet, ingress: str, egress: str) -> tuple[str, str | None]:
    for f in device.forward_filters(device.context(ingress), device.context(egress)):
        action, rule = f.decide(p)
        if action is not Action.PERMIT:
            return "deny", rule.name if rule else None
    return "permit", None


def test_mvc_rules_sequence_quick_and_aliases() -> None:
    d = opnsense.parse(CONFIG, "config.xml")
    rdp = Packet.make("10.40.1.5", "10.50.1.11", "tcp", 40000, 3389)
    assert fwd(d, rdp, "lan", "opt1") == ("deny", "no rdp to ot")
    rdp_other = Packet.make("10.40.1.5", "10.50.1.12", "tcp", 40000, 3389)
    assert fwd(d, rdp_other, "lan", "opt1")[0] == "permit"
    # opt1: only the non-quick MVC pass applies -> last match among non-quick -> pass
    web = Packet.make("10.50.1.5", "10.40.1.7", "tcp", 40000, 80)
    assert fwd(d, web, "opt1", "lan")[0] == "permit"
    # wan: nothing passes in
    assert fwd(d, web, "wan", "lan") == ("deny", "default deny (block in all)")


def test_interfacenot_and_out_direction() -> None:
    d = opnsense.parse(CONFIG, "config.xml")
    snmp = Packet.make("10.40.1.5", "10.50.1.10", "udp", 40000, 161)
    assert fwd(d, snmp, "lan", "opt1") == ("deny", "no snmp out")
    assert "out:wan" not in d.filters  # interfacenot excludes wan
    assert {"out:lan", "out:opt1"} <= set(d.filters)


def test_ipv6_allowed_and_legacy_rules_follow_mvc() -> None:
    d = opnsense.parse(CONFIG, "config.xml")
    v6 = Packet.make("2001:db8:40::5", "2001:db8:99::1", "tcp", 1, 443)
    assert fwd(d, v6, "lan", "wan")[0] == "permit"
    names = [r.name for r in d.filters["in:lan"].rules if not r.synthetic]
    assert names.index("no rdp to ot") < names.index("legacy lan any")


def test_runtime_alias_in_a_disabled_rule_is_only_a_warning() -> None:
    d = opnsense.parse(CONFIG, "config.xml")
    geo = next(r for r in d.filters["in:wan"].rules if r.name == "disabled geo")
    assert not geo.enabled
    (runtime,) = [x for x in d.diagnostics if x.code == "opnsense.runtime-alias"]
    assert runtime.level is Level.WARNING
    assert runtime.message.endswith("(only in a disabled rule)")
    assert d.complete
    # the same alias in an enabled rule makes the result incomplete
    enabled = opnsense.parse(CONFIG.replace("<enabled>0</enabled>", "<enabled>1</enabled>"),
                             "config.xml")
    (runtime,) = [x for x in enabled.diagnostics if x.code == "opnsense.runtime-alias"]
    assert runtime.level is Level.UNSUPPORTED
    assert not enabled.complete


def test_mvc_lists_uppercase_protocols_and_icmp6type() -> None:
    rule = """<rule><enabled>1</enabled><sequence>5</sequence><action>pass</action>
      <quick>1</quick><interface>opt1</interface><direction>in</direction>
      <ipprotocol>inet6</ipprotocol><protocol>ICMP</protocol><icmp6type>echoreq</icmp6type>
      <source_net>any</source_net><destination_net>2001:db8:40::5,2001:db8:40::6</destination_net>
      <description>v6 ping two hosts</description></rule>"""
    d = opnsense.parse(CONFIG.replace("<rules>", "<rules>" + rule, 1), "c.xml")
    for dst, want in (("2001:db8:40::5", "permit"), ("2001:db8:40::6", "permit"),
                      ("2001:db8:40::7", "deny")):
        p = Packet.make("2001:db8:99::1", dst, "icmpv6", icmp_type=128)
        assert fwd(d, p, "opt1", "lan")[0] == want, dst
    reply = Packet.make("2001:db8:99::1", "2001:db8:40::5", "icmpv6", icmp_type=129)
    # echo replies: the soft pass is IPv4-only, so the default deny decides
    assert fwd(d, reply, "opt1", "lan") == ("deny", "default deny (block in all)")


def test_unmodelled_mvc_rule_sections_are_reported() -> None:
    extra = ("<DNat><rule><interface>wan</interface><target>10.40.1.50</target></rule></DNat>"
             "</Firewall>")
    d = opnsense.parse(CONFIG.replace("</Firewall>", extra, 1), "c.xml")
    (diag,) = [x for x in d.diagnostics if x.code == "opnsense.unmodelled-section"]
    assert diag.level is Level.UNSUPPORTED
    assert "DNat" in diag.message
    assert not d.complete
