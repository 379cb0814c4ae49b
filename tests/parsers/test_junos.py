"""JunOS parser: SRX policies and firewall filters, in set and brace formats (verdicts)."""

from __future__ import annotations

import random

import pytest

from segcheck.errors import ConfigParseError
from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import Action, IfaceContext
from segcheck.parsers import cisco_asa, cisco_ios, junos
from segcheck.parsers.junos.lexer import statements
from tests.parsers.test_cisco_ios import mutations

P = Packet.make


def zones(dev: Device, p: Packet, a: str, b: str) -> bool:
    return all(f.decide(p)[0] is Action.PERMIT
               for f in dev.forward_filters(IfaceContext(None, a), IfaceContext(None, b)))


def ifaces(dev: Device, p: Packet, i: str, e: str) -> bool:
    return all(f.decide(p)[0] is Action.PERMIT
               for f in dev.forward_filters(dev.context(i), dev.context(e)))


SRX_SET = """\
set system host-name srx1
set interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/24
set interfaces ge-0/0/1 unit 0 family inet address 192.0.2.1/24
set security zones security-zone trust interfaces ge-0/0/0.0
set security zones security-zone untrust interfaces ge-0/0/1
set security zones security-zone trust address-book address LAN 10.0.0.0/24
set security zones security-zone trust address-book address-set LANS address LAN
set security zones security-zone trust address-book address-set LANS address-set MORE
set security zones security-zone trust address-book address-set MORE address OPS
set security zones security-zone trust address-book address OPS range-address 10.9.0.1 to 10.9.0.3
set security address-book global address WEB 192.0.2.80/32
set security address-book global address WEB6 2001:db8::80/128
set security address-book global address-set WEBS address WEB
set security address-book global address-set WEBS address WEB6
set applications application tcp-8080 protocol tcp destination-port 8080-8081
set applications application-set web application junos-http
set applications application-set web application tcp-8080
set security policies from-zone trust to-zone untrust policy web match source-address LANS
set security policies from-zone trust to-zone untrust policy web match destination-address WEBS
set security policies from-zone trust to-zone untrust policy web match application web
set security policies from-zone trust to-zone untrust policy web then permit
set security policies from-zone trust to-zone untrust policy ssh match source-address any
set security policies from-zone trust to-zone untrust policy ssh match destination-address any
set security policies from-zone trust to-zone untrust policy ssh match application junos-ssh
set security policies from-zone trust to-zone untrust policy ssh then permit
deactivate security policies from-zone trust to-zone untrust policy ssh
set security policies global policy no-telnet match source-address any
set security policies global policy no-telnet match destination-address any
set security policies global policy no-telnet match application junos-telnet
set security policies global policy no-telnet then deny
set security policies global policy ping match source-address any
set security policies global policy ping match destination-address any
set security policies global policy ping match application junos-ping
set security policies global policy ping match from-zone untrust
set security policies global policy ping then permit
"""

SRX_BRACE = """\
system {
    host-name srx1;
}
interfaces {
    ge-0/0/0 {
        unit 0 {
            family inet {
                address 10.0.0.1/24;
            }
        }
    }
    ge-0/0/1 {
        unit 0 {
            family inet {
                address 192.0.2.1/24;
            }
        }
    }
}
security {
    address-book {
        global {
            address WEB 192.0.2.80/32;
            address WEB6 2001:db8::80/128;
            address-set WEBS {
                address WEB;
                address WEB6;
            }
        }
    }
    zones {
        security-zone trust {
            address-book {
                address LAN 10.0.0.0/24;
                address OPS {
                    range-address 10.9.0.1 to 10.9.0.3;
                }
                address-set LANS {
                    address LAN;
                    address-set MORE;
                }
                address-set MORE {
                    address OPS;
                }
            }
            interfaces {
                ge-0/0/0.0;
            }
        }
        security-zone untrust {
            interfaces {
                ge-0/0/1;
            }
        }
    }
    policies {
        from-zone trust to-zone untrust {
            policy web {
                match {
                    source-address LANS;
                    destination-address WEBS;
                    application web;
                }
                then {
                    permit;
                }
            }
            inactive: policy ssh {
                match {
                    source-address any;
                    destination-address any;
                    application junos-ssh;
                }
                then {
                    permit;
                }
            }
        }
        global {
            policy no-telnet {
                match {
                    source-address any;
                    destination-address any;
                    application junos-telnet;
                }
                then {
                    deny;
                }
            }
            policy ping {
                match {
                    source-address any;
                    destination-address any;
                    application junos-ping;
                    from-zone untrust;
                }
                then {
                    permit;
                }
            }
        }
    }
}
applications {
    application tcp-8080 {
        protocol tcp;
        destination-port 8080-8081;
    }
    application-set web {
        application junos-http;
        application tcp-8080;
    }
}
"""


