"""The bench's operand streams: the Amaranth generator (inside the Verilator top) and its numpy
replica give the same bits, and the signature folding replica matches a plain loop."""
from __future__ import annotations

import numpy as np
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

import fp_bench_top as top
from fp_expect import prefix_signatures
from fp_stimulus import comb_wire, hw_stream, np_stream

STREAMS = (top.ADD_A, top.ADD_B, top.RINT_A)


class _Streams(wiring.Component):
    def __init__(self):
        super().__init__({"n": In(32), "seed": In(32),
                          **{f"op{st.sid}": Out(32) for st in STREAMS}})

    def elaborate(self, platform):
        m = Module()

        wire = comb_wire(m)

        ops = {}
        for st in STREAMS:
            ops[st] = hw_stream(st, self.seed, self.n, wire, ops.get(st.partner))
            m.d.comb += getattr(self, f"op{st.sid}").eq(ops[st])
        return m


def test_hardware_streams_equal_their_numpy_replica():
    dut, seed = _Streams(), 77
    n = np.concatenate([np.arange(300), np.random.default_rng(0).integers(0, 1 << 32, 100)])
    got = {st: [] for st in STREAMS}

    async def bench(ctx):
        ctx.set(dut.seed, seed)
        for v in n:
            ctx.set(dut.n, int(v))
            for st in STREAMS:
                got[st].append(ctx.get(getattr(dut, f"op{st.sid}")))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    modes = set()
    for st in STREAMS:
        want = np_stream(st, seed, n.astype(np.uint32))
        np.testing.assert_array_equal(np.array(got[st], np.uint32), want,
                                      err_msg=f"stream {st.sid}")
        modes |= set(np.unique(want >> 23 & 0xFF).tolist())
    assert 0 in modes and 255 in modes                       # subnormals/zeros and inf/NaN occur


def test_prefix_signatures_equal_the_sequential_fold():
    y = np.random.default_rng(1).integers(0, 1 << 32, 200).astype(np.uint32)
    h, want = 0, []
    for v in y:
        h = ((h << 1 | h >> 31) & 0xFFFFFFFF) ^ int(v)
        want.append(h)
    np.testing.assert_array_equal(prefix_signatures(y), np.array(want, np.uint32))
