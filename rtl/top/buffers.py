"""On-chip buffers (ACT, WGT, OUT, META, BIAS) with round-robin arbitration between clients.

Each buffer is one Amaranth ``Memory`` of 16-byte lines (WGT: of rows of ``wgt_lines`` lines, its
banks) with one read port and one byte-enabled write port (a simple dual-port BRAM/URAM). Clients
never conflict on bytes (the program's tokens order every hazard), so arbitration only shares
ports: each cycle every buffer grants one read and one write, round-robin over the clients that ask
for it, except that write client 0 (the LD engine) goes first: HBM data never waits for a buffer
port, and LD's `free` is its own buffer select, not a function of the other clients' requests.
(With round-robin, LD's write request went to the arbiter and its grant came back into LD's
counters in one cycle, across the die: the shell's worst path on ECP5, docs/results/resources.md.)
"""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from .params import TopParams

BUF_BITS = 3


def read_port(p: TopParams, wide: bool = False) -> wiring.Signature:
    """A client's read port: request ``buf``/``addr`` (a line) with ``valid`` until ``ready``;
    the line arrives on ``rdata`` with ``rvalid`` the cycle after the grant (the client must
    take it). ``wide``: a WGT reader whose ``rdata`` is the whole WGT row holding the line
    (``p.wgt_lines`` lines, the first at the row's lowest bits), and which sees every WGT row
    read, for any client: ``seen`` says that ``rdata`` holds row ``seen_row`` this cycle, so
    readers that want the same row share one read."""
    members = {"valid": Out(1), "buf": Out(BUF_BITS), "addr": Out(p.line_addr_bits),
               "ready": In(1), "rvalid": In(1),
               "rdata": In(p.wgt_row_bits if wide else p.line_bits)}
    if wide:
        members |= {"seen": In(1), "seen_row": In(p.line_addr_bits)}
    return wiring.Signature(members)


def is_wide(port) -> bool:
    """A client port made by ``read_port(p, wide=True)``."""
    return "seen" in port.signature.members


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

    WGT is ``params.wgt_lines`` banks of one line, line ``a`` in bank ``a mod wgt_lines``, so
    a WGT row of that many lines is one memory word. ``wide[i]`` (:func:`read_port` with
    ``wide``) are clients that take the whole row holding the line they name; they share WGT's
    one read port with the ``rd`` clients (one round robin over both) and are never granted
    another buffer; every wide client sees every WGT row read (``seen``, ``seen_row``, the
    cycle after the grant). An ``rd`` client gets its own line of the row (a ``wgt_lines``:1
    mux after the memory).
    """

    def __init__(self, params: TopParams, reads: int, writes: int, wide: int = 0):
        self.params = params
        super().__init__({"rd": In(read_port(params)).array(reads),
                          "wr": In(write_port(params)).array(writes),
                          "wide": In(read_port(params, wide=True)).array(wide)})

    @property
    def latency(self) -> int:
        return 1

    def elaborate(self, platform):
        m = Module()
        p = self.params
        W = p.wgt_lines
        sel_bits = (W - 1).bit_length()
        clients = [*self.rd, *self.wide]
        served = [Signal(BUF_BITS, name=f"rd{i}_served") for i in range(len(self.rd))]
        bank = [Signal(max(sel_bits, 1), name=f"rd{i}_bank") for i in range(len(self.rd))]
        rdata = {}
        seen, seen_row = Signal(), Signal(p.line_addr_bits)
        for b in isa.Buf:
            lines = W if b == isa.Buf.WGT else 1
            sel = sel_bits if b == isa.Buf.WGT else 0
            mem = m.submodules[f"mem_{b.name.lower()}"] = memory.Memory(
                shape=p.line_bits * lines, depth=p.buffer_lines[b] // lines, init=[])
            abits = max(p.buffer_lines[b] - 1, 1).bit_length()
            # the read port reads every cycle: a client takes the line only the cycle after
            # its grant, so nothing relies on the output holding, and an enable from the
            # arbiter would put the grant in front of every output bit's hold mux (ECP5)
            rp, wp = mem.read_port(), mem.write_port(granularity=8)
            m.d.comb += rp.en.eq(1)
            rdata[b] = rp.data
            askers = self.rd if b != isa.Buf.WGT else clients
            grants, _ = round_robin(m, [c.valid & (c.buf == b) for c in askers], f"{b.name}_rd")
            for c, g in zip(askers, grants):
                with m.If(g):
                    m.d.comb += [rp.addr.eq(c.addr[sel:abits]), c.ready.eq(1)]
            if b == isa.Buf.WGT:
                m.d.sync += [seen.eq(Cat(*grants).any()), seen_row.eq(rp.addr)]
            wgrants, wfrees = round_robin(m, [c.valid & (c.buf == b) for c in self.wr],
                                          f"{b.name}_wr", first_first=True)
            for c, g, f in zip(self.wr, wgrants, wfrees):
                with m.If((c.buf == b) & f):
                    m.d.comb += c.free.eq(1)
                with m.If(g):
                    m.d.comb += [wp.addr.eq(c.addr[sel:abits]), wp.data.eq(Cat(*[c.data] * lines)),
                                 wp.en.eq(Cat(*[Mux(c.addr[:sel] == i, c.be, 0) if sel else c.be
                                                for i in range(lines)])),
                                 c.ready.eq(1)]
        for c in self.wide:
            m.d.sync += c.rvalid.eq(c.valid & c.ready)
            m.d.comb += [c.rdata.eq(rdata[isa.Buf.WGT]), c.seen.eq(seen), c.seen_row.eq(seen_row)]
        for c, srv, bk in zip(self.rd, served, bank):
            m.d.sync += [c.rvalid.eq(c.valid & c.ready), srv.eq(c.buf)]
            m.d.sync += bk.eq(c.addr[:sel_bits] if sel_bits else 0)
            with m.Switch(srv):
                for b in isa.Buf:
                    with m.Case(b):
                        if b == isa.Buf.WGT and W > 1:
                            m.d.comb += c.rdata.eq(rdata[b].word_select(bk, p.line_bits))
                        else:
                            m.d.comb += c.rdata.eq(rdata[b])
        return m
