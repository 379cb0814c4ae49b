"""FortiGate parser: tiny fixtures per feature, VDOMs, local-in, corpus smoke."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segcheck.errors import ConfigParseError
from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import Action
from segcheck.model.source import Level
from segcheck.parsers import fortigate, registry

CONF = """#config-version=FGVM64-7.0.12-FW-build0523-230330:opmode=0:vdom=0:user=admin
config system global
    set hostname "fw-ot"
    set admin-sport 8443
end
config system interface
    edit "port1"
        set vdom "root"
        set ip 10.10.0.2 255.255.0.0
        set allowaccess ping https ssh
    next
    edit "port2"
        set vdom "root"
        set ip 10.30.0.1 255.255.255.0
    next
    edit "port3"
        set vdom "root"
        set ip 10.40.1.1 255.255.255.0
    next
    edit "port4"
        set vdom "root"
        set ip 10.50.1.1 255.255.255.0
    next
    edit "port5"
        set vdom "root"
        set ip 10.60.0.1 255.255.0.0
    next
end
config system zone
    edit "ot"
        set intrazone allow
        set interface "port4" "port5"
    next
end
config firewall address
    edit "scada-srv"
        set subnet 10.40.1.20 255.255.255.254
    next
    edit "plc"
        set type iprange
        set start-ip 10.50.1.10
        set end-ip 10.50.1.20
    next
    edit "vendor-portal"
        set type fqdn
        set fqdn "portal.example.com"
    next
    edit "odd-hosts"
        set type wildcard
        set wildcard 10.10.0.1 255.255.0.255
    next
    edit "ent"
        set subnet 10.10.0.0/16
    next
    edit "ent-admins"
        set subnet 10.10.40.0 255.255.255.192
    next
end
config firewall address6
    edit "scada6"
        set ip6 2001:db8:40::/48
    next
end
config firewall addrgrp
    edit "ent-no-admins"
        set member "ent"
        set exclude enable
        set exclude-member "ent-admins"
    next
    edit "loop1"
        set member "loop2"
    next
    edit "loop2"
        set member "loop1"
    next
end
config firewall service custom
    edit "modbus"
        set tcp-portrange 502
    next
    edit "dnp3-hi"
        set tcp-portrange 20000:1024-65535
    next
    edit "echo"
        set protocol ICMP
        set icmptype 8
    next
    edit "gre"
        set protocol IP
        set protocol-number 47
    next
end
config firewall service group
    edit "ot-svcs"
        set member "modbus" "dnp3-hi"
    next
end
config firewall vip
    edit "rdp-fwd"
        set extip 10.10.0.100
        set mappedip "10.40.1.50"
        set extintf "port1"
    next
end
config firewall policy
    edit 5
        set name "scada-to-plc"
        set srcintf "port3"
        set dstintf "ot"
        set srcaddr "scada-srv"
        set dstaddr "plc"
        set action accept
        set schedule "always"
        set service "ot-svcs"
    next
    edit 7
        set name "ent-block-admins"
        set srcintf "port1"
        set dstintf "port2"
        set srcaddr "ent-no-admins"
        set dstaddr "all"
        set action deny
        set service "ALL"
    next
    edit 3
        set name "old-any"
        set srcintf "any"
        set dstintf "any"
        set srcaddr "all"
        set dstaddr "all"
        set action accept
        set service "ALL"
        set status disable
    next
    edit 9
        set name "admins-ping"
        set srcintf "port1"
        set dstintf "port2"
        set srcaddr "all"
        set dstaddr "all"
        set action accept
        set service "echo"
    next
    edit 11
        set name "v6-scada"
        set srcintf "port1"
        set dstintf "port3"
        set srcaddr6 "all"
        set dstaddr6 "scada6"
        set action accept
        set service "modbus"
    next
    edit 12
        set name "fwd-rdp"
        set srcintf "port1"
        set dstintf "port3"
        set srcaddr "all"
        set dstaddr "rdp-fwd"
        set action accept
        set service "ALL"
    next
    edit 13
        set name "broken"
        set srcintf "port1"
        set dstintf "port2"
        set srcaddr "loop1"
        set dstaddr "vendor-portal"
        set action accept
        set service "ALL"
    next
    edit 14
        set name "not-odd"
        set srcintf "port2"
        set dstintf "port1"
        set srcaddr "odd-hosts"
        set srcaddr-negate enable
        set dstaddr "all"
        set action accept
        set service "gre"
    next
end
config firewall local-in-policy
    edit 1
        set intf "port1"
        set srcaddr "ent-no-admins"
        set dstaddr "all"
        set service "ALL"
        set schedule "always"
    next
