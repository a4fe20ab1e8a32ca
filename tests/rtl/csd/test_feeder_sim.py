"""The CSD engine's tile feeder in amaranth.sim: packed tiles parsed on chip, passes through the
MPU, INT32 row sums equal golden's accumulate / sparse_accumulate for every N of N:M."""
import numpy as np
import pytest

from bitflight.base import config
from bitflight.compiler.isa import Buf
from bitflight.rtl.top.csd_feeder import TileFeeder
from bitflight.rtl.csd.geometry import ChainGeometry
from bitflight.rtl.top.params import TopParams
from bitflight.sim.hdl import amaranth_run

from engine_cases import activations, dense_tile, expected_sums, lines, sparse_tile

CFG = config.load("tiny")


def run_feeder(tile: bytes, sparse: bool, q8: np.ndarray, n: int, k: int, vpus: int = 2):
    """Sums [rows, n] the feeder emits, with the tile at line 3 of WGT and A at line 2 of ACT."""
    params = TopParams.from_config(CFG)
    dut = TileFeeder(params, ChainGeometry.from_config(CFG), vpus)
    rows = q8.shape[0]
    mem = {Buf.WGT: bytes(48) + lines(tile), Buf.ACT: bytes(32) + lines(q8.tobytes()),
           Buf.BIAS: lines(np.arange(rows, dtype="<f4").tobytes())}
    out = np.full((rows, n), 1 << 40, dtype=np.int64)
    state = {"bad": False, "mismatch": False}

    async def bench(ctx):
        ins = dut.instr
        for name, value in dict(sparse=int(sparse), rows=rows, n=n, k=k, a_addr=2, b_addr=3,
                                s_addr=0).items():
            ctx.set(getattr(ins, name), value)
        ctx.set(dut.rd.ready, 1)
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(200_000):
            valid, buf, addr, ov, o, busy, bad, mism = await _sample(ctx)
            state["bad"] |= bool(bad)
            state["mismatch"] |= bool(mism)
            ctx.set(dut.rd.rvalid, int(valid))
            if valid:
                data = mem.get(Buf(buf), b"")[16 * addr:16 * addr + 16]
                ctx.set(dut.rd.rdata, int.from_bytes(data.ljust(16, b"\0"), "little"))
            if ov:
                out[o["t"], o["col"]] = o["acc"]
            if not busy:
                return
        raise AssertionError("feeder did not finish")

    async def _sample(ctx):
        vals = await ctx.tick().sample(dut.rd.valid, dut.rd.buf, dut.rd.addr, dut.o.valid,
                                       dut.o.payload, dut.busy, dut.bad, dut.mismatch)
        return vals[2:]

    amaranth_run.run(dut, bench)
    assert not state["mismatch"], "a result beat left the MPU without its tag"
    return out, state["bad"]


@pytest.mark.parametrize("bits", [4, 8])
def test_dense_sums_match_golden(bits):
    rng = np.random.default_rng(bits)
    n, k, rows = 20, 32, 2
    tile = dense_tile(rng, n, k, bits)
    q8 = activations(rng, rows, k)
    out, bad = run_feeder(tile, False, q8, n, k)
    assert not bad
    np.testing.assert_array_equal(out, expected_sums(tile, False, n, k, q8))


@pytest.mark.parametrize("bits", [4, 8])
def test_sparse_every_n_matches_golden(bits):
    """Blocks of every legal N (0, 1, 2, 4, 8, 16; N = 1 runs as 2 with zero slices) mixed in
    one tile, in different orders in the two row blocks."""
    rng = np.random.default_rng(10 + bits)
    n, k, rows = 32, 96, 2
    block_n = np.array([[0, 1, 2, 4, 8, 16], [16, 1, 8, 0, 2, 4]])
    tile = sparse_tile(rng, n, k, bits, block_n)
    q8 = activations(rng, rows, k)
    out, bad = run_feeder(tile, True, q8, n, k)
    assert not bad
    np.testing.assert_array_equal(out, expected_sums(tile, True, n, k, q8))
