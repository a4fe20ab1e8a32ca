"""The BITMOD engine on a decode array whose beats span WGT rows and whose metadata takes more
than one field: tiny's prefill array (2 x 2) beside a 20 x 1 column in tiles of 4 rows and bands
of 4. Tiny's WGT rows are 2 lines (``bitmod.sram_banks``, 256 bits), so MV's beats of 80 x b
bits touch up to 3 rows (the beat reader's window) from 16 starting points a row for 3-bit
codes, a group's metadata takes two fields per item (16 rows, then 4), and the compiler's
layout has full blocks of lcm(2, 20) = 20 rows, which the 2-row prefill array reads ten tiles
to a block. On a top of just these engines (a Verilator build of its own), products
of every datatype, both scale modes and row counts that leave the last block and the last array
tile short, match sim.isa bit for bit."""
import numpy as np
import pytest

from bitflight.compiler import isa
from bitflight.compiler.passes.packing import array_layout
from bitflight.rtl.top.bitmod import timing
from bitflight.rtl.top.bitmod.engine import bitmod_factories
from bitflight.rtl.top.engines import EngineSet
from bitflight.sim.top import runner

from bitmod_programs import check_against_isa, job, product, program
from top_cases import CFG

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-bitmod-wide")]

_decode = CFG.bitmod.decode_array
WIDE = CFG.model_copy(update={"name": "tiny-wide-column", "bitmod": CFG.bitmod.model_copy(
    update={"decode_array": _decode.model_copy(update={
        "rows": 20, "band": 4, "tile": _decode.tile.model_copy(update={"rows": 4})})})})
LAYOUT = array_layout(WIDE)


@pytest.fixture(scope="module")
def top():
    made = bitmod_factories(WIDE)

    def unit(queue):
        return lambda p: EngineSet(queue, p, made[queue](p))
    return runner.build(WIDE, {q: unit(q) for q in (isa.Queue.MM, isa.Queue.MV)},
                        variant="bitmod-wide")


def test_the_engine_reads_through_several_rows_and_fields(top):
    """An 8-bit beat of 640 bits starts at a multiple of gcd(640, 256) = 128 bits: from 128 it
    ends in the third row."""
    ep, lines = top[1].bitmod[1], top[1].wgt_lines
    assert LAYOUT == (20, 4, True, 32) and ep.rows == 20 and lines == 2
    assert (timing.window_rows(ep, lines), timing.meta_pieces(ep, lines)) == (3, 2)
    assert timing.beat_slices(ep, lines)[3] == (240, 16)


def test_every_datatype_and_short_blocks_bit_exact(top):
    rng = np.random.default_rng(31)
    prods = []
    for scheme, bits in [("bitmod", 3), ("bitmod", 4), ("fp", 3), ("int_sym", 6),
                         ("int_sym", 8)]:
        for mode in ("fp16", "int"):
            kind = "MV" if len(prods) % 3 else "MM"
            g = int(rng.choice([8, 16, 32]))
            k = int(g * rng.integers(1, 3) + rng.choice([0, 4]))
            n = int(rng.choice([5, 12, 13, 23, 30, 45]))
            m = int(rng.integers(1, 4)) if kind == "MM" else 1
            prods.append(product(rng, kind, scheme, bits, mode, m, n, k, g, layout=LAYOUT))
    check_against_isa(top, prods, rng)


def test_cycles_within_timing_bounds(top):
    """Each product alone: the unit's busy cycles lie within timing.py's bounds, and sim.perf's
    model (sim/top/perf_timing.py, its metadata reader model sim/top/meta_model.py) is within 2 %
    on the column (MV) and 3 % on the 2-row prefill array (MM), whose 4-bit beats lie in a WGT
    row each here, so that every beat reads a row and the metadata reads compete with it for
    the port."""
    rng = np.random.default_rng(32)
    cases = [("MV", "bitmod", 4, "fp16", 1, 36, 128, 128),
             ("MV", "bitmod", 3, "fp16", 1, 30, 64, 32),
             ("MV", "int_sym", 6, "int", 1, 20, 128, 32),
             ("MV", "bitmod", 3, "int", 1, 20, 256, 8),
             ("MM", "bitmod", 4, "fp16", 4, 16, 64, 32),
             ("MM", "int_sym", 8, "int", 3, 5, 72, 16)]
    prods = [product(rng, *c, layout=LAYOUT) for c in cases]
    instrs, buffers = program(prods, rng)
    end = instrs[-1]
    result = runner.run(top, job([[i, end] for i in instrs[:-1]], buffers), quiet=True)
    for p, step, instr in zip(prods, result.steps, instrs):
        assert step.error is None
        ep = top[1].bitmod[0 if p.kind == "MM" else 1]
        shape = timing.Product(p.m, p.n, p.k, p.group, p.slots)
        lines, cycles = top[1].wgt_lines, step.active[p.kind]
        assert timing.lower(ep, shape, lines) <= cycles <= timing.upper(ep, shape, lines)
        model = p.model_cycles(instr, WIDE)
        print(p.kind, shape, p.scale_mode, "rtl", cycles, "model", model)
        assert abs(model - cycles) <= (0.02 if p.kind == "MV" else 0.03) * cycles
