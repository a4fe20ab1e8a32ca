"""The CSD engine's requantize stage in amaranth.sim: every written fp16 equals
golden.ops.int_matmul.requantize (one group: h((f(acc) ⊗ w_scale) ⊗ s_x)) on edge and seeded
random sums and scales, fp16 (dense tiles) and float32 (N:M tiles) weight scales."""
import numpy as np

from bitflight.base import config
from bitflight.golden.ops.int_matmul import requantize
from bitflight.rtl.top.csd_requant import RequantWriter
from bitflight.rtl.top.params import TopParams
from bitflight.sim.hdl import amaranth_run

F32 = np.float32
EDGE_ACC = [0, 1, -1, 2 ** 30, -2 ** 30, 2 ** 31 - 1, -2 ** 31, 16777217, -16777219]
EDGE_F32 = [0.0, -0.0, 1.0, np.inf, -np.inf, np.nan, 1e-45, 1.2e-38, 3.4e38, 2.0 ** -24, 65504.0]


def _cases(rng, count: int):
    acc = np.concatenate([EDGE_ACC, rng.integers(-2 ** 31, 2 ** 31, count)]).astype(np.int64)
    n = len(acc)
    ws = np.concatenate([np.array(EDGE_F32, F32),
                         (rng.standard_normal(n) * 2.0 ** rng.integers(-30, 10, n)).astype(F32)])
    sx = np.concatenate([np.array(EDGE_F32, F32),
                         (rng.uniform(0, 2, n) * 2.0 ** rng.integers(-40, 4, n)).astype(F32)])
    pick = rng.integers(0, len(ws), (2, n))
    return acc, ws[pick[0]], sx[pick[1]]


def _run(acc, ws_bits, wide, sx):
    params = TopParams.from_config(config.load("tiny"))
    dut = RequantWriter(params)
    got = {}

    async def bench(ctx):
        ctx.set(dut.n, len(acc))
        ctx.set(dut.o_addr, 3)
        ctx.set(dut.wr.ready, 1)
        for i in range(len(acc)):
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.payload, {"acc": int(acc[i]), "ws": int(ws_bits[i]), "wide": wide,
                                    "sx": int(sx[i]), "t": 0, "col": i})
            while True:
                _, _, took, wv, addr, be, data = await ctx.tick().sample(
                    dut.i.ready, dut.wr.valid, dut.wr.addr, dut.wr.be, dut.wr.data)
                _record(got, wv, addr, be, data)
                if took:
                    break
            ctx.set(dut.i.valid, 0)
        for _ in range(4):
            _, _, wv, addr, be, data = await ctx.tick().sample(dut.wr.valid, dut.wr.addr,
                                                              dut.wr.be, dut.wr.data)
            _record(got, wv, addr, be, data)

    amaranth_run.run(dut, bench)
    return np.array([got[i] for i in range(len(acc))], dtype=np.uint16)


def _record(got, valid, addr, be, data):
    if not valid:
        return
    lane = (int(be) & -int(be)).bit_length() - 1
    assert int(be) == 0b11 << lane and lane % 2 == 0
    index = (int(addr) - 3) * 8 + lane // 2
    got[index] = (int(data) >> (8 * lane)) & 0xFFFF


def test_fp32_scales_match_golden():
    rng = np.random.default_rng(1)
    acc, ws, sx = _cases(rng, 120)
    got = _run(acc, ws.view(np.uint32), 1, sx.view(np.uint32))
    want = requantize(acc[:, None, None], sx, ws[:, None]).astype(np.float16)
    np.testing.assert_array_equal(got, np.diagonal(want).view(np.uint16))


def test_fp16_scales_match_golden():
    rng = np.random.default_rng(2)
    acc, ws, sx = _cases(rng, 120)
    with np.errstate(over="ignore"):
        ws16 = ws.astype(np.float16)                # huge scales become inf, also a case
    got = _run(acc, ws16.view(np.uint16), 0, sx.view(np.uint32))
    want = requantize(acc[:, None, None], sx, ws16.astype(F32)[:, None])
    np.testing.assert_array_equal(got, np.diagonal(want).view(np.uint16))
