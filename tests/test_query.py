"""`segcheck query` end to end (DESIGN.md §4), and its batch decider against the reference
first-match (``Filter.decide``) on random filters over a tiny universe."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segcheck.cli import main
from segcheck.commands.query_batch import BatchDecider
from segcheck.model import ranges as R
from segcheck.model.packet import Packet
from segcheck.model.rules import Action, Filter, Match, Rule
from segcheck.model.source import SourceSpan

RULES = """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A FORWARD -m state --state ESTABLISHED -j ACCEPT
-A FORWARD -i lan0 -s 10.0.0.0/8 -p tcp --dport 502 -m comment --comment "modbus" -j ACCEPT
-A FORWARD -p icmp --icmp-type 8 -j ACCEPT
COMMIT
"""
PACKETS = [
    {"src": "10.1.2.3", "dst": "10.20.1.5", "proto": "tcp", "sport": 40000, "dport": 502,
     "in_iface": "lan0", "out_iface": "ot0"},
    {"src": "10.1.2.3", "dst": "10.20.1.5", "proto": "tcp", "sport": 40000, "dport": 502,
     "in_iface": "wan0", "out_iface": "ot0"},
    {"src": "10.1.2.3", "dst": "10.20.1.5", "proto": "udp", "sport": 1, "dport": 53,
     "state": "established"},
    {"src": "192.0.2.1", "dst": "10.20.1.5", "proto": 1, "icmp_type": 8, "icmp_code": 0},
]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    cfg = tmp_path / "fw.rules"
    cfg.write_text(RULES)
    pk = tmp_path / "p.jsonl"
    pk.write_text("".join(json.dumps(p) + "\n" for p in PACKETS))
    return cfg, pk


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[object], str]:
    code = main(["query", *args])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_answers_in_order_with_rule_lines(files: tuple[Path, Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    cfg, pk = files
    code, answers, _ = run(capsys, "--config", str(cfg), "--packets", str(pk))
    assert code == 0
    assert answers == [
        {"verdict": "permit", "filter": "FORWARD",
         "rule": {"file": str(cfg), "line": 7, "name": "modbus"}},
        {"verdict": "deny", "filter": "FORWARD", "rule": None},
        {"verdict": "permit", "filter": "FORWARD", "rule": {"file": str(cfg), "line": 6,
                                                             "name": ""}},
        {"verdict": "permit", "filter": "FORWARD", "rule": {"file": str(cfg), "line": 8,
                                                             "name": ""}},
    ]


def test_filter_option_and_stdin(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, _ = files
    monkeypatch.setattr("sys.stdin", io.StringIO(
        '{"src": "1.1.1.1", "dst": "10.0.0.1", "proto": "tcp", "sport": 1, "dport": 22}\n\n'
        '{"src": "1.1.1.1", "dst": "10.0.0.1", "proto": "tcp", "sport": 1, "dport": 23}\n'))
    code, answers, _ = run(capsys, "--config", str(cfg), "--vendor", "iptables",
                           "--filter", "INPUT", "--packets", "-")
    assert code == 0
    assert [a["verdict"] for a in answers] == ["permit", "deny"]  # type: ignore[index]


def test_local_stages(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
                      tmp_path: Path) -> None:
    cfg, _ = files
    pk = tmp_path / "l.jsonl"
    pk.write_text('{"src": "1.1.1.1", "dst": "10.0.0.1", "proto": "tcp", "dport": 22}\n')
    code, answers, _ = run(capsys, "--config", str(cfg), "--local", "--packets", str(pk))
    assert code == 0
    assert answers[0]["filter"] == "INPUT"  # type: ignore[index]


def test_nftables_filter_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "fw.nft"
    cfg.write_text("table inet filter {\n chain forward {\n"
                   "  type filter hook forward priority 0; policy drop;\n"
                   "  tcp dport 443 accept\n }\n}\n")
    pk = tmp_path / "p.jsonl"
    pk.write_text('{"src": "2001:db8::1", "dst": "2001:db8::2", "proto": "tcp", "sport": 1, '
                  '"dport": 443}\n')
    code, answers, _ = run(capsys, "--config", str(cfg), "--filter", "inet filter/forward",
                           "--packets", str(pk))
    assert code == 0
    assert answers == [{"verdict": "permit", "filter": "inet filter/forward",
                        "rule": {"file": str(cfg), "line": 4, "name": ""}}]


@pytest.mark.parametrize(("line", "message"), [
    ('{"src": "10.0.0.1", "dst": "10.0.0.2"}', "missing field 'proto'"),
    ('{"src": "10.0.0.1", "dst": "10.0.0.2", "proto": "udp", "icmp_type": 3}', "do not apply"),
    ('{"src": "10.0.0.1", "dst": "::1", "proto": "tcp"}', "different IP versions"),
    ('{"src": "10.0.0.999", "dst": "10.0.0.2", "proto": "tcp"}', "bad IP address"),
    ('{"src": "10.0.0.1", "dst": "10.0.0.2", "proto": "tcp", "dport": 70000}', "out of range"),
    ('{"src": "10.0.0.1", "dst": "10.0.0.2", "proto": "tcp", "colour": "red"}', "unknown field"),
    ('{"src": "10.0.0.1", "dst": "10.0.0.2", "proto": "tcp", "state": "weird"}', "state must"),
    ('not json', "not JSON"),
])
def test_bad_line_is_path_line_message_and_no_output(
        files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        line: str, message: str) -> None:
    cfg, _ = files
    pk = tmp_path / "bad.jsonl"
    pk.write_text(json.dumps(PACKETS[0]) + "\n\n" + line + "\n")
    code, answers, err = run(capsys, "--config", str(cfg), "--packets", str(pk))
    assert code == 2
    assert answers == []
    assert err.startswith(f"{pk}:3: ")
    assert message in err


def test_unknown_filter_is_usage_error(files: tuple[Path, Path],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    cfg, pk = files
    code, _, err = run(capsys, "--config", str(cfg), "--filter", "NOPE", "--packets", str(pk))
    assert code == 2
    assert "no filter 'NOPE'" in err


# -- the batch decider equals the reference first-match -------------------------------------

SPAN = SourceSpan("t", 1)


def _ranges(top: int) -> st.SearchStrategy[R.Ranges | None]:
    pair = st.tuples(st.integers(0, top), st.integers(0, top)).map(lambda t: (min(t), max(t)))
    return st.one_of(st.none(), st.lists(pair, min_size=1, max_size=3).map(R.normalize))


@st.composite
def boxes(draw: st.DrawFn) -> Match:
    fam = draw(st.sampled_from([None, 4, 6]))
    base = (1 << 127) if fam == 6 else 0
    def addr() -> R.Ranges | None:
        r = draw(_ranges(15))
        return None if r is None or fam is None else tuple((base + a, base + b) for a, b in r)
    proto = draw(st.sampled_from([None, 6, 17, 1, 58]))
    kw: dict[str, object] = {}
    if proto in (6, 17):
        kw = {"sports": draw(_ranges(7)), "dports": draw(_ranges(7))}
    elif proto is not None and fam is not None and proto == (1 if fam == 4 else 58):
        kw = {"icmp_types": draw(_ranges(3)), "icmp_codes": draw(_ranges(1))}
    states = draw(st.sampled_from([None, frozenset({"new"}), frozenset({"established"})]))
    return Match(family=fam, src=addr(), dst=addr(),
                 protocols=None if proto is None else R.single(proto), states=states,
                 **kw)  # type: ignore[arg-type]


@st.composite
def filters(draw: st.DrawFn) -> Filter:
    rules = tuple(
        Rule(draw(st.sampled_from(list(Action))), tuple(draw(st.lists(boxes(), max_size=2))),
             SPAN, excludes=tuple(draw(st.lists(boxes(), max_size=2))),
             enabled=draw(st.booleans()) or draw(st.booleans()))
        for _ in range(draw(st.integers(0, 8))))
    return Filter("f", rules, draw(st.sampled_from(list(Action))))


@st.composite
def packets(draw: st.DrawFn) -> Packet:
    v = draw(st.sampled_from([4, 6]))
    base = (1 << 127) if v == 6 else 0
    proto = draw(st.sampled_from([6, 17, 1, 58, 47]))
    ports = proto in (6, 17)
    icmp = proto == (1 if v == 4 else 58)
    return Packet(v, base + draw(st.integers(0, 15)), base + draw(st.integers(0, 15)), proto,
                  draw(st.integers(0, 7)) if ports else 0, draw(st.integers(0, 7)) if ports else 0,
                  draw(st.integers(0, 3)) if icmp else 0, draw(st.integers(0, 1)) if icmp else 0)


@given(filters(), st.lists(packets(), max_size=40), st.data())
def test_batch_decider_equals_reference(f: Filter, ps: list[Packet], data: st.DataObject) -> None:
    states = data.draw(st.lists(st.sampled_from(["new", "new", "established"]),
                                min_size=len(ps), max_size=len(ps)))
    got = BatchDecider(f).decide_many(ps, states)
    for p, s, (action, index) in zip(ps, states, got, strict=True):
        ref_action, ref_rule = f.decide(p, s)
        assert action is ref_action
        assert (None if index is None else f.rules[index]) is ref_rule


def test_batch_decider_ipv6_box_against_ipv4_packets() -> None:
    """Regression: a v6 destination window was computed for v4 columns (overflow)."""
    big = 1 << 127
    f = Filter("f", (Rule(Action.PERMIT, (Match(family=6, dst=R.single(big)),), SPAN),
                     Rule(Action.DENY, (Match(),), SPAN)))
    got = BatchDecider(f).decide_many([Packet(4, 1, 2, 6, 1, 2), Packet(6, 1, big, 17, 1, 2)])
    assert got == [(Action.DENY, 1), (Action.PERMIT, 0)]


def test_ipsets_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "fw.rules"
    cfg.write_text("*filter\n:FORWARD DROP [0:0]\n"
                   "-A FORWARD -m set --match-set ot dst -j ACCEPT\nCOMMIT\n")
    sets = tmp_path / "ipset.save"
    sets.write_text("create ot hash:net family inet hashsize 1024 maxelem 65536\n"
                    "add ot 10.40.0.0/16\n")
    pk = tmp_path / "p.jsonl"
    pk.write_text('{"src": "10.0.0.1", "dst": "10.40.1.1", "proto": "udp", "dport": 1}\n'
                  '{"src": "10.0.0.1", "dst": "10.41.1.1", "proto": "udp", "dport": 1}\n')
    code, answers, err = run(capsys, "--config", str(cfg), "--ipsets", str(sets),
                             "--packets", str(pk))
    assert code == 0
    assert "unsupported" not in err
    assert [a["verdict"] for a in answers] == ["permit", "deny"]  # type: ignore[index]
    code, answers, err = run(capsys, "--config", str(cfg), "--packets", str(pk))
    assert "no ipset definitions" in err  # without the sets: rule dropped, reported


def test_packets_file_not_utf8_is_bad_input_at_its_line(
        files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, _ = files
    pk = tmp_path / "blob.jsonl"
    pk.write_bytes(json.dumps(PACKETS[0]).encode() + b"\n\n" + bytes(range(256)) + b"\n")
    out = tmp_path / "answers.jsonl"
    code, answers, err = run(capsys, "--config", str(cfg), "--packets", str(pk), "-o", str(out))
    assert code == 2
    assert answers == []
    assert err.startswith(f"{pk}:4: not UTF-8")  # 0x0a comes before the first bad byte
    assert not out.exists()


PANOS = Path(__file__).resolve().parent.parent / "topologies" / "riverbend-vendors" / "fw-it.xml"
BASE = {"src": "10.10.0.5", "dst": "10.30.0.40", "proto": "tcp", "dport": 443}


@pytest.mark.parametrize(("extra", "message"), [
    ({"from_zone": "no-such-zone", "to_zone": "it-dmz"}, "unknown from_zone 'no-such-zone'"),
    ({"from_zone": "ent", "to_zone": "it-dmzz"}, "unknown to_zone 'it-dmzz'"),
    ({"in_iface": "ethernet1/9"}, "unknown in_iface 'ethernet1/9'"),
    ({"in_iface": "internet"}, "'internet' is a zone: use from_zone"),
    ({"in_iface": "ethernet1/1", "from_zone": "ent"}, "is in zone 'internet', not from_zone"),
])
def test_unknown_interface_or_zone_is_refused_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: dict[str, str],
        message: str) -> None:
    """A typo in a zone or interface would otherwise be answered by the default rule
    (PAN-OS interzone-default deny) as if it were a real verdict."""
    pk = tmp_path / "z.jsonl"
    good = dict(BASE, from_zone="ent", to_zone="it-dmz")
    pk.write_text(json.dumps(good) + "\n" + json.dumps(dict(BASE, **extra)) + "\n")
    code, answers, err = run(capsys, "--config", str(PANOS), "--packets", str(pk))
    assert code == 2, err
    assert answers == []
    assert err.startswith(f"{pk}:2: ")
    assert message in err


def test_known_interfaces_and_zones_are_answered(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    pk = tmp_path / "z.jsonl"
    lines = [dict(BASE, from_zone="ent", to_zone="it-dmz"),
             dict(BASE, in_iface="ethernet1/2", out_iface="ethernet1/3"),
             dict(BASE, in_iface="ethernet1/2", from_zone="ent", out_iface="ethernet1/3")]
    pk.write_text("".join(json.dumps(x) + "\n" for x in lines))
    code, answers, err = run(capsys, "--config", str(PANOS), "--packets", str(pk))
    assert code == 0, err
    assert len(answers) == 3
    assert answers[0] == answers[1] == answers[2]


def test_device_without_interfaces_or_zones_takes_any_name(
        files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """iptables declares no interfaces: names come from the packet ("wan7" is an interface
    the rules treat as other); it has no zones, so a zone cannot change a verdict."""
    cfg, _ = files
    pk = tmp_path / "p.jsonl"
    pk.write_text(json.dumps(dict(PACKETS[0], in_iface="wan7", from_zone="anything")) + "\n"
                  + json.dumps(dict(PACKETS[0], from_zone="anything")) + "\n")
    code, answers, err = run(capsys, "--config", str(cfg), "--packets", str(pk))
    assert code == 0, err
    assert [a["verdict"] for a in answers] == ["deny", "permit"]  # type: ignore[index]


def test_known_names_wildcards_and_rule_names() -> None:
    """Names a stage or rule tests count as known (ASA nameif), '+' wildcards cover their
    prefix, and a device with no zones accepts any zone."""
    from segcheck.commands.query import KnownNames
    from segcheck.model.device import Device, Interface, Stage
    from segcheck.model.rules import IfaceMatch

    f = Filter("f", (Rule(Action.PERMIT, (Match(in_iface=(IfaceMatch(("eth+",)),)),), SPAN),))
    d = Device("d", "x", "d.cfg", {"f": f}, forward=(Stage("f", IfaceMatch(("inside",))),),
               interfaces={"Gi0/1": Interface("Gi0/1")})
    known = KnownNames.of(d)
    for name in ("Gi0/1", "inside", "eth0", "eth"):
        known.check(name, "any-zone", "in_iface", "from_zone")
    with pytest.raises(ValueError, match="unknown in_iface 'et0'"):
        known.check("et0", None, "in_iface", "from_zone")



def _checked_packet(candidate: dict[str, object]) -> Packet | None:
    """What the checked constructor makes of a query object (None: it refuses it)."""
    from segcheck.model.packet import ICMP, ICMPV6, protocol_number

    v4 = ":" not in str(candidate["src"])
    if (":" in str(candidate["dst"])) == v4:
        return None
    proto = candidate["proto"]
    number = (proto if type(proto) is int else protocol_number(proto)
              if isinstance(proto, str) else None)
    if number == ICMP and not v4 and isinstance(proto, str) and proto.lower() == "icmp":
        number = ICMPV6
    fields = [candidate.get(k, 0) for k in ("sport", "dport", "icmp_type", "icmp_code")]
    if number is None or any(type(x) is not int for x in fields):
        return None
    try:
        return Packet.make(str(candidate["src"]), str(candidate["dst"]), number,
                           *fields)  # type: ignore[arg-type]
    except ValueError:
        return None


def test_reader_checks_what_the_packet_constructor_checks() -> None:
    """The reader builds packets with ``Packet.unchecked``: it must accept exactly what the
    checked constructor accepts (same fields) and refuse the rest with a ValueError.
    Exhaustive over boundary values of every field (ports with no ICMP fields, ICMP fields
    with no ports, so each check is reached); one reader serves each object after one with
    ``proto: 1`` so its protocol cache is exercised (``True`` and ``1.0`` must not hit the
    entry of ``1``)."""
    from itertools import product

    from segcheck.commands.query import QueryReader

    absent = object()
    values = (absent, 0, 1, 255, 256, 65535, 65536, -1, True, 1.0, "1")
    protos = ("tcp", 6, "udp", "icmp", 1, "icmpv6", 58, "gre", "x", True, 1.0, -1, 256)
    addresses = (("10.0.0.1", "10.0.0.2"), ("::1", "fe80::2"), ("10.0.0.1", "::2"))
    checked = accepted = 0
    for (src, dst), proto, keys in product(addresses, protos,
                                           (("sport", "dport"), ("icmp_type", "icmp_code"))):
        for a, b in product(values, values):
            obj: dict[str, object] = {"src": src, "dst": dst, "proto": proto}
            obj.update({k: v for k, v in zip(keys, (a, b), strict=True) if v is not absent})
            reader = QueryReader()
            for candidate in ({**obj, "proto": 1}, obj):
                try:
                    got: Packet | None = reader.query(candidate).packet
                except ValueError:
                    got = None
                want = _checked_packet(candidate)
                assert got == want, candidate
                if got is not None:
                    assert type(got) is Packet
                    assert hash(got) == hash(want)
                    accepted += 1
                checked += 1
    assert accepted > 100  # both outcomes are exercised
    assert checked > accepted * 2