def test_srx_policies_set_format() -> None:
    dev = junos.parse(SRX_SET, "srx1.set")
    assert dev.name == "srx1"
    assert dev.complete, [str(d) for d in dev.diagnostics]
    web = P("10.0.0.7", "192.0.2.80", "tcp", 40000, 80)
    assert zones(dev, web, "trust", "untrust")
    assert ifaces(dev, web, "ge-0/0/0.0", "ge-0/0/1.0")  # zone from the interface
    assert zones(dev, P("10.9.0.3", "192.0.2.80", "tcp", 1, 8081), "trust", "untrust")
    assert not zones(dev, P("10.9.0.4", "192.0.2.80", "tcp", 1, 8081), "trust", "untrust")
    assert not zones(dev, P("10.0.0.7", "192.0.2.81", "tcp", 1, 80), "trust", "untrust")
    assert not zones(dev, web, "untrust", "trust")  # default-policy deny-all
    assert not zones(dev, web, "trust", "trust")  # intra-zone needs a policy too
    # the deactivated ssh policy is reported but decides nothing
    ssh = P("10.0.0.7", "192.0.2.9", "tcp", 1, 22)
    assert not zones(dev, ssh, "trust", "untrust")
    rules = dev.filters["security-policy"].rules
    assert [r.enabled for r in rules] == [True, False, True, True]
    # global policies: ping only from untrust
    ping = P("192.0.2.9", "10.0.0.7", "icmp", icmp_type=8)
    assert zones(dev, ping, "untrust", "trust")
    assert not zones(dev, ping, "trust", "untrust")


def test_brace_and_set_formats_mean_the_same() -> None:
    a = junos.parse(SRX_SET, "a")
    b = junos.parse(SRX_BRACE, "b")
    assert b.complete, [str(d) for d in b.diagnostics]
    rng = random.Random(1)
    addrs = ["10.0.0.7", "10.9.0.2", "10.9.0.9", "192.0.2.80", "192.0.2.9"]
    for _ in range(300):
        proto = rng.choice(["tcp", "udp", "icmp"])
        dport = rng.choice([22, 23, 80, 8080, 8082])
        ports = (rng.randint(1, 9), dport) if proto != "icmp" else (0, 0)
        p = P(rng.choice(addrs), rng.choice(addrs), proto, *ports,
              icmp_type=8 if proto == "icmp" else 0)
        za, zb = rng.choice(["trust", "untrust"]), rng.choice(["trust", "untrust"])
        assert zones(a, p, za, zb) == zones(b, p, za, zb), (p, za, zb)
    # each rule points at the line of its first leaf in either format
    assert b.filters["security-policy"].rules[0].span.text == "source-address LANS;"


def test_default_policy_permit_all_and_dns_name_diagnostic() -> None:
    text = ("set security policies default-policy permit-all\n"
            "set security address-book global address CLOUD dns-name www.example.com\n"
            "set security policies from-zone a to-zone b policy p match source-address any\n"
            "set security policies from-zone a to-zone b policy p match destination-address CLOUD\n"
            "set security policies from-zone a to-zone b policy p match application any\n"
            "set security policies from-zone a to-zone b policy p then deny\n")
    dev = junos.parse(text, "d")
    assert zones(dev, P("1.1.1.1", "2.2.2.2", "udp", 1, 1), "a", "b")
    diag = [d for d in dev.diagnostics if d.code == "junos.fqdn"]
    assert diag
    assert diag[0].span is not None
    assert diag[0].span.line == 2
    assert not dev.complete


FILTERS = """\
firewall {
    family inet {
        filter EDGE {
            term no-bogons {
                from {
                    source-address {
                        10.0.0.0/8;
                        10.1.0.0/16 except;
                        10.1.2.0/24;
                    }
                }
                then discard;
            }
            term count-only {
                from {
                    protocol udp;
                    destination-port 514;
                }
                then count syslog;
            }
            term skip {
                from {
                    protocol tcp;
                    destination-port 23;
                }
                then next term;
            }
            term web {
                from {
                    protocol [ tcp udp ];
                    destination-port [ 80 443 8000-8080 ];
                }
                then accept;
            }
            term ping {
                from {
                    protocol icmp;
                    icmp-type echo-request;
                }
                then accept;
            }
        }
        filter SECOND {
            term all-tcp {
                from {
                    protocol tcp;
                }
                then accept;
            }
        }
    }
    family inet6 {
        filter EDGE6 {
            term ssh {
                from {
                    next-header tcp;
                    destination-port 22;
                }
                then accept;
            }
        }
    }
}
interfaces {
    ge-0/0/0 {
        unit 0 {
            family inet {
                filter {
                    input-list [ EDGE SECOND ];
                }
            }
        }
    }
    ge-0/0/1 {
        unit 0 {
            family inet6 {
                filter {
                    output EDGE6;
                }
            }
        }
    }
    lo0 {
        unit 0 {
            family inet {
                filter {
                    input EDGE;
                }
            }
        }
    }
}
"""