end
"""


def verdict(device: Device, p: Packet, ingress: str, egress: str) -> tuple[str, str | None]:
    (f,) = device.forward_filters(device.context(ingress), device.context(egress))
    action, rule = f.decide(p)
    return action.value, rule.name if rule else None


@pytest.fixture(scope="module")
def dev() -> Device:
    return fortigate.parse(CONF, "fw-ot.conf")


def test_policy_order_is_listed_order_and_names(dev: Device) -> None:
    p = Packet.make("10.40.1.21", "10.50.1.15", "tcp", 40000, 502)
    assert verdict(dev, p, "port3", "port4") == ("permit", "policy 5 (scada-to-plc)")
    rules = dev.filters["policy"].rules
    assert [r.name.split()[1] for r in rules if not r.synthetic] == [
        "5", "7", "3", "9", "11", "12", "13", "14"]
    assert rules[-1].synthetic
    assert rules[-1].name == "implicit deny (policy 0)"
    first = next(r for r in rules if not r.synthetic)
    assert first.span.text == "edit 5"


def test_service_group_source_ports_and_ranges(dev: Device) -> None:
    dnp3 = Packet.make("10.40.1.20", "10.50.1.10", "tcp", 1024, 20000)
    assert verdict(dev, dnp3, "port3", "port4")[0] == "permit"
    low_src = Packet.make("10.40.1.20", "10.50.1.10", "tcp", 1023, 20000)
    assert verdict(dev, low_src, "port3", "port4")[0] == "deny"
    outside = Packet.make("10.40.1.22", "10.50.1.10", "tcp", 4000, 502)
    assert verdict(dev, outside, "port3", "port4")[0] == "deny"


def test_exclusion_group(dev: Device) -> None:
    user = Packet.make("10.10.3.3", "10.30.0.5", "icmp", icmp_type=8)
    assert verdict(dev, user, "port1", "port2") == ("deny", "policy 7 (ent-block-admins)")
    admin = Packet.make("10.10.40.5", "10.30.0.5", "icmp", icmp_type=8)
    assert verdict(dev, admin, "port1", "port2") == ("permit", "policy 9 (admins-ping)")
    reply = Packet.make("10.10.40.5", "10.30.0.5", "icmp", icmp_type=0)
    assert verdict(dev, reply, "port1", "port2")[1] == "implicit deny (policy 0)"


def test_disabled_policy_kept_not_applied(dev: Device) -> None:
    old = next(r for r in dev.filters["policy"].rules if r.name.startswith("policy 3 "))
    assert not old.enabled
    p = Packet.make("10.30.0.5", "10.10.3.3", "udp", 1, 53)
    assert verdict(dev, p, "port2", "port1")[1] == "implicit deny (policy 0)"


def test_zones_intrazone_and_ipv6(dev: Device) -> None:
    assert dev.interfaces["port4"].zone == "ot"
    assert dev.interfaces["port3"].zone is None
    intra = Packet.make("10.50.1.10", "10.60.1.1", "tcp", 1, 3389)
    assert verdict(dev, intra, "port4", "port5") == ("permit", "zone ot intrazone allow")
    across = Packet.make("10.40.1.20", "10.60.1.1", "tcp", 1, 3389)
    assert verdict(dev, across, "port3", "port5")[1] == "implicit deny (policy 0)"
    v6 = Packet.make("2001:db8:10::1", "2001:db8:40::9", "tcp", 40000, 502)
    assert verdict(dev, v6, "port1", "port3")[1] == "policy 11 (v6-scada)"
    v4 = Packet.make("10.10.1.1", "10.40.1.9", "tcp", 40000, 502)
    assert verdict(dev, v4, "port1", "port3")[1] == "implicit deny (policy 0)"


def test_negation_wildcard_and_ip_protocol(dev: Device) -> None:
    odd = Packet.make("10.10.7.1", "10.10.0.9", "gre")
    assert verdict(dev, odd, "port2", "port1")[0] == "deny"
    even = Packet.make("10.10.7.2", "10.10.0.9", "gre")
    assert verdict(dev, even, "port2", "port1") == ("permit", "policy 14 (not-odd)")
    tcp = Packet.make("10.10.7.2", "10.10.0.9", "tcp", 1, 2)
    assert verdict(dev, tcp, "port2", "port1")[0] == "deny"


def test_vip_fqdn_cycle_are_diagnosed(dev: Device) -> None:
    codes = {d.code: d for d in dev.diagnostics}
    assert codes["fortigate.vip"].level is Level.UNSUPPORTED
    assert codes["fortigate.runtime-address"].level is Level.UNSUPPORTED
    assert codes["fortigate.group-cycle"].level is Level.ERROR
    assert not dev.complete
    assert [n.kind for n in dev.nat] == ["dnat"]
    fwd = Packet.make("198.51.100.7", "10.10.0.100", "tcp", 1, 3389)
    assert verdict(dev, fwd, "port1", "port3") == ("permit", "policy 12 (fwd-rdp)")
    for d in dev.diagnostics:
        assert d.span is not None
        assert d.span.line > 0


def test_problems_only_in_disabled_policies_are_warnings() -> None:
    text = CONF.replace('set name "broken"', 'set name "broken"\n        set status disable')
    d = fortigate.parse(text, "x.conf")
    codes = {x.code: x for x in d.diagnostics}
    assert codes["fortigate.runtime-address"].level is Level.WARNING
    assert codes["fortigate.group-cycle"].level is Level.WARNING
    assert codes["fortigate.vip"].level is Level.UNSUPPORTED


def test_allowaccess_and_local_in_policy(dev: Device) -> None:
    def local(p: Packet, ingress: str) -> tuple[str, str | None]:
        for f in dev.local_filters(dev.context(ingress)):
            action, rule = f.decide(p)
            if action is not Action.PERMIT:
                return "deny", rule.name if rule else None
        return "permit", None

    assert [f.name for f in dev.local_filters(dev.context("port1"))] == [
        "local-in", "policy-to-device"]
    admin_https = Packet.make("10.10.40.5", "10.10.0.2", "tcp", 40000, 8443)
    assert local(admin_https, "port1")[0] == "permit"
    # admin-sport moved https off 443
    assert local(Packet.make("10.10.40.5", "10.10.0.2", "tcp", 40000, 443), "port1")[0] \
        == "deny"
    user_https = Packet.make("10.10.3.3", "10.10.0.2", "tcp", 40000, 8443)
    verdict_, rule = local(user_https, "port1")
    assert verdict_ == "deny"
    assert rule is not None
    assert rule.startswith("local-in")
    # port2 has no allowaccess: its own address answers nothing
    assert local(Packet.make("10.30.0.9", "10.30.0.1", "tcp", 1, 8443), "port2")[0] == "deny"
    # port1's address from port2: allowaccess of port1 applies, but a firewall policy
    # port2 -> port1 is needed too (only gre is allowed that way)
    assert local(Packet.make("10.30.0.9", "10.10.0.2", "tcp", 1, 8443), "port2") == (
        "deny", "implicit deny (policy 0) (to port1)")


VDOMS = """config vdom
edit root
next
edit ot
next
end
config global
config system interface
    edit "port1"
        set vdom "root"
        set ip 10.1.0.1 255.255.255.0
    next
    edit "port2"
        set vdom "root"
        set ip 10.2.0.1 255.255.255.0
    next
    edit "port3"
        set vdom "ot"
        set ip 10.3.0.1 255.255.255.0
    next
    edit "port4"
        set vdom "ot"
        set ip 10.4.0.1 255.255.255.0
    next
