"""Random ASA ``icmp``/``ipv6 icmp`` rule lists against a direct reading of the rules.

Oracle (the documented behaviour, sources in ``_asa_mgmt``): ICMP to the box is answered
only on the interface it arrives by, for that interface's own address; the ``icmp`` (IPv4)
and ``ipv6 icmp`` (IPv6) entries naming that interface are read first-match, an entry
without a type matching every type; after the last entry of the interface's list comes an
implicit deny; an interface with no entry of the family accepts all of its ICMP.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from segcheck.model.packet import Packet
from segcheck.model.rules import Action, IfaceContext
from segcheck.parsers import cisco_asa

IFACES = {"outside": ("GigabitEthernet0/0", 0), "inside": ("GigabitEthernet0/1", 100)}
"""nameif -> (physical, security level)."""
ADDRESS = {("outside", 4): 0xC6336401, ("inside", 4): 0x0A010001,  # .1 of their /24
           ("outside", 6): 0x20010DB8 << 96 | 1, ("inside", 6): 0x20010DB8 << 96 | 0x10001}
SOURCES = {"any": None, "host 192.0.2.7": 0xC0000207, "192.0.2.0 255.255.255.0": 0xC0000200}
SOURCES6 = {"any": None, "host 2001:db8:9::7": 0x20010DB8_00090000 << 64 | 7}
TYPES4 = {"": None, " echo": 8, " echo-reply": 0, " unreachable": 3}
TYPES6 = {"": None, " echo": 128, " echo-reply": 129}

Entry = tuple[int, bool, str, str, str]  # (family, permit, source, type word, nameif)


def entry() -> st.SearchStrategy[Entry]:
    v4 = st.tuples(st.just(4), st.booleans(), st.sampled_from(list(SOURCES)),
                   st.sampled_from(list(TYPES4)), st.sampled_from(list(IFACES)))
    v6 = st.tuples(st.just(6), st.booleans(), st.sampled_from(list(SOURCES6)),
                   st.sampled_from(list(TYPES6)), st.sampled_from(list(IFACES)))
    return st.one_of(v4, v6)


def config(entries: list[Entry]) -> str:
    out = ["ASA Version 9.16(4)"]
    for nameif, (phys, level) in IFACES.items():
        a6 = "2001:db8::1/64" if nameif == "outside" else "2001:db8::1:1/64"
        ip4 = "198.51.100.1" if nameif == "outside" else "10.1.0.1"
        out += [f"interface {phys}", f" nameif {nameif}", f" security-level {level}",
                f" ip address {ip4} 255.255.255.0", f" ipv6 address {a6}"]
    for fam, permit, src, word, nameif in entries:
        out.append(f"{'ipv6 ' if fam == 6 else ''}icmp {'permit' if permit else 'deny'} "
                   f"{src}{word} {nameif}")
    return "\n".join(out) + "\n"


def matches_src(src: str, fam: int, addr: int) -> bool:
    if src == "any":
        return True
    if fam == 6:
        return SOURCES6[src] == addr
    base = SOURCES[src]
    assert base is not None
    return (addr >> 8 == base >> 8) if src.endswith("255.255.255.0") else addr == base


def oracle(entries: list[Entry], ingress: str, fam: int, src: int, dst: int,
           itype: int) -> bool:
    own = ADDRESS[ingress, fam]
    if dst != own:
        return False  # the far side of the box is not answered
    mine = [e for e in entries if e[0] == fam and e[4] == ingress]
    if not mine:
        return True
    table = TYPES4 if fam == 4 else TYPES6
    for _f, permit, s, word, _n in mine:
        if matches_src(s, fam, src) and table[word] in (None, itype):
            return permit
    return False


@settings(max_examples=200)
@example(entries=[(4, False, "any", " echo", "outside"), (4, True, "any", "", "outside")],
         ingress="outside", fam=4, from_list=True, far=False, itype=8)
@example(entries=[(4, True, "host 192.0.2.7", "", "outside")], ingress="outside", fam=4,
         from_list=False, far=False, itype=3)
@example(entries=[(6, True, "any", " echo", "inside")], ingress="inside", fam=4,
         from_list=False, far=False, itype=8)
@given(entries=st.lists(entry(), max_size=5), ingress=st.sampled_from(list(IFACES)),
       fam=st.sampled_from([4, 6]), from_list=st.booleans(), far=st.booleans(),
       itype=st.sampled_from([0, 3, 8, 11, 128, 129, 135]))
def test_icmp_to_the_box_agrees_with_the_rules(entries: list[Entry], ingress: str, fam: int,
                                               from_list: bool, far: bool, itype: int) -> None:
    if (fam == 4) != (itype < 128):
        itype = 8 if fam == 4 else 128
    src = (0xC0000207 if from_list else 0xCB007105) if fam == 4 else (
        SOURCES6["host 2001:db8:9::7"] or 0 if from_list else 0x20010DB8 << 96 | 0x555)
    other = next(n for n in IFACES if n != ingress)
    dst = ADDRESS[other if far else ingress, fam]
    p = Packet(fam, src, dst, 1 if fam == 4 else 58, 0, 0, itype, 0)
    dev = cisco_asa.parse(config(entries), "fw.cfg")
    ci, none = dev.context(ingress), IfaceContext()
    got = all(dev.filters[s.filter].decide(p, "new", ci, none)[0] is Action.PERMIT
              for s in dev.local if s.applies(ci, none))
    assert got == oracle(entries, ingress, fam, src, dst, itype)
