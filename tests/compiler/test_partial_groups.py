"""BitMoD groups of 128 on widths that are not multiples of 128 (SmolLM2: 576 = 4.5 x 128): the
compiler packs the zero-padded last group and the ISA simulator's logits equal the golden
accelerator numerics exactly, on a small LLaMA in which every linear (K = 160 or 320) has whole
groups followed by a partial one."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bitflight.base import config
from bitflight.compiler import build, encoding, isa, llama_ir, models, target as tg
from bitflight.compiler.passes.formats import FormatPolicy
from bitflight.compiler.passes.packing import WeightPacking, prepare, unpack_tile
from bitflight.golden.llm import LlamaConfig, LlamaModel
from bitflight.golden.llm.accel import accelerator_model
from bitflight.golden.llm.weights import random_weights
from bitflight.golden.policy import load_policy
from bitflight.sim.isa.lockstep import greedy_lockstep
from bitflight.sim.isa.runtime import Session

# hidden 160 = 128 + 32, intermediate 320 = 2 x 128 + 64: every K ends in a partial group
CFG = LlamaConfig(name="partial", layers=1, hidden=160, heads=10, kv_heads=2, head_dim=16,
                  intermediate=320, vocab=256, max_position=512, tied_embeddings=False)
MAX_LEN = 32


@pytest.fixture(scope="module")
def source():
    golden = LlamaModel(CFG, random_weights(CFG, seed=11))
    graph = llama_ir.build(llama_ir.dims_from_golden(CFG))
    return models.ModelSource("partial", graph, models._ir_weights(golden), golden)


def test_every_linear_has_a_partial_last_group(source):
    plans = FormatPolicy(load_policy("bitmod-w4")).run(source.graph)
    assert {p.k for p in plans.values()} == {160, 320}
    assert all(p.group == 128 and p.k % 128 and p.groups == -(-p.k // 128)
               for p in plans.values())


@pytest.mark.parametrize("layer", ["model.layers.0.mlp.down_proj", "lm_head"])
def test_packed_tiles_hold_the_padded_group_as_code_zero(source, layer):
    policy = load_policy("bitmod-w4")
    plan = FormatPolicy(policy).run(source.graph)[layer]
    stored = prepare(plan, source.weights[layer], policy.engine)
    tiles = WeightPacking(policy.engine).run(plan, source.weights[layer], 48)
    rows = 0
    for blob in tiles:
        tile = unpack_tile(blob + bytes(-len(blob) % 16), plan.engine, plan.b_dt, 0, plan.k)
        assert tile.shape[1] == plan.k and tile.num_groups == plan.groups
        np.testing.assert_array_equal(tile.codes, stored.codes[rows:rows + tile.shape[0]])
        np.testing.assert_array_equal(tile.scales, stored.scales[rows:rows + tile.shape[0]])
        rows += tile.shape[0]
    assert rows == plan.n
    # the bit-serial engine weight streams the padding as the code of +0 of each group's grid
    from bitflight.golden import bitserial, formats
    ew = bitserial.engine_weight(stored, bitserial.DEFAULT.lanes)
    assert ew.codes.shape == (plan.n, plan.groups * 128) and ew.k_in == plan.k
    zero = np.array([formats.get(f).encode([0.0])[0] for f in stored.formats])
    np.testing.assert_array_equal(ew.codes[:, plan.k:],
                                  np.repeat(zero[stored.dtype_ids[:, -1]][:, None],
                                            plan.groups * 128 - plan.k, axis=1))


@pytest.mark.parametrize("policy_name", ["bitmod-w4", "bitmod-w3"])
def test_isa_simulator_logits_identical_to_golden(source, policy_name):
    policy = load_policy(policy_name)
    target = tg.build_target(source.graph, config.load("tiny"), policy, source.weights,
                             max_pos=MAX_LEN)
    store, _ = build.compile_buckets(target, MAX_LEN, check=True, prefill_step=16,
                                     only=["prefill:16", "decode:16"])
    sess = Session(target, store, MAX_LEN)
    golden = accelerator_model(source.golden, policy)
    ids = torch.randint(0, 256, (9,), generator=torch.Generator().manual_seed(3))
    result = greedy_lockstep(sess, golden, ids, 3)
    assert result.identical, f"logits differ from golden: {result.first_diff}"
    assert sess.machine.counters.instructions["MM"] > 0


def test_bitmod_tiles_have_their_codes_at_a_wgt_row(source):
    """With WGT rows of 8 lines every BITMOD product's tile starts a row and its sections are
    at multiples of a row's 128 bytes, so each starts one (the engine's readers need that); the
    ISA simulator still matches the golden model."""
    cfg = config.load("tiny")
    cfg = cfg.model_copy(update={"bitmod": cfg.bitmod.model_copy(update={"sram_banks": 8})})
    target = tg.build_target(source.graph, cfg, load_policy("bitmod-w4"), source.weights,
                             max_pos=MAX_LEN)
    store, _ = build.compile_buckets(target, MAX_LEN, check=True, prefill_step=16,
                                     only=["prefill:16", "decode:16"])
    products = [i for b in store.programs for i in encoding.decode_program(
        store.program_file(b)) if i.kind in ("MM", "MV") and i["engine"] == isa.Engine.BITMOD]
    assert products and all(i["b_addr"] % 8 == 0 for i in products)
    sess = Session(target, store, MAX_LEN)
    golden = accelerator_model(source.golden, load_policy("bitmod-w4"))
    ids = torch.randint(0, 256, (5,), generator=torch.Generator().manual_seed(4))
    assert greedy_lockstep(sess, golden, ids, 2).identical