end
end
config vdom
edit root
config firewall policy
    edit 1
        set srcintf "port1"
        set dstintf "port2"
        set srcaddr "all"
        set dstaddr "all"
        set action accept
        set service "ALL"
    next
end
next
edit ot
config firewall policy
    edit 1
        set srcintf "port3"
        set dstintf "port4"
        set srcaddr "all"
        set dstaddr "all"
        set service "ALL"
    next
end
next
end
"""


def test_vdoms_are_prefixed_filters_with_their_own_stages() -> None:
    d = fortigate.parse(VDOMS, "vdoms.conf")
    assert {"root/policy", "ot/policy", "root/local-in", "ot/local-in"} <= set(d.filters)
    p = Packet.make("10.1.0.5", "10.2.0.5", "tcp", 1, 80)
    fs = d.forward_filters(d.context("port1"), d.context("port2"))
    assert [f.name for f in fs] == ["root/policy"]
    assert fs[0].decide(p)[0] is Action.PERMIT
    fs = d.forward_filters(d.context("port3"), d.context("port4"))
    assert [f.name for f in fs] == ["ot/policy"]
    assert fs[0].decide(p)[0] is Action.DENY  # action defaults to deny


def test_cli_script_edits_rename_move_delete() -> None:
    text = """config firewall address
    edit "a"
        set subnet 10.0.0.0 255.0.0.0
    next
    rename "a" to "b"
