"""Reading pfSense/OPNsense filter rule elements into one shape (``PfRule``).

Two encodings exist: the legacy ``<filter><rule>`` (pfSense, OPNsense before its MVC
migration: ``<source><network>lan</network><not/><port>80</port></source>``, booleans by
presence) and OPNsense's MVC ``OPNsense/Firewall/Filter/rules/rule`` (flat
``source_net``/``source_not``/``source_port`` fields, booleans as 1/0, ``sequence`` order).
``pf_xml`` converts the common shape; nothing here interprets addresses or ports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segcheck.parsers.xmltree import XNode

ICMP4_TYPES = {
    "echorep": 0, "unreach": 3, "squench": 4, "redir": 5, "althost": 6, "echoreq": 8,
    "routeradv": 9, "routersol": 10, "timex": 11, "paramprob": 12, "timereq": 13,
    "timerep": 14, "inforeq": 15, "inforep": 16, "maskreq": 17, "maskrep": 18, "trace": 30,
    "dataconv": 31, "mobredir": 32, "ipv6-where": 33, "ipv6-here": 34, "mobregreq": 35,
    "mobregrep": 36, "skip": 39, "photuris": 40,
}
ICMP6_TYPES = {
    "unreach": 1, "toobig": 2, "timex": 3, "paramprob": 4, "echoreq": 128, "echorep": 129,
    "groupqry": 130, "listqry": 130, "grouprep": 131, "listenrep": 131, "groupterm": 132,
    "listendone": 132, "routersol": 133, "routeradv": 134, "neighbrsol": 135,
    "neighbradv": 136, "redir": 137, "routrrenum": 138, "fqdnreq": 139, "niqry": 139,
    "wrureq": 139, "fqdnrep": 140, "nirep": 140, "wrurep": 140, "mtraceresp": 200,
    "mtrace": 201,
}
QUALIFIERS = ("tagged", "sched", "os")


@dataclass
class Endpoint:
    """A rule's source or destination: any / network macro / address or alias, port."""

    any: bool = True
    network: str = ""
    address: str = ""
    negate: bool = False
    port: str = ""


@dataclass
class PfRule:
    node: XNode
    descr: str
    action: str
    quick: bool
    interfaces: tuple[str, ...]
    iface_not: bool
    floating: bool
    direction: str
    ipprotocol: str
    protocol: str
    icmptypes: tuple[str, ...]
    src: Endpoint
    dst: Endpoint
    disabled: bool
    qualifiers: list[str] = field(default_factory=list)
    kind: str = "iface"
    """``mvc`` (OPNsense), ``floating``, ``group`` or ``iface``: the pf order of categories."""


def flag(x: XNode | None) -> bool:
    """pfSense marks booleans by presence (``<disabled/>``); OPNsense MVC by 1/0."""
    return x is not None and x.text.lower() not in ("0", "no", "false")


def legacy_rule(x: XNode) -> PfRule:
    def endpoint(tag: str) -> Endpoint:
        e = x.find(tag)
        if e is None:
            return Endpoint()
        return Endpoint(
            any=e.has("any") or not (e.has("network") or e.has("address")),
            network=e.text_of("network"), address=e.text_of("address"),
            negate=e.has("not"), port=e.text_of("port"))

    floating = flag(x.find("floating"))
    icmp = x.text_of("icmptype") or x.text_of("icmp6-type")
    quals = [q for q in QUALIFIERS if x.text_of(q)]
    if x.text_of("tcpflags1") or x.text_of("tcpflags2"):
        quals.append("tcpflags")
    return PfRule(
        node=x, descr=x.text_of("descr"), action=x.text_of("type", default="pass") or "pass",
        quick=flag(x.find("quick")) if floating or x.has("quick") else True,
        interfaces=tuple(i for i in x.text_of("interface").split(",") if i),
        iface_not=False, floating=floating,
        direction=(x.text_of("direction") or "any") if floating else "in",
        ipprotocol=x.text_of("ipprotocol") or "inet", protocol=x.text_of("protocol"),
        icmptypes=tuple(t for t in icmp.split(",") if t and t != "any"),
        src=endpoint("source"), dst=endpoint("destination"),
        disabled=flag(x.find("disabled")),
        qualifiers=quals, kind="floating" if floating else "iface")


def mvc_rule(x: XNode) -> PfRule:
    def endpoint(prefix: str) -> Endpoint:
        net = x.text_of(f"{prefix}_net") or "any"
        is_addr = any(ch.isdigit() for ch in net[:1]) or ":" in net or "/" in net
        return Endpoint(any=net == "any", network="" if is_addr else net,
                        address=net if is_addr else "", negate=flag(x.find(f"{prefix}_not")),
                        port=x.text_of(f"{prefix}_port"))

    icmp = x.text_of("icmptype")
    if x.text_of("ipprotocol") == "inet6":
        icmp = x.text_of("icmp6type") or icmp
    return PfRule(
        node=x, descr=x.text_of("description"), action=x.text_of("action") or "pass",
        quick=x.text_of("quick") != "0", interfaces=tuple(
            i for i in x.text_of("interface").split(",") if i),
        iface_not=flag(x.find("interfacenot")), floating=True,
        direction=x.text_of("direction") or "in", ipprotocol=x.text_of("ipprotocol") or "inet",
        protocol=x.text_of("protocol"),
        icmptypes=tuple(t for t in icmp.split(",") if t and t != "any"),
        src=endpoint("source"), dst=endpoint("destination"),
        disabled=x.text_of("enabled", default="1") == "0",
        qualifiers=[q for q in ("tagged", "sched") if x.text_of(q)], kind="mvc")
