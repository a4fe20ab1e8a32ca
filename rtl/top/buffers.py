"""On-chip buffers (ACT, WGT, OUT, META, BIAS) with round-robin arbitration between clients.

Each buffer is one Amaranth ``Memory`` of 16-byte lines with one read port and one byte-enabled
write port (a simple dual-port BRAM/URAM). Clients never conflict on bytes (the program's tokens
order every hazard), so arbitration only shares ports: each cycle every buffer grants one read
and one write, round-robin over the clients that ask for it, except that write client 0 (the
LD engine) goes first: HBM data never waits for a buffer port, and LD's `free` is its own
buffer select, not a function of the other clients' requests. (With round-robin, LD's write
request went to the arbiter and its grant came back into LD's counters in one cycle, across
the die: the shell's worst path on ECP5, docs/results/resources.md.)
"""
from __future__ import annotations

from amaranth.hdl import Const, Module, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from .params import TopParams

BUF_BITS = 3


def read_port(p: TopParams) -> wiring.Signature:
    """A client's read port: request ``buf``/``addr`` with ``valid`` until ``ready``; the line
    arrives on ``rdata`` with ``rvalid`` the cycle after the grant (the client must take it)."""
    return wiring.Signature({"valid": Out(1), "buf": Out(BUF_BITS), "addr": Out(p.line_addr_bits),
                             "ready": In(1), "rvalid": In(1), "rdata": In(p.line_bits)})


def write_port(p: TopParams) -> wiring.Signature:
    """A client's write port: ``buf``/``addr``/``data``/``be`` (byte enables) held with ``valid``
    until ``ready``; the bytes are in the memory from the cycle after the grant. ``free`` is
    the grant the client would get this cycle if it asked (``ready == valid & free``): it does
    not depend on the client's own ``valid``, so a client whose ``valid`` comes late (the LD
    realigner's) can decide to emit without a path through the arbiter."""
    return wiring.Signature({"valid": Out(1), "buf": Out(BUF_BITS), "addr": Out(p.line_addr_bits),
                             "data": Out(p.line_bits), "be": Out(p.line_bits // 8),
                             "ready": In(1), "free": In(1)})


def round_robin(m: Module, requests: list, name: str,
                first_first: bool = False) -> tuple[list[Signal], list[Signal]]:
    """One-hot grants over ``requests``, priority rotating past the last winner, and for each
    client whether no client before it in this cycle's order asks (its grant if it asked).
    ``first_first``: client 0 goes before every other (its `free` is 1), the others rotate."""
    n = len(requests)
    grants = [Signal(name=f"{name}_grant{i}") for i in range(n)]
    frees = [Signal(name=f"{name}_free{i}") for i in range(n)]
    m.d.comb += [g.eq(r & f) for g, r, f in zip(grants, requests, frees)]
    rotating, blocked = list(range(n)), Const(0)
    if first_first and n > 1:
        rotating, blocked = rotating[1:], requests[0]
        m.d.comb += frees[0].eq(1)
    k = len(rotating)
    if k == 1:
        m.d.comb += frees[rotating[0]].eq(~blocked)
        return grants, frees
    last = Signal(range(k), name=f"{name}_last")
    with m.Switch(last):
        for prev in range(k):
            with m.Case(prev):
                taken = blocked
                for step in range(1, k + 1):
                    i = rotating[(prev + step) % k]
                    m.d.comb += frees[i].eq(~taken)
                    taken = taken | requests[i]
    for idx, i in enumerate(rotating):
        with m.If(grants[i]):
            m.d.sync += last.eq(idx)
    return grants, frees


class Buffers(wiring.Component):
    """The five on-chip buffers, depth ``params.buffer_lines[b]`` lines each.

    Ports: ``rd[i]`` (:func:`read_port`, flipped) for ``reads`` clients, ``wr[i]``
    (:func:`write_port`, flipped) for ``writes`` clients. Timing: read latency 1 cycle after the
    grant; a write lands at the clock edge that grants it. A request naming no buffer (buf >= 5)
    is never granted; units check their ranges before asking.
    """

    def __init__(self, params: TopParams, reads: int, writes: int):
        self.params = params
        super().__init__({"rd": In(read_port(params)).array(reads),
                          "wr": In(write_port(params)).array(writes)})

    @property
    def latency(self) -> int:
        return 1

    def elaborate(self, platform):
        m = Module()
        p = self.params
        served = [Signal(BUF_BITS, name=f"rd{i}_served") for i in range(len(self.rd))]
        rdata = {}
        for b in isa.Buf:
            mem = m.submodules[f"mem_{b.name.lower()}"] = memory.Memory(
                shape=p.line_bits, depth=p.buffer_lines[b], init=[])
            abits = max(p.buffer_lines[b] - 1, 1).bit_length()
            # the read port reads every cycle: a client takes the line only the cycle after
            # its grant, so nothing relies on the output holding, and an enable from the
            # arbiter would put the grant in front of every output bit's hold mux (ECP5)
            rp, wp = mem.read_port(), mem.write_port(granularity=8)
            m.d.comb += rp.en.eq(1)
            rdata[b] = rp.data
            grants, _ = round_robin(m, [c.valid & (c.buf == b) for c in self.rd], f"{b.name}_rd")
            for c, g in zip(self.rd, grants):
                with m.If(g):
                    m.d.comb += [rp.addr.eq(c.addr[:abits]), c.ready.eq(1)]
            wgrants, wfrees = round_robin(m, [c.valid & (c.buf == b) for c in self.wr],
                                          f"{b.name}_wr", first_first=True)
            for c, g, f in zip(self.wr, wgrants, wfrees):
                with m.If((c.buf == b) & f):
                    m.d.comb += c.free.eq(1)
                with m.If(g):
                    m.d.comb += [wp.addr.eq(c.addr[:abits]), wp.data.eq(c.data), wp.en.eq(c.be),
                                 c.ready.eq(1)]
        for c, srv in zip(self.rd, served):
            m.d.sync += [c.rvalid.eq(c.valid & c.ready), srv.eq(c.buf)]
            with m.Switch(srv):
                for b in isa.Buf:
                    with m.Case(b):
                        m.d.comb += c.rdata.eq(rdata[b])
        return m