end
config firewall policy
    edit 1
        set srcintf "any"
        set dstintf "any"
        set srcaddr "b"
        set dstaddr "all"
        set service "ALL"
    next
    edit 2
        set srcintf "any"
        set dstintf "any"
        set srcaddr "all"
        set dstaddr "all"
        set action accept
        set service "ALL"
    next
    edit 3
        set srcintf "any"
    next
    move 2 before 1
    delete 3
end
"""
    d = fortigate.parse(text, "edits.conf")
    names = [r.name for r in d.filters["policy"].rules if not r.synthetic]
    assert names == ["policy 2", "policy 1"]
    assert d.complete


def test_detection_does_not_claim_other_formats() -> None:
    assert fortigate.detect(CONF) == 100
    assert fortigate.detect(VDOMS) >= 75
    assert fortigate.detect("<config><devices/></config>") == 0
    assert fortigate.detect("set security policies from-zone a to-zone b\n") == 0
    assert top_vendor(CONF) == "fortigate"


def top_vendor(text: str) -> str:
    """The unique best-scoring available parser (registry.detect's rule, skipping parsers
    still under construction that lack ``detect``)."""
    scores = {v: registry.parser(v).detect(text) for v in registry.available_vendors()
              if hasattr(registry.parser(v), "detect")}
    best = max(scores.values())
    winners = [v for v, s in scores.items() if s == best]
    assert len(winners) == 1, scores
    return winners[0]


def test_foreign_files_are_refused() -> None:
    with pytest.raises(ConfigParseError):
        fortigate.parse("*filter\n:INPUT DROP [0:0]\nCOMMIT\n", "x.rules")


def test_no_policies_means_implicit_deny_only() -> None:
    d = fortigate.parse("config system global\n    set hostname x\nend\n", "e.conf")
    p = Packet.make("10.0.0.1", "10.0.0.2", "tcp", 1, 2)
    (f,) = d.forward_filters(d.context("a"), d.context("b"))
    assert f.decide(p)[1] is not None
    assert [r.name for r in f.rules][-1] == "implicit deny (policy 0)"


@pytest.mark.corpus
def test_corpus_parses_or_diagnoses(corpus: Path) -> None:
    files = sorted(p for p in (corpus / "firewalls" / "fortinet").rglob("*") if p.is_file())
    assert files
    parsed = 0
    for path in files:
        try:
            d = registry.load_device(path, "fortigate")
        except ConfigParseError as exc:  # e.g. the lab's Cisco routers and README
            refused = exc
            assert refused.span is not None
            assert refused.span.line > 0
            continue
        parsed += 1
        assert any(k.endswith("policy") for k in d.filters)
        for diag in d.diagnostics:
            assert diag.span is not None, (path, str(diag))
            assert diag.span.line > 0, (path, str(diag))
    assert parsed >= 15


JUNK = ("any", "", "-1", "999999", "a-b", "10.0.0.0/33", "::/200", '"', "[", "}", "end",
        "next", "edit", "set", "<not/>", "0-0", "65535-1", "300", "<", "&amp;")


def test_mutated_input_never_crashes() -> None:
    """Deleted, duplicated, swapped lines and junk words: a ConfigParseError or a device
    (with diagnostics), never a traceback."""
    import random

    from segcheck.errors import ConfigParseError as Bad

    rng = random.Random(8)
    for _ in range(300):
        lines = rng.choice((CONF, VDOMS,)).splitlines()
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
            fortigate.parse("\n".join(lines), "fuzz")


@given(st.text(alphabet='ab _"', max_size=30))
def test_fast_word_split_equals_the_general_one(line: str) -> None:
    from segcheck.parsers.fortigate.tree import shell_words, words

    assert words(line) == shell_words(line)


def test_query_cli_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from segcheck.cli import main

    cfg = tmp_path / "fw.conf"
    cfg.write_text(CONF)
    base = {"src": "10.40.1.21", "dst": "10.50.1.15", "proto": "tcp", "sport": 40000,
            "dport": 502, "in_iface": "port3", "out_iface": "port4"}
    packets = tmp_path / "p.jsonl"
    packets.write_text(json.dumps(base) + "\n" + json.dumps(dict(base, dport=80)) + "\n")
    assert main(["query", "--config", str(cfg), "--packets", str(packets)]) == 0
    first, second = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert first["verdict"] == "permit"
    assert first["rule"]["name"] == "policy 5 (scada-to-plc)"
    assert CONF.splitlines()[first["rule"]["line"] - 1].strip() == "edit 5"
    assert second["verdict"] == "deny"
    assert second["rule"]["name"] == "implicit deny (policy 0)"
