"""Logits rows of the largest prefill bucket that exceed one HBM channel (SmolLM2 at its default
8192 tokens: 805 MB vs 250 MB per U280 pseudo-channel) go to row blocks on several channels.
The ISA simulator must still equal golden exactly across a block boundary."""
from __future__ import annotations

import pytest
import torch

from bitflight.base import config
from bitflight.compiler import build, models, target as tg
from bitflight.compiler.ir import CompileError
from bitflight.compiler.passes.memory import HbmMap
from bitflight.golden.llm.accel import accelerator_model
from bitflight.golden.policy import load_policy
from bitflight.sim.isa.runtime import Session

MAX_LEN = 256


def test_smollm2_default_length_logits_on_u280_take_four_blocks():
    hbm = HbmMap(32, 250_000_000)
    blocks = tg.place_logits(hbm, 49152, 8192)
    # 250e6 // (2 * 49152) = 2543 rows -> 2432, a multiple of 128
    assert [(r0, n) for _, r0, n in blocks] == [(0, 2432), (2432, 2432), (4864, 2432),
                                                (7296, 896)]
    assert len({r.channel for r, _, _ in blocks}) == 4
    assert tg.logits_spans(tg.Layout(hbm, {}, [], None, logits=blocks), 2500) == [
        (blocks[0][0].channel, 0, 2432 * 98304), (blocks[1][0].channel, 0, 68 * 98304)]


def test_logits_that_fit_stay_one_region_and_straddling_is_an_error():
    hbm = HbmMap(4, 10_000)
    (region, r0, n), = tg.place_logits(hbm, 10, 100)
    assert (region.name, region.size, r0, n) == ("logits", 2000, 0, 100)
    layout = tg.Layout(hbm, {}, [], None, logits=[(region, 0, 60), (region, 60, 40)])
    assert tg.logits_block(layout, 60, 40)[1] == region.addr
    with pytest.raises(CompileError, match="straddle logits block 'logits'"):
        tg.logits_block(layout, 50, 16)
    with pytest.raises(CompileError, match="use a smaller --max-len"):
        tg.place_logits(HbmMap(2, 1000), 10, 1000)


@pytest.mark.parametrize("policy_name", ["flightllm", "bitmod-w4"])
def test_split_logits_identical_to_golden(policy_name):
    tiny, policy = models.load("tiny-golden"), load_policy(policy_name)
    cfg = config.load("tiny")
    memory = cfg.memory.model_copy(update={"capacity_gb": 4 * 230_000 / 1e9})
    cfg = cfg.model_copy(update={"memory": memory})
    target = tg.build_target(tiny.graph, cfg, policy, tiny.weights, max_pos=MAX_LEN)
    assert [(r0, n) for _, r0, n in target.layout.logits] == [(0, 128), (128, 128)]
    assert len({r.channel for r, _, _ in target.layout.logits}) == 2
    store, _ = build.compile_buckets(target, MAX_LEN, check=True, prefill_step=16,
                                     only=["prefill:144", "decode:144"])
    sess, golden = Session(target, store, MAX_LEN), accelerator_model(tiny.golden, policy)
    ids = torch.randint(0, 256, (140,), generator=torch.Generator().manual_seed(5))
    got = sess.prefill(ids)                  # rows 0..127 in block 0, 128..139 in block 1
    want, cache = golden.prefill(ids[None])
    assert got.shape == (140, 256) and torch.equal(got, want[0].float())
    token = int(got[-1].argmax())
    got = sess.decode(token)
    assert torch.equal(got, golden.decode(torch.tensor([token]), cache)[0].float())
