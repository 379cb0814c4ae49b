"""Packet captures: fast pcap/pcapng reading, bidirectional flows, ICS protocol recognition
and operation classes. The public entry point is ``extract_flows``; see README.md in this
package for the per-protocol support table and the benchmark figures."""

from segcheck.capture.flows import CaptureSummary, Flow, FlowsResult, extract_flows

__all__ = ["CaptureSummary", "Flow", "FlowsResult", "extract_flows"]
