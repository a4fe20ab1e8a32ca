"""An embedding table larger than one HBM channel (LLaMA-2-7B's 262 MB fp16 table vs a U280
pseudo-channel's 250 MB) is split by columns over several channels; one gather LD per slice.
The ISA simulator must still equal golden exactly."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bitflight.base import config
from bitflight.compiler import build, encoding, models, target as tg
from bitflight.compiler.ir import CompileError
from bitflight.compiler.passes.memory import ALIGN, HbmMap
from bitflight.golden.llm.accel import accelerator_model
from bitflight.golden.policy import load_policy
from bitflight.sim.isa.lockstep import greedy_lockstep
from bitflight.sim.isa.runtime import Session

MAX_LEN = 64
TABLE = "model.embed_tokens"


def test_fits_in_one_channel_stays_one_region():
    hbm = HbmMap(4, 10_000)
    (region, c0, cols), = tg.place_embedding(hbm, TABLE, 100, 40)
    assert (region.name, region.size, c0, cols) == (TABLE, 8000, 0, 40)


def test_llama2_7b_table_on_u280_takes_two_column_halves():
    cfg = config.load("u280")
    hbm = HbmMap(cfg.memory.channels, int(cfg.memory.capacity_gb * 1e9) // cfg.memory.channels)
    assert 2 * 32000 * 4096 > hbm.channel_bytes         # the regression: one channel is too small
    slices = tg.place_embedding(hbm, TABLE, 32000, 4096)
    assert [(c0, cols) for _, c0, cols in slices] == [(0, 2048), (2048, 2048)]
    assert len({r.channel for r, _, _ in slices}) == 2
    assert all(r.size == 2 * 32000 * 2048 for r, _, _ in slices)


def test_uneven_split_uses_whole_lines_and_the_error_names_the_table():
    hbm = HbmMap(4, 3 * 1000 + ALIGN)          # 20 fp16 columns x 100 rows = 4000 bytes
    slices = tg.place_embedding(hbm, TABLE, 100, 20)
    assert [(c0, cols) for _, c0, cols in slices] == [(0, 8), (8, 8), (16, 4)]
    with pytest.raises(CompileError, match=f"embedding '{TABLE}' .* does not fit"):
        tg.place_embedding(HbmMap(2, 1000), TABLE, 100, 20)


def _small_channel_config(tiny, policy):
    """The tiny config with channels just big enough for everything but a whole table."""
    cfg = config.load("tiny")
    t = tg.build_target(tiny.graph, cfg, policy, None, max_pos=MAX_LEN)
    (region, _, _), = t.layout.embed[TABLE]
    used = list(t.layout.hbm.used)
    used[region.channel] -= -(-region.size // ALIGN) * ALIGN
    cap = max(used)
    assert cap - min(used) < region.size, "precondition: the table must not fit one channel"
    ch = cfg.memory.channels
    memory = cfg.memory.model_copy(update={"capacity_gb": (ch * cap + 2) / 1e9})
    return cfg.model_copy(update={"memory": memory})


@pytest.mark.parametrize("policy_name", ["flightllm", "bitmod-w4"])
def test_split_table_logits_identical_to_golden(policy_name):
    tiny, policy = models.load("tiny-golden"), load_policy(policy_name)
    cfg = _small_channel_config(tiny, policy)
    target = tg.build_target(tiny.graph, cfg, policy, tiny.weights, max_pos=MAX_LEN)
    slices = target.layout.embed[TABLE]
    assert len(slices) >= 2 and len({r.channel for r, _, _ in slices}) == len(slices)
    table = tiny.weights[TABLE].to(torch.float16)
    image = target.image()
    for region, c0, cols in slices:                  # each slice: its columns of every row
        got = image[region.channel][region.addr:region.addr + region.size]
        assert got == table[:, c0:c0 + cols].contiguous().numpy().tobytes()

    store, _ = build.compile_buckets(target, MAX_LEN, check=True, prefill_step=16,
                                     only=["prefill:16", "decode:16"])
    prog = encoding.decode_words(np.frombuffer(store.program_words("decode:16"), "<u4").tolist())
    gathers = [i for i in prog if i.kind == "LD" and i["gather"]]
    assert sorted((g["channel"], g["hbm_addr"]) for g in gathers) == sorted(
        (r.channel, r.addr) for r, _, _ in slices)

    sess, golden = Session(target, store, MAX_LEN), accelerator_model(tiny.golden, policy)
    ids = torch.randint(0, 256, (11,), generator=torch.Generator().manual_seed(3))
    result = greedy_lockstep(sess, golden, ids, 4)
    assert result.identical, f"logits differ from golden: {result.first_diff}"
