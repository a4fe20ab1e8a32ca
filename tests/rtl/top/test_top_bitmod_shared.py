"""One BitMoD array for both queues (the U280 design point's arrangement: configs/designs/
u280-bitmod.yaml): a config whose decode array is its prefill array, here tiny's 4 x 1 column in
tiles of 2 rows and bands of 2, gets one BITMOD engine shared by the MM and the MV queue
(rtl/top/shared.py). On a top of just that engine (a small Verilator build of its own): MM
products, which run the column one token at a time, and MV products, issued together, match
sim.isa bit for bit, and they run one after the other."""
import numpy as np
import pytest

from bitflight.compiler import isa
from bitflight.rtl.top.bitmod import timing
from bitflight.rtl.top.bitmod.engine import bitmod_factories
from bitflight.rtl.top.engines import EngineSet
from bitflight.sim.top import runner

from bitmod_programs import check_against_isa, job, product, program
from top_cases import CFG

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-bitmod-shared")]

COLUMN = CFG.model_copy(update={"name": "tiny-column", "bitmod": CFG.bitmod.model_copy(
    update={"prefill_array": CFG.bitmod.decode_array})})


@pytest.fixture(scope="module")
def top():
    made = bitmod_factories(COLUMN)         # the top's own choice: one engine, two queues

    def unit(queue):
        return lambda p: EngineSet(queue, p, made[queue](p))
    built = runner.build(COLUMN, {q: unit(q) for q in (isa.Queue.MM, isa.Queue.MV)},
                         variant="bitmod-only")
    assert built[1].bitmod[0] == built[1].bitmod[1]
    return built


def test_mm_and_mv_share_the_column_bit_exact(top):
    """Every BitMoD datatype in both scale modes, MM over several tokens and MV, alternating
    with no token between them (each waits for the engine), against sim.isa."""
    rng = np.random.default_rng(21)
    prods = []
    for i, (scheme, bits) in enumerate([("bitmod", 3), ("bitmod", 4), ("fp", 4), ("int_sym", 6),
                                        ("int_sym", 8)]):
        for mode in ("fp16", "int"):
            kind = "MM" if len(prods) % 2 else "MV"
            g = int(rng.choice([8, 16, 32]))
            k = int(g * rng.integers(1, 3) + rng.choice([0, 4]))
            m = int(rng.integers(2, 4)) if kind == "MM" else 1
            prods.append(product(rng, kind, scheme, bits, mode, m, int(rng.integers(1, 7)), k,
                                 g))
    check_against_isa(top, prods, rng)


def test_an_mv_behind_an_mm_waits_for_it(top):
    """The step with an MM and an MV lasts longer than the MM's step alone by at least the
    MV's lower bound (two arrays would overlap them); each alone stays within its bounds."""
    rng = np.random.default_rng(22)
    mm = product(rng, "MM", "bitmod", 4, "fp16", 3, 6, 64, 32)
    mv = product(rng, "MV", "bitmod", 4, "fp16", 1, 8, 96, 32)
    instrs, buffers = program([mm, mv], rng)
    (i_mm, i_mv), end = instrs[:2], instrs[-1]
    result = runner.run(top, job([[i_mm, end], [i_mv, end], [i_mm, i_mv, end]], buffers),
                        quiet=True)
    assert result.error is None, result.error
    ep = top[1].bitmod[0]
    alone = result.steps[:2]
    for p, step in zip((mm, mv), alone):
        shape = timing.Product(p.m, p.n, p.k, p.group, p.slots)
        lines = top[1].wgt_lines
        assert (timing.lower(ep, shape, lines) <= step.active[p.kind]
                <= timing.upper(ep, shape, lines))
    lower_mv = timing.lower(ep, timing.Product(mv.m, mv.n, mv.k, mv.group, mv.slots),
                            top[1].wgt_lines)
    assert result.steps[2].cycles - alone[0].cycles >= lower_mv
    assert result.steps[2].active["MV"] >= alone[0].active["MM"] // 2 + alone[1].active["MV"]
