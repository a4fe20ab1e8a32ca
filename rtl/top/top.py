"""The accelerator top: fetch -> six issue queues (tokens) -> units, buffers, control.

Engines plug in per queue: ``Accelerator(params, units={Queue.MV: factory, ...})`` where a
factory takes the params and returns a component with a ``unit`` port (:mod:`.unit`) and,
optionally, ``rd``/``wr`` buffer ports (lists of :func:`.buffers.read_port` /
:func:`.buffers.write_port` clients) and ``pos0``/``ntok`` inputs (the launch arguments), or an
:class:`.engines.EngineSet` of such engines. A queue without a factory gets :class:`Unsupported`.
"""
from __future__ import annotations

import functools
import operator
from typing import Callable

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from . import regs
from .axi import axi4, axi4_lite
from .buffers import Buffers, is_wide
from .control import Control
from .dma_load import LoadEngine
from .dma_store import StoreEngine
from .faults import Fault
from .fetch import Fetch
from .issue import IssueQueue, Tokens
from .params import TopParams
from .sys_unit import SysUnit, Unsupported
from .unit import ARGS

LANES = isa.LINE_BYTES
COMPUTE = (isa.Queue.MM, isa.Queue.MV, isa.Queue.MISC)


class Accelerator(wiring.Component):
    """Runs one compiled step per start (docs/rtl/top.md).

    Ports: ``ctrl`` In(AXI4-Lite, registers of :mod:`.regs`); ``imem`` Out(AXI4 read, 32-bit):
    the program; ``hbm<c>`` Out(AXI4, 128-bit) per HBM channel (LD reads, ST writes); ``irq``
    Out(1): high from the end of a step (done or fault) until the next start.
    Timing: see docs/rtl/top.md; ``CYCLES`` counts from the start to the end of the step."""

    def __init__(self, params: TopParams, units: dict[isa.Queue, Callable] | None = None):
        self.params = params
        self.unit_factories = dict(units or {})
        members = {"ctrl": In(axi4_lite(regs.ADDR_BITS)),
                   "imem": Out(axi4(params.imem_addr_bits, 32, write=False)), "irq": Out(1)}
        for c in range(params.channels):
            members[f"hbm{c}"] = Out(axi4(params.hbm_addr_bits, 8 * LANES))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        ctl = m.submodules.control = Control(p.channels, p.index_bits)
        fetch = m.submodules.fetch = Fetch(p)
        tokens = m.submodules.tokens = Tokens(p)
        ld = m.submodules.load = LoadEngine(p)
        st = m.submodules.store = StoreEngine(p)
        sysu = m.submodules.sys = SysUnit(p)
        units = {isa.Queue.LD: ld, isa.Queue.ST: st, isa.Queue.SYS: sysu}
        for q in COMPUTE:
            make = self.unit_factories.get(q)
            units[q] = m.submodules[f"unit_{q.name.lower()}"] = (
                make(p) if make else Unsupported(q, p))
        reads = [ld.ids, st.rd] + [r for q in COMPUTE for r in getattr(units[q], "rd", [])]
        writes = [ld.wr] + [w for q in COMPUTE for w in getattr(units[q], "wr", [])]
        wide = [r for r in reads if is_wide(r)]                       # WGT row readers
        reads = [r for r in reads if not is_wide(r)]
        bufs = m.submodules.buffers = Buffers(p, len(reads), len(writes), len(wide))
        for i, port in enumerate(reads):
            wiring.connect(m, port, bufs.rd[i])
        for i, port in enumerate(wide):
            wiring.connect(m, port, bufs.wide[i])
        for i, port in enumerate(writes):
            wiring.connect(m, port, bufs.wr[i])
        wiring.connect(m, wiring.flipped(self.ctrl), ctl.bus)
        wiring.connect(m, fetch.axi, wiring.flipped(self.imem))
        self._route_hbm(m, ld, st)

        running, halted, finished, raised = Signal(), Signal(), Signal(), Signal()
        start = ctl.start
        code, queue, index = Signal(8), Signal(3), Signal(p.index_bits)
        args = Signal(ARGS)
        queues = {}
        for q in isa.Queue:
            iq = queues[q] = m.submodules[f"queue_{q.name.lower()}"] = IssueQueue(q, p)
            wiring.connect(m, getattr(fetch.queues, q.name),
                           iq.dispatch)
            wiring.connect(m, iq.unit, units[q].unit)
            # a fault is raised only while not halted, so `halted` alone gates the flush (the
            # comb `raised` would put the whole fault cone in front of every FIFO's read port)
            m.d.comb += [iq.halt.eq(halted | ~running), iq.flush.eq(halted),
                         iq.tokens_ok.eq(tokens.ok[q]),
                         tokens.take[q].eq(iq.issue), tokens.wait[q].eq(iq.head_wait),
                         tokens.give[q].eq(units[q].unit.done),
                         tokens.release[q].eq(iq.release)]
        m.d.comb += [fetch.start.eq(start), fetch.halt.eq(halted), fetch.addr.eq(ctl.prog_addr),
                     fetch.words.eq(ctl.prog_words), tokens.clear.eq(start),
                     sysu.clear.eq(start), ctl.layer.eq(sysu.layer)]
        for c in range(p.channels):
            m.d.comb += [ld.limits[c].eq(ctl.limits[c]), st.limits[c].eq(ctl.limits[c])]
        for unit in units.values():
            if hasattr(unit, "skip"):
                m.d.comb += unit.skip.eq(ctl.skip_missing)
        for unit in units.values():            # launch arguments to every unit that takes them
            for engine in getattr(unit, "engines", [unit]):
                for name in ("pos0", "ntok"):
                    if hasattr(engine, name):
                        m.d.comb += getattr(engine, name).eq(getattr(ctl, name))

        deadlock = self._deadlock(m, queues, fetch, start)
        # First fault wins: latch it and halt. Every report reaches the capture from a register
        # (the units' and fetch's a cycle after their pulse, like the token overflow), so no
        # engine's fault logic is in front of the error registers and the order of reports that
        # coincide is kept.
        sources = [_registered(m, (units[q].unit.fault, units[q].unit.code, units[q].unit.args,
                                   units[q].unit.index), f"fault_{q.name.lower()}") + (q,)
                   for q in reversed(list(isa.Queue))]
        f_fault, f_code, f_args, f_index = _registered(
            m, (fetch.fault, fetch.code, fetch.args, fetch.index), "fault_fetch")
        with m.If(start):
            m.d.sync += [code.eq(0), halted.eq(0)]
        with m.Elif(running & ~halted):
            for valid, c, a, i, q in sources:
                with m.If(valid):
                    m.d.comb += raised.eq(1)
                    m.d.sync += [code.eq(c), args.eq(a), index.eq(i), queue.eq(q)]
            with m.If(tokens.overflow):
                m.d.comb += raised.eq(1)
                m.d.sync += [code.eq(Fault.TOKEN_OVERFLOW), args.a0.eq(tokens.pair_p),
                             args.a1.eq(tokens.pair_q), queue.eq(tokens.pair_p),
                             index.eq(units_index(units, tokens.pair_p, m))]
            with m.If(f_fault):
                m.d.comb += raised.eq(1)
                m.d.sync += [code.eq(f_code), args.eq(f_args), index.eq(f_index), queue.eq(0)]
            with m.If(deadlock):
                m.d.comb += raised.eq(1)
                m.d.sync += code.eq(Fault.DEADLOCK)
            with m.If(raised):
                m.d.sync += halted.eq(1)

        # end of step: every word dispatched and every queue empty and idle
        quiet = fetch.idle
        no_heads = 1
        for iq in queues.values():
            quiet = quiet & ~iq.active & ~iq.unit.start
            no_heads = no_heads & ~iq.queued
        empty = fetch.finished & no_heads
        with m.If(start):
            m.d.sync += [running.eq(1), finished.eq(0)]
        with m.Elif(running & halted & quiet & no_heads):
            m.d.sync += [running.eq(0), finished.eq(1)]
        with m.Elif(running & ~halted & quiet & empty & ~raised):
            m.d.sync += [running.eq(0), finished.eq(1)]
            with m.If(tokens.left):
                m.d.sync += [code.eq(Fault.TOKENS_LEFT), args.a0.eq(tokens.left_p),
                             args.a1.eq(tokens.left_q), queue.eq(isa.Queue.SYS)]
        self._counters(m, ctl, queues, running, start, raised)
        m.d.comb += [ctl.busy.eq(running), ctl.done.eq(finished), ctl.code.eq(code),
                     ctl.queue.eq(queue), ctl.index.eq(index), ctl.args.eq(args),
                     self.irq.eq(finished)]
        with m.If(start):
            m.d.sync += ctl.blocked.eq(0)
        with m.Elif(raised):
            m.d.sync += [ctl.blocked.eq(fetch.blocked), ctl.blocked_queue.eq(fetch.blocked_queue),
                         ctl.blocked_index.eq(fetch.blocked_index)]
        return m

    def _route_hbm(self, m: Module, ld, st) -> None:
        """LD drives the read channels, ST the write channels, of the port of their channel.
        The channel selects are one-hot registers (an engine's first AXI handshake comes
        cycles after its instruction is latched), and the engine's inputs are an AND-OR over
        the ports, not a priority chain of ``channel == c`` muxes: that chain sat in front of
        the aligner's input handshake, the shell's worst path on ECP5
        (docs/results/resources.md)."""
        ports = [getattr(self, f"hbm{c}") for c in range(self.params.channels)]
        for port in ports:
            m.d.comb += [port.arid.eq(0), port.awid.eq(0)]
        for engine, skip in ((ld, "arid"), (st, "awid")):
            sel = Signal(len(ports), name=f"{skip[:2]}_channel_sel")
            m.d.sync += [sel[c].eq(engine.channel == c) for c in range(len(ports))]
            for name, member in engine.axi.signature.members.items():
                if name == skip:
                    continue
                ours = getattr(engine.axi, name)
                theirs = [getattr(port, name) for port in ports]
                if member.flow == wiring.Out:          # engine drives the port
                    m.d.comb += [t.eq(Mux(sel[c], ours, 0)) for c, t in enumerate(theirs)]
                else:
                    m.d.comb += ours.eq(functools.reduce(
                        operator.or_, [Mux(sel[c], t, 0) for c, t in enumerate(theirs)]))

    @staticmethod
    def _deadlock(m: Module, queues, fetch, start) -> Signal:
        """Nothing can move: every unit idle, fetch done or blocked on a full queue, and every
        non-empty queue's head waits for a token. Two quiet cycles in a row confirm it; both
        are registered before the fault capture, which therefore sees a deadlock a cycle after
        its second quiet cycle (nothing moves in between, so the heads it records are the
        same) and stays off the token counters' path. The registers follow every cycle, also
        while halted, so that a deadlock does not outlive its step."""
        stuck = (fetch.finished | fetch.blocked) & ~fetch.fault
        some = 0
        for iq in queues.values():
            stuck = stuck & ~iq.active & ~iq.unit.start & ~iq.issue & (iq.queued == iq.head_valid)
            some = some | iq.head_valid
        stuck = stuck & some
        now, seen = Signal(), Signal()
        m.d.sync += [now.eq(stuck & ~start), seen.eq(now & ~start)]
        return now & seen

    def _counters(self, m: Module, ctl, queues, running, start, raised) -> None:
        cycles = Signal(64)
        with m.If(start):
            m.d.sync += cycles.eq(0)
        with m.Elif(running):
            m.d.sync += cycles.eq(cycles + 1)
        m.d.comb += ctl.cycles.eq(cycles)
        for q, iq in queues.items():
            stall, active = Signal(32, name=f"stall_{q.name}"), Signal(32, name=f"active_{q.name}")
            with m.If(start):
                m.d.sync += [stall.eq(0), active.eq(0)]
            with m.Elif(running):
                m.d.sync += [stall.eq(stall + iq.stalled), active.eq(active + iq.active)]
            m.d.comb += [ctl.stall[q].eq(stall), ctl.active[q].eq(active)]
            # the heads when the fault was raised (the queues are flushed afterwards)
            with m.If(start):
                m.d.sync += ctl.head_valid[q].eq(0)
            with m.Elif(raised):
                m.d.sync += [ctl.head_valid[q].eq(iq.head_valid),
                             ctl.head_index[q].eq(iq.head_index)]


def _registered(m: Module, values: tuple, name: str) -> tuple:
    """Copies of ``values`` one cycle late."""
    out = tuple(Signal.like(v, name=f"{name}_{k}") for k, v in enumerate(values))
    m.d.sync += [o.eq(v) for o, v in zip(out, values)]
    return out


def units_index(units, queue_sig, m: Module) -> Signal:
    """Program index of the instruction in the unit of queue ``queue_sig``."""
    out = Signal(len(units[isa.Queue.LD].unit.index))
    with m.Switch(queue_sig):
        for q, u in units.items():
            with m.Case(q):
                m.d.comb += out.eq(u.unit.index)
    return out
