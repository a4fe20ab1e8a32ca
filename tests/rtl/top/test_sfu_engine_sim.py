"""The top's SFU engine alone in the Amaranth simulator, behind a Python model of the buffers:
a few short MISC instructions of each op against sim.isa, bit for bit, and the cycle counts of
``rtl.top.sfu.timing`` (the Verilator tests of test_top_sfu.py cover the rest on the top)."""
import numpy as np
import pytest

from bitflight.base import config
from bitflight.compiler import encoding, isa
from bitflight.compiler.isa import Buf, DType, MiscOp
from bitflight.rtl.top.decoder import type_bits
from bitflight.rtl.top.params import TopParams
from bitflight.rtl.top.sfu import timing
from bitflight.rtl.top.sfu_engine import SfuEngine
from bitflight.sim.isa.machine import Machine
from bitflight.sim.isa.misc import execute_misc
from bitflight.sim.hdl import amaranth_run

CFG = config.load("tiny")
L = isa.LINE_BYTES


def instr_bits(instr) -> int:
    words = encoding.encode(instr)
    bits = 0
    for w in words:
        bits = bits << 32 | w
    return bits << (type_bits(isa.TYPES["MISC"]) - 32 * len(words))


def run_engine(bufs: dict, instr, pos0: int, ntok: int) -> tuple[dict, int, tuple | None]:
    """(buffers after, cycles from start to done inclusive, (code, a0, a1, a2) of a fault)."""
    p = TopParams.from_config(CFG)
    dut = SfuEngine(p)
    mem = {b: bytearray(v) for b, v in bufs.items()}
    out = {}

    async def bench(ctx):
        rd, wr, u = dut.rd[0], dut.wr_port, dut.unit
        ctx.set(rd.ready, 1)
        ctx.set(wr.ready, 1)
        ctx.set(u.instr, instr_bits(instr))
        ctx.set(dut.pos0, pos0)
        ctx.set(dut.ntok, ntok)
        ctx.set(u.start, 1)
        cycles, fault = 0, None
        while True:
            cycles += 1
            if ctx.get(u.fault):
                fault = (ctx.get(u.code), ctx.get(u.args.a0), ctx.get(u.args.a1),
                         ctx.get(u.args.a2))
            done = ctx.get(u.done)
            read = (ctx.get(rd.buf), ctx.get(rd.addr)) if ctx.get(rd.valid) else None
            write = None
            if ctx.get(wr.valid):
                write = (ctx.get(wr.buf), ctx.get(wr.addr), ctx.get(wr.data), ctx.get(wr.be))
            await ctx.tick()
            ctx.set(u.start, 0)
            if write:
                b, a, data, be = write
                for k in range(L):
                    if be >> k & 1:
                        mem[Buf(b)][a * L + k] = data >> (8 * k) & 0xFF
            ctx.set(rd.rvalid, read is not None)
            if read:
                b, a = read
                ctx.set(rd.rdata, int.from_bytes(mem[Buf(b)][a * L:a * L + L], "little"))
            if done:
                break
            assert cycles < 200_000
        out.update(cycles=cycles, fault=fault)

    amaranth_run.run(dut, bench)
    return mem, out["cycles"], out["fault"]


def reference(bufs, instr, pos0, ntok):
    m = Machine(CFG, {0: bytes(16)})
    for b, v in bufs.items():
        m.bufs[b][:] = v
    m.pos0, m.ntok = pos0, ntok
    execute_misc(m, instr, 0)
    return m.bufs


def fp16_bits(rng, n, scale=2.0):
    return (rng.standard_normal(n) * scale).astype(np.float16).view(np.uint8)


def small_buffers(rng):
    sizes = {b: len(Machine(CFG, {0: bytes(16)}).bufs[b]) for b in Buf}
    bufs = {b: bytearray(rng.integers(0, 256, sizes[b], dtype=np.uint8).tobytes()) for b in Buf}
    for b in (Buf.ACT, Buf.WGT, Buf.META):             # realistic fp16 operands
        bufs[b][:1024] = fp16_bits(rng, 512).tobytes()
    return bufs


