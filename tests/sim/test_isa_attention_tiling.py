"""Prefill attention row tiles that do not divide the sequence give golden's logits exactly.

The golden score / value products (``golden.ops.score_fp16`` ... ``value_int8``) fix the
summation order of every output element, and the ISA simulator calls them on each MM tile, so the
tile size is free: 7 tokens in tiles of 4 (4 + 3) and 33 tokens in tiles of 16 (16 + 16 + 1), on
the fp16 (BitMoD) and the INT8 (FlightLLM) attention paths."""
from __future__ import annotations

import pytest
import torch

from bitflight.base import config
from bitflight.compiler import build, models, target as tg
from bitflight.compiler.isa import DType
from bitflight.golden.llm.accel import accelerator_model
from bitflight.golden.policy import load_policy
from bitflight.sim.isa.runtime import Session

MAX_LEN = 64


@pytest.fixture(scope="module")
def tiny():
    return models.load("tiny-golden")


@pytest.mark.parametrize("policy_name,kv_dt", [("bitmod-w4", DType.FP16),
                                               ("flightllm", DType.INT8)])
@pytest.mark.parametrize("tokens,tile", [(7, 4), (33, 16)])
def test_non_dividing_row_tiles_are_exact(tiny, policy_name, kv_dt, tokens, tile):
    policy = load_policy(policy_name)
    target = tg.build_target(tiny.graph, config.load("tiny"), policy, tiny.weights,
                             max_pos=MAX_LEN)
    bucket = f"prefill:{tokens}"
    store, _ = build.compile_buckets(target, MAX_LEN, check=True, prefill_step=tokens,
                                     only=[bucket], attn_rows=tile)
    sess = Session(target, store, MAX_LEN)
    scores = [i for i in sess._program(bucket) if i.kind == "MM" and i["qk_dim"]]
    assert {i["b_dt"] for i in scores} == {kv_dt}
    assert sorted({i["m"] for i in scores}) == sorted({tile, tokens % tile})   # a partial tile
    ids = torch.randint(0, 256, (tokens,), generator=torch.Generator().manual_seed(tokens))
    want, _ = accelerator_model(tiny.golden, policy).prefill(ids[None])
    assert torch.equal(sess.prefill(ids), want[0].float())