def test_firewall_filter_terms() -> None:
    dev = junos.parse(FILTERS, "r.conf")
    assert dev.complete, [str(d) for d in dev.diagnostics]
    f = dev.filters["inet:EDGE"]

    def verdict(p: Packet) -> Action:
        return f.decide(p)[0]

    # except: the longest matching prefix decides
    assert verdict(P("10.5.0.1", "192.0.2.1", "tcp", 1, 80)) is Action.DENY
    assert verdict(P("10.1.9.1", "192.0.2.1", "tcp", 1, 80)) is Action.PERMIT
    assert verdict(P("10.1.2.1", "192.0.2.1", "tcp", 1, 80)) is Action.DENY
    assert verdict(P("192.0.2.9", "192.0.2.1", "udp", 1, 514)) is Action.PERMIT  # count-only
    assert verdict(P("192.0.2.9", "192.0.2.1", "tcp", 1, 23)) is Action.DENY  # next term
    assert verdict(P("192.0.2.9", "192.0.2.1", "udp", 1, 8080)) is Action.PERMIT
    assert verdict(P("192.0.2.9", "192.0.2.1", "icmp", icmp_type=8)) is Action.PERMIT
    assert verdict(P("192.0.2.9", "192.0.2.1", "icmp", icmp_type=0)) is Action.DENY
    assert verdict(P("2001:db8::1", "2001:db8::2", "tcp", 1, 80)) is Action.DENY  # inet only


def test_filter_bindings_lists_families_and_loopback() -> None:
    dev = junos.parse(FILTERS, "r.conf")
    telnet = P("192.0.2.9", "198.51.100.1", "tcp", 1, 23)
    # input-list: EDGE's terms then SECOND's (which accepts all tcp), one discard at the end
    assert ifaces(dev, telnet, "ge-0/0/0.0", "ge-0/0/9.0")
    assert not ifaces(dev, P("192.0.2.9", "198.51.100.1", "udp", 1, 23), "ge-0/0/0", "x")
    # IPv6 is not filtered by the inet filter list
    assert ifaces(dev, P("2001:db8::1", "2001:db8::2", "udp", 1, 1), "ge-0/0/0.0", "x")
    # inet6 output filter on ge-0/0/1.0
    assert ifaces(dev, P("2001:db8::1", "2001:db8::2", "tcp", 1, 22), "x", "ge-0/0/1.0")
    assert not ifaces(dev, P("2001:db8::1", "2001:db8::2", "tcp", 1, 23), "x", "ge-0/0/1.0")
    assert ifaces(dev, telnet, "x", "ge-0/0/1.0")
    # lo0 filters guard the device itself
    assert [s.filter for s in dev.local] == ["ge-0/0/0.0 input", "lo0.0 input"]


def test_inactive_term_and_unknown_condition() -> None:
    text = ("set firewall filter F term a from source-address 10.0.0.0/8\n"
            "set firewall filter F term a then accept\n"
            "deactivate firewall filter F term a\n"
            "set firewall filter F term b from packet-length 100\n"
            "set firewall filter F term b then accept\n")
    dev = junos.parse(text, "f")
    rules = dev.filters["inet:F"].rules
    assert [r.enabled for r in rules] == [False, True]
    assert [d.span.line for d in dev.diagnostics if d.span] == [4]
    assert not dev.complete


def test_address_set_cycle_is_reported() -> None:
    text = ("set security address-book global address-set A address-set B\n"
            "set security address-book global address-set B address-set A\n"
            "set security policies from-zone a to-zone b policy p match source-address A\n"
            "set security policies from-zone a to-zone b policy p then permit\n")
    dev = junos.parse(text, "c")
    assert any(d.code == "junos.cycle" for d in dev.diagnostics)


def test_lexer_expands_lists_and_tracks_lines() -> None:
    st = statements("a {\n  b [ x y ];\n  /* c */\n  inactive: c d;\n}\n")
    assert [(s.words, s.line, s.inactive) for s in st] == [
        (("a", "b", "x"), 2, False), (("a", "b", "y"), 2, False), (("a", "c", "d"), 4, True)]


