"""MM/MV on the CSD MPU: engine DENSE or SPARSE with an INT8 A (FlightLLM's INT linear layers).

``O[t, j] = h((f(acc[t, j]) ⊗ w_scale[j]) ⊗ s_x[t])`` with ``acc`` the exact INT32 dot product of
A's INT8 row t (ACT) and the tile's row j (a packed dense int_sym or N:M INT4/INT8 tile in WGT),
``w_scale`` the tile's per-row scale and ``s_x`` the float32 row scales at ``s_addr`` in BIAS
(docs/numerics.md "INT linear (CSD)"; sim.isa's ``_int_linear``). The tile is parsed on chip
(:mod:`.csd_feeder`), its passes run through :class:`..csd.mpu.Mpu`, and the sums go through
:class:`.csd_requant.RequantWriter`.
"""
from __future__ import annotations

from amaranth.hdl import Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from ...compiler import isa
from ..csd.geometry import ChainGeometry
from .csd_feeder import TileFeeder
from .csd_requant import RequantWriter
from .faults import Fault
from .params import TopParams
from .unit import fields, pulse_fault, unit_signature

INT8_BYTES, FP32_BYTES, FP16_BYTES = 1, 4, 2


def executes(f):
    """Whether the engine runs an MM/MV with fields ``f`` (a decoded ``data.View`` in the RTL, an
    ``isa.Instr`` on the host): engine DENSE or SPARSE, INT8 A, an INT4/INT8 tile, fp16 result,
    no accumulation, not an attention product (``skip_pad``)."""
    get = (lambda name: f[name]) if isinstance(f, isa.Instr) else (lambda name: getattr(f, name))
    engine, b_dt = get("engine"), get("b_dt")
    return (((engine == isa.Engine.DENSE) | (engine == isa.Engine.SPARSE))
            & (get("a_dt") == isa.DType.INT8) & (get("skip_pad") == 0)
            & ((b_dt == isa.DType.INT4) | (b_dt == isa.DType.INT8))
            & (get("o_dt") == isa.DType.FP16) & (get("acc") == 0))


class CsdEngine(wiring.Component):
    """Ports: ``unit`` (MM or MV); ``rd`` = [the feeder's read client] (ACT, WGT, BIAS), ``wr`` =
    [the writer's client] (OUT). Checks in sim.isa's order: A in ACT (``m*k`` bytes), the tile
    in WGT (``b_lines``), the ``m`` float32 scales in BIAS, the fp16 result in OUT (``m*n*2``)
    -> BUFFER_RANGE; a tile header this engine does not run -> UNSUPPORTED. Timing:
    :mod:`..csd.timing` (``done`` after the last OUT write)."""

    def __init__(self, params: TopParams, geo: ChainGeometry, vpus: int, kind: str = "MM"):
        self.params, self.kind = params, kind
        self.feeder = TileFeeder(params, geo, vpus)
        self.writer = RequantWriter(params)
        super().__init__({"unit": In(unit_signature(isa.TYPES[kind], params))})
        self.rd = [self.feeder.rd]
        self.wr = [self.writer.wr]

    @classmethod
    def factory(cls, cfg):
        """``(params, queue) -> engine``: one MPU of ``csd.vpus_per_mpu`` VPUs, which the top
        shares between the MM and the MV queue (:mod:`.shared`; FlightLLM's MV is a mode of the
        same chains); None when the config has no CSD engine."""
        if cfg.csd is None:
            return None
        geo = ChainGeometry.from_config(cfg)
        return lambda p, queue: cls(p, geo, cfg.csd.vpus_per_mpu, isa.BY_QUEUE[queue].name)

    @staticmethod
    def accepts(view):
        return executes(view)

    def elaborate(self, platform):
        m = Module()
        p, mm = self.params, fields(self.unit, self.kind)
        feed = m.submodules.feeder = self.feeder
        writer = m.submodules.writer = self.writer
        wiring.connect(m, feed.o, writer.i)
        ins = feed.instr
        m.d.comb += [ins.sparse.eq(mm.engine == isa.Engine.SPARSE), ins.rows.eq(mm.m),
                     ins.n.eq(mm.n), ins.k.eq(mm.k), ins.a_addr.eq(mm.a_addr),
                     ins.b_addr.eq(mm.b_addr), ins.s_addr.eq(mm.s_addr),
                     writer.n.eq(mm.n), writer.o_addr.eq(mm.o_addr)]
        checks = [(isa.Buf.ACT, mm.a_addr, mm.m * mm.k * INT8_BYTES),
                  (isa.Buf.WGT, mm.b_addr, mm.b_lines * isa.LINE_BYTES),
                  (isa.Buf.BIAS, mm.s_addr, mm.m * FP32_BYTES),
                  (isa.Buf.OUT, mm.o_addr, mm.m * mm.n * FP16_BYTES)]
        with m.FSM(name="csd"):
            with m.State("IDLE"):
                with m.If(self.unit.start):
                    m.next = "CHECK"
            with m.State("CHECK"):
                failed = Const(0, 1)
                for buf, line, size in checks:
                    lo, hi = Signal(40, name=f"{buf.name}_lo"), Signal(40, name=f"{buf.name}_hi")
                    m.d.comb += [lo.eq(line * isa.LINE_BYTES), hi.eq(lo + size)]
                    bad = hi > p.buffer_bytes[buf]
                    with m.If(bad & ~failed):
                        pulse_fault(m, self.unit, Fault.BUFFER_RANGE, lo, hi, buf)
                    failed = failed | bad
                with m.If(failed):
                    m.next = "DONE"
                with m.Else():
                    m.d.comb += feed.start.eq(1)
                    m.next = "RUN"
            with m.State("RUN"):
                with m.If(feed.bad):
                    pulse_fault(m, self.unit, Fault.UNSUPPORTED)
                    m.next = "DONE"
                with m.Elif(~feed.busy & ~feed.start & writer.idle & ~feed.o.valid):
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.unit.done.eq(1)
                m.next = "IDLE"
        return m
