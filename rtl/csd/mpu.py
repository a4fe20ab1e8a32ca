"""MPU: several CSD chains (VPUs) in lock-step on one shared activation stream."""
from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .chain import CsdChain
from .geometry import ChainGeometry
from .layouts import mpu_in_layout, mpu_out_layout


class Mpu(wiring.Component):
    """``vpus`` CSD chains that share each beat's activation block(s)
    (docs/references.md#flightllm-3.1).

    Ports: ``i`` In(stream of :func:`mpu_in_layout`): ``act`` (shared) and ``lanes[v]`` (VPU v's
    weights, indices, ``nlog``, ``w4``; VPUs may run blocks with different N in the same beat);
    ``o`` Out(stream of :func:`mpu_out_layout`): ``vpu[v]`` is VPU v's chain output.
    Timing: one beat per cycle, latency that of one chain (:attr:`latency`); all chains see the
    same valid and ready, so they stay in lock-step and one chain's handshake speaks for all.
    """

    def __init__(self, geo: ChainGeometry, vpus: int):
        if vpus < 1:
            raise ValueError(f"csd.vpus_per_mpu: need at least one VPU, got {vpus}")
        self.geo, self.vpus = geo, vpus
        super().__init__({"i": In(stream.Signature(mpu_in_layout(geo, vpus))),
                          "o": Out(stream.Signature(mpu_out_layout(geo, vpus)))})

    @property
    def latency(self) -> int:
        return self.geo.latency

    @property
    def throughput(self) -> dict[int, float]:
        """Results per cycle for each N, all VPUs busy."""
        return {n: self.vpus * self.geo.results_per_cycle(n) for n in self.geo.n_options}

    @property
    def dsp_slices(self) -> int:
        """DSP slices the design is meant to occupy (for synthesis reports)."""
        return self.vpus * self.geo.slices

    def elaborate(self, platform):
        m = Module()
        for v in range(self.vpus):
            chain = m.submodules[f"vpu{v}"] = CsdChain(self.geo)
            m.d.comb += [chain.i.valid.eq(self.i.valid), chain.i.payload.act.eq(self.i.payload.act),
                         chain.i.payload.lane.eq(self.i.payload.lanes[v]),
                         chain.o.ready.eq(self.o.ready),
                         self.o.payload.vpu[v].eq(chain.o.payload)]
            if v == 0:
                m.d.comb += [self.i.ready.eq(chain.i.ready), self.o.valid.eq(chain.o.valid)]
        return m
