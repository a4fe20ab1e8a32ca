"""AXI4 and AXI4-Lite port signatures (master's view), named as AMBA names the signals so that
the exported Verilog ports (``<port>__awaddr`` ...) match cocotbext-axi's ``from_prefix``.

Only what this top drives is present: INCR bursts, one ID bit (always 0, so responses return in
order), no lock/cache/prot/qos (cocotbext-axi and Vivado's interconnect default them).
"""
from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

BURST_INCR = 1
RESP_OKAY = 0


def burst_length(m: Module, cap: int, wanted, to_page, name: str = "burst_len") -> Signal:
    """Beats of the next INCR burst: ``min(wanted, to_page, cap)`` (the beats still wanted, the
    beats left before the 4 KiB page ends, the burst cap), as a ``range(cap + 1)`` Signal."""
    beats = Signal(range(cap + 1), name=name)
    m.d.comb += beats.eq(cap)
    with m.If(wanted < cap):
        m.d.comb += beats.eq(wanted)
    with m.If((to_page < wanted) & (to_page < cap)):
        m.d.comb += beats.eq(to_page)
    return beats


def axi4(addr_bits: int, data_bits: int, read: bool = True, write: bool = True) -> wiring.Signature:
    """An AXI4 master port; ``read``/``write`` select the AR/R and AW/W/B channel groups."""
    members = {}
    if write:
        members.update({
            "awid": Out(1), "awaddr": Out(addr_bits), "awlen": Out(8), "awsize": Out(3),
            "awburst": Out(2), "awvalid": Out(1), "awready": In(1),
            "wdata": Out(data_bits), "wstrb": Out(data_bits // 8), "wlast": Out(1),
            "wvalid": Out(1), "wready": In(1),
            "bid": In(1), "bresp": In(2), "bvalid": In(1), "bready": Out(1)})
    if read:
        members.update({
            "arid": Out(1), "araddr": Out(addr_bits), "arlen": Out(8), "arsize": Out(3),
            "arburst": Out(2), "arvalid": Out(1), "arready": In(1),
            "rid": In(1), "rdata": In(data_bits), "rresp": In(2), "rlast": In(1),
            "rvalid": In(1), "rready": Out(1)})
    return wiring.Signature(members)


def axi4_lite(addr_bits: int) -> wiring.Signature:
    """An AXI4-Lite port with 32-bit data (master's view; the top uses it flipped, as slave)."""
    return wiring.Signature({
        "awaddr": Out(addr_bits), "awvalid": Out(1), "awready": In(1),
        "wdata": Out(32), "wstrb": Out(4), "wvalid": Out(1), "wready": In(1),
        "bresp": In(2), "bvalid": In(1), "bready": Out(1),
        "araddr": Out(addr_bits), "arvalid": Out(1), "arready": In(1),
        "rdata": In(32), "rresp": In(2), "rvalid": In(1), "rready": Out(1)})