def test_detection() -> None:
    assert junos.detect(SRX_SET) >= 90
    assert junos.detect(SRX_BRACE) >= 80
    assert junos.detect(FILTERS) >= 80
    for text in (SRX_SET, SRX_BRACE, FILTERS):
        assert cisco_ios.detect(text) < 50
        assert cisco_asa.detect(text) < 50
    panos_set = "set rulebase security rules r1 from any\nset zone trust network layer3 e1\n"
    assert junos.detect(panos_set) == 0


def test_damaged_configs_never_crash() -> None:
    """Any damage yields a Device (with diagnostics) or a ConfigParseError, never a traceback."""
    for text in mutations([SRX_SET, SRX_BRACE, FILTERS], 400, 2):
        try:
            device = junos.parse(text, "fuzz")
        except ConfigParseError:
            continue
        assert all(d.span is None or d.span.line >= 1 for d in device.diagnostics)


def test_apply_groups_at_the_root_are_expanded() -> None:
    text = ("set groups BASE firewall filter F term t from protocol tcp\n"
            "set groups BASE firewall filter F term t then accept\n"
            "set groups WILD interfaces <ge-*> unit 0 family inet filter input F\n"
            "set apply-groups BASE\n"
            "set apply-groups WILD\n"
            "set interfaces ge-0/0/0 unit 0 family inet filter input F\n")
    dev = junos.parse(text, "g")
    f = dev.filters["inet:F"]
    assert f.decide(P("1.1.1.1", "2.2.2.2", "tcp", 1, 2))[0] is Action.PERMIT
    assert f.rules[0].span.line == 1
    assert [d.span.line for d in dev.diagnostics if d.span] == [3]


def _raises_not_junos(text: str) -> None:
    with pytest.raises(ConfigParseError, match="does not look like a JunOS") as info:
        junos.parse(text, "x.conf")
    assert info.value.span is not None
    assert info.value.span.line == 1


def test_foreign_files_are_refused() -> None:
    """No statement under a JunOS top-level stanza: an iptables-save export (no ';' at all),
    a FortiGate 'config ... end' file, a brace file of another product, a set file of
    another product: ConfigParseError at line 1 (a forced --vendor junos exits 2)."""
    from tests.parsers.test_cisco_ios import IPTABLES_SAVE

    _raises_not_junos(IPTABLES_SAVE)
    _raises_not_junos("config system global\n    set hostname fg\nend\n")
    _raises_not_junos("config {\n  devices { localhost { } }\n}\n")
    _raises_not_junos("set deviceconfig system hostname pa\nset rulebase security rules r\n")


def test_unknown_stanzas_and_syntax_errors_reported_per_line() -> None:
    """A statement outside the JunOS hierarchy is UNSUPPORTED at its line, as are words
    never ended by ';' and a block left open (a truncated export): never dropped silently."""
    text = ("system {\n    host-name r1;\n}\n"                      # 1-3
            "frobnicate {\n    everything on;\n}\n"               # 4-6: unknown stanza
            "firewall {\n    family inet {\n        filter F {\n"  # 7-9
            "            term t { then accept; }\n"               # 10
            "            term u { then discard }\n"               # 11: no ';'
            "        }\n    }\n"                                   # 12-13: firewall open
            )
    dev = junos.parse(text, "r1.conf")
    got = sorted((d.span.line, d.code) for d in dev.diagnostics if d.span)
    assert got == [(5, "junos.unknown-stanza"), (7, "junos.syntax"), (11, "junos.syntax")]
    assert not dev.complete
    setf = "set system host-name r1\nset frobnicate everything on\n-A FORWARD -j ACCEPT\n"
    dev = junos.parse(setf, "r1.set")
    assert sorted(d.span.line for d in dev.diagnostics if d.span) == [2, 3]
    assert not dev.complete


def test_security_subtrees_not_read_are_classified() -> None:
    """'security forwarding-options ... packet-based' (IPv6 then bypasses the policies) is
    UNSUPPORTED; layer-7 'utm' is one warning for its subtree; 'screen' and 'ike' are
    silent (no say over which sessions the policies admit)."""
    text = """\
set security zones security-zone trust interfaces ge-0/0/1.0
set security screen ids-option untrust-screen icmp ping-death
set security ike proposal p1 authentication-method pre-shared-keys
set security forwarding-options family inet6 mode packet-based
set security utm feature-profile web-filtering type juniper-local
set security utm default-configuration anti-virus type sophos-engine
"""
    dev = junos.parse(text, "srx.set")
    got = sorted((d.span.line, d.level.name) for d in dev.diagnostics if d.span)
    assert got == [(4, "UNSUPPORTED"), (5, "WARNING")]
    assert not dev.complete
