"""Regression: N:M weight tiles whose packed size differs from layer to layer.

A density-pruned matrix (flightllm policy, ``density: 0.5``) gets its per-block N allocated over
the whole matrix (golden.sparse.prune), so the whole matrix always packs to the same size but its
row tiles do not: since the tiling pass splits one-tile matrices in two, layer k's halves can be
larger or smaller than layer 1's. Layer replay (compiler/relocate.py) copied layer 1's LD lengths
and MM ``b_lines`` into such layers, and SmolLM2 failed in prefill with "B operand is not a packed
weight tile". Here the tiny GQA model's layer 2 gate_proj gets a heavier first half, so its tiles
differ from layer 1's; layer 2 must be lowered on its own (layer 3 still replays) and the ISA
simulator must stay bit-exact with golden.
"""
from __future__ import annotations

from bisect import bisect_right

import pytest
import torch

from bitflight.base import config
from bitflight.compiler import build, models, target as tg
from bitflight.compiler.isa import Buf
from bitflight.compiler.lower import segments
from bitflight.golden.llm.accel import accelerator_model
from bitflight.golden.policy import load_policy
from bitflight.sim.isa.runtime import Session

MAX_LEN = 64
GATE = "model.layers.{}.mlp.gate_proj"


@pytest.fixture(scope="module")
def skewed():
    """4-layer tiny model (fresh: its weights are edited) and its flightllm target."""
    deep = models.load("tiny-golden:4")
    w = deep.golden.weights[GATE.format(2) + ".weight"]
    assert w is deep.weights[GATE.format(2)]      # one tensor feeds compiler and golden
    with torch.no_grad():
        w[: w.shape[0] // 2] *= 4.0               # the allocation moves N into the first half
    policy = load_policy("flightllm")
    target = tg.build_target(deep.graph, config.load("tiny"), policy, deep.weights,
                             max_pos=MAX_LEN)
    return deep, policy, target


def _sizes(target, layer):
    return [region.size for region, _ in target.tiles[GATE.format(layer)]]


def test_split_nm_tiles_differ_between_layers(skewed):
    _, _, target = skewed
    one, two, three = (_sizes(target, layer) for layer in (1, 2, 3))
    assert len(one) == 2 and one != two and two[0] > two[1]
    assert one == three


def test_layers_with_other_tile_sizes_are_lowered_not_replayed(skewed):
    deep, _, target = skewed
    replayed = [lbl for lbl, _, rep in segments(build.Step(deep.graph, target, "prefill", 16, 16))
                if rep is not None]
    assert replayed == ["prefill:L3.pre", "prefill:L3.attn", "prefill:L3.post"]


def test_weight_loads_use_the_real_tile_size_and_logits_stay_exact(skewed):
    deep, policy, target = skewed
    store, _ = build.compile_buckets(target, MAX_LEN, check=True, prefill_step=16,
                                     only=["prefill:16", "decode:16"])
    sess = Session(target, store, MAX_LEN)
    regions = sorted(target.layout.regions.values(), key=lambda r: (r.channel, r.addr))
    keys = [(r.channel, r.addr) for r in regions]
    loads = 0
    for bucket in ("prefill:16", "decode:16"):
        for instr in sess._program(bucket):
            if instr.kind == "LD" and instr["buf"] == Buf.WGT:
                region = regions[bisect_right(keys, (instr["channel"], instr["hbm_addr"])) - 1]
                if "#" in region.name:            # a packed weight tile, loaded whole
                    assert (instr["hbm_addr"], instr["length"]) == (region.addr, region.size), \
                        region.name
                    loads += 1
    assert loads > 0
    golden = accelerator_model(deep.golden, policy)
    ids = torch.arange(5, 14)
    want, cache = golden.prefill(ids[None])
    assert torch.equal(sess.prefill(ids), want[0].float())
    assert torch.equal(sess.decode(7), golden.decode(torch.tensor([7]), cache)[0].float())
