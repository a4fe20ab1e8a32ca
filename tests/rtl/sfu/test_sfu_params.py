"""The SFU's pipelining parameter: validated, taken from the config by the top's engine and by
the RTL-calibrated performance model, and moving the element latency by the units' depth."""
from __future__ import annotations

import pytest
from amaranth.hdl import Fragment

from bitflight.base import config
from bitflight.base.errors import ConfigError
from bitflight.compiler import isa
from bitflight.compiler.isa import Buf, DType, MiscOp
from bitflight.rtl.sfu.params import SfuParams
from bitflight.rtl.top.engines import built_engines
from bitflight.rtl.top.params import TopParams
from bitflight.rtl.top.sfu.timing import SfuTiming
from bitflight.sim.top.perf_timing import RtlTiming

TINY = config.load("tiny")


def with_stages(add: int, mul: int):
    sfu = TINY.sfu.model_copy(update={"add_stages": add, "mul_stages": mul})
    return TINY.model_copy(update={"sfu": sfu})


@pytest.mark.parametrize("name", ["add_stages", "mul_stages"])
@pytest.mark.parametrize("bad", [-1, 7, 2.0, True])
def test_bad_stages_is_a_one_line_config_error(name, bad):
    with pytest.raises(ConfigError, match=rf"^sfu\.{name}: .* is not in 0\.\.6$"):
        SfuParams(**{name: bad})


def test_config_reaches_the_engine_and_the_calibrated_model():
    params = SfuParams.from_config(TINY)
    assert (params.add_stages, params.mul_stages) == (TINY.sfu.add_stages, TINY.sfu.mul_stages)
    cfg = with_stages(1, 2)
    misc = built_engines(cfg)[isa.Queue.MISC](TopParams.from_config(cfg))
    sfus = [e.sfu for e in misc.engines if hasattr(e, "sfu")]
    assert [(s.params.add_stages, s.params.mul_stages) for s in sfus] == [(1, 2)]
    Fragment.get(misc, None)                        # elaborated: none of it is left unused
    silu = isa.Instr("MISC", dict(op=MiscOp.SILU, dt_in=DType.FP16, dt_out=DType.FP16,
                                  a_buf=Buf.ACT, a_addr=0, b_buf=Buf.WGT, b_addr=0, rows=1,
                                  cols=8, imm=0, o_buf=Buf.OUT, o_addr=0))
    depths = ((0, 0), (1, 2), (4, 5))
    by = {k: RtlTiming(with_stages(*k)).unit_cycles(silu) for k in depths}
    lat = {k: SfuTiming.of(SfuParams(add_stages=k[0], mul_stages=k[1])).latency for k in depths}
    for k in depths[1:]:
        assert by[k] - by[(0, 0)] == lat[k] - lat[(0, 0)] > 0


def test_element_latency_follows_the_units():
    """Stage count by hand from datapath.py's steps: widen (1), a ⊖ m (A + 1), the exp unit
    (7 (M + 1) + 5 (A + 1) + 4 (C + 1) + the select and the output register), 1 ⊕ e (A + 1), a
    divider's operand register (1), the divider (29 + its rounding rank R), its quotient
    register (1), a ⊗ σ ⊗ u (2 (M + 1))
    against rint and clamp (C + 2), h() (C), the output register (1); A / M: the adders' /
    multipliers' ranks, C: the conversions'."""
    for a, mul, c, r in ((0, 0, 0, 0), (1, 0, 2, 1), (0, 3, 2, 1), (4, 5, 2, 1), (6, 6, 2, 1)):
        t = SfuTiming.of(SfuParams(add_stages=a, mul_stages=mul))
        exp = 7 * (mul + 1) + 5 * (a + 1) + 4 * (c + 1) + 1
        want = 1 + (a + 1) + exp + (a + 1) + 1 + (29 + r) + 1 + max(2 * (mul + 1), c + 2) + c + 1
        assert t.latency == want + 1                # + the SFU's output FIFO register
        assert (t.step, t.add, t.div, t.sqrt) == (a + 1, a, 29 + r, 28 + r)
