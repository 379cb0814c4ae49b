"""Independent check of a finding's witness: the reference first-match evaluation
(``Filter.decide`` along device paths, via ``analysis.explain``) and ``Policy.resolve``."""

from __future__ import annotations

from pathlib import Path

import pytest

from segcheck.analysis.explain import explain
from segcheck.analysis.result import Finding


def same_file(a: str, b: str) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def check_witness(analysis: object, f: Finding) -> None:
    """The witness really is let through (reference evaluation) between the right zones."""
    from segcheck.analysis.check import Analysis

    assert isinstance(analysis, Analysis)
    w = f.witness
    assert w is not None
    site = analysis.site
    src = site.policy.resolve(w.src_ip)
    if f.code in ("SC-SHADOWED", "SC-REDUNDANT"):
        ev = f.evidence[0]
        dev = site.devices[ev.device]
        for flt in dev.filters.values():
            for rule in flt.rules:
                if rule.span.line == ev.span.line and same_file(rule.span.path, ev.span.path):
                    assert rule.contains(w)
                    for td in site.topology.devices:
                        for i in td.interfaces:
                            for e in td.interfaces:
                                ci, ce = dev.context(i), dev.context(e)
                                if any(m.iface_ok(ci, ce) for m in rule.matches):
                                    _, decider = flt.decide(w, "new", ci, ce)
                                    assert decider is not None
                                    assert decider.span != rule.span
                    return
        pytest.fail("shadowed rule not found")
    if f.code == "SC-IPV6-GAP" and w.version == 6:
        dev = (site.devices[f.evidence[0].device] if f.evidence
               else next(iter(site.devices.values())))
        td = next(t for t in site.topology.devices if t.id == dev.name)
        ok = False
        for i, zi in td.interfaces.items():
            for e in td.interfaces:
                if e == i or zi != f.src_zone:
                    continue
                flts = dev.forward_filters(dev.context(i), dev.context(e))
                if all(fl.decide(w, "new")[0].value == "permit" for fl in flts):
                    ok = True
        assert ok, f"no crossing from {f.src_zone} forwards {w}"
        return
    assert src is not None
    assert src[0] == f.src_zone, (w, src, f.src_zone)
    ex = explain(site, w)
    if f.code == "SC-PIVOT-PATH" and ex.dst_zone == f.src_zone:
        return  # a same-LAN first hop to a bridging host crosses no firewall
    assert ex.verdict == "permit", (w, ex)
    if f.dst_zone and f.dst_zone.startswith("device:"):
        assert ex.dst_device == f.dst_zone.split(":", 1)[1]
    elif f.code not in ("SC-DMZ-TRANSIT", "SC-PIVOT-PATH"):
        dst = site.policy.resolve(w.dst_ip)
        assert dst is not None
        assert dst[0] == f.dst_zone, (w, dst, f.dst_zone)