CASES = [
    dict(op=MiscOp.ADD, rows=2, cols=9, a_buf=Buf.ACT, a_addr=1, b_buf=Buf.ACT, b_addr=20,
         o_buf=Buf.OUT, o_addr=3),
    dict(op=MiscOp.SWIGLU, rows=1, cols=5, a_buf=Buf.ACT, a_addr=0, b_buf=Buf.WGT, b_addr=2,
         o_buf=Buf.OUT, o_addr=0),
    dict(op=MiscOp.RMSNORM, rows=2, cols=7, a_buf=Buf.ACT, a_addr=0, b_buf=Buf.META, b_addr=1,
         o_buf=Buf.ACT, o_addr=0),
    dict(op=MiscOp.ROPE, rows=2, cols=8, imm=4, a_buf=Buf.ACT, a_addr=4, b_buf=Buf.WGT,
         b_addr=7, o_buf=Buf.OUT, o_addr=5),
    dict(op=MiscOp.SOFTMAX, rows=3, cols=6, pos=1, imm=2, a_buf=Buf.ACT, a_addr=2,
         o_buf=Buf.OUT, o_addr=9),
    dict(op=MiscOp.REQUANT, rows=2, cols=5, a_buf=Buf.WGT, a_addr=0, b_buf=Buf.BIAS, b_addr=3,
         o_buf=Buf.OUT, o_addr=1, dt_out=DType.INT8),
    dict(op=MiscOp.REQUANT, rows=3, cols=3, a_buf=Buf.ACT, a_addr=40, b_buf=Buf.BIAS, b_addr=5,
         o_buf=Buf.ACT, o_addr=40, dt_out=DType.INT8),          # in place, row 1 all zeros
    dict(op=MiscOp.REQUANT, rows=3, cols=0, a_buf=Buf.ACT, b_buf=Buf.BIAS, b_addr=7,
         o_buf=Buf.OUT, dt_out=DType.INT8),                     # scales of 1.0 only
    dict(op=MiscOp.ROPE, rows=1, cols=12, imm=6, a_buf=Buf.ACT, a_addr=9, b_buf=Buf.WGT,
         b_addr=1, o_buf=Buf.OUT, o_addr=2),
    dict(op=MiscOp.SCALE, rows=1, cols=3, imm=0xC500, a_buf=Buf.META, a_addr=2, o_buf=Buf.OUT),
    dict(op=MiscOp.MUL, rows=0, cols=4, a_buf=Buf.ACT, b_buf=Buf.ACT, o_buf=Buf.OUT),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['op'].name}-{c['rows']}x{c['cols']}")
def test_engine_matches_isa(case):
    rng = np.random.default_rng(int(case["op"]) + 3)
    bufs = small_buffers(rng)
    zero = set()
    if case["op"] == MiscOp.REQUANT and case["rows"] == 3 and case["cols"]:
        at = case["a_addr"] * L + 2 * case["cols"]
        bufs[case["a_buf"]][at:at + 2 * case["cols"]] = bytes(2 * case["cols"])
        zero = {1}
    base = dict(dt_in=DType.FP16, dt_out=DType.FP16, a_buf=0, b_buf=0, o_buf=0, pos=0, imm=0)
    instr = isa.make("MISC", **{**base, **case})
    if case["op"] == MiscOp.RMSNORM:                    # a realistic eps after the gain
        at = case["b_addr"] * L + 2 * case["cols"]
        bufs[Buf.META][at:at + 4] = np.float32(1e-5).tobytes()
    pos0, ntok = 2, 3
    got, cycles, fault = run_engine(bufs, instr, pos0, ntok)
    assert fault is None
    want = reference(bufs, instr, pos0, ntok)
    for b in Buf:
        assert bytes(got[b]) == bytes(want[b]), b.name
    assert cycles == timing.cycles(instr, zero), cycles
