"""Compiler passes, each checked before/after: format policy, weight packing, tiling, memory
planning, code generation (on-chip decode), and the llama_ir builder against the front end."""
from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from bitflight.base import config
from bitflight.compiler import build, isa, llama_ir, models, target as tg
from bitflight.compiler.ir import CompileError
from bitflight.golden.llm.config import LlamaConfig
from bitflight.compiler.isa import Buf, DType, Engine
from bitflight.compiler.passes.formats import FormatPolicy
from bitflight.compiler.passes.memory import Arena, HbmMap
from bitflight.compiler.passes.packing import WeightPacking, prepare, unpack_tile
from bitflight.compiler.passes.tiling import Tiling
from bitflight.golden.policy import load_policy

DIMS = LlamaConfig(name="t", layers=2, hidden=64, heads=4, kv_heads=2, head_dim=16,
                   intermediate=128, vocab=256, max_position=512, rope_theta=1e4, norm_eps=1e-6)


@pytest.fixture(scope="module")
def tiny():
    return models.load("tiny-golden")


def test_format_policy_before_after():
    graph = llama_ir.build(DIMS)
    assert all("engine" not in op.attrs for op in graph.ops)          # before: shapes only
    plans = FormatPolicy(load_policy("flightllm")).run(graph)
    assert plans["model.layers.0.mlp.up_proj"].engine == Engine.SPARSE
    assert plans["model.layers.1.self_attn.q_proj"].engine == Engine.DENSE
    assert plans["model.layers.1.self_attn.q_proj"].b_dt == DType.INT4
    assert plans["lm_head"].b_dt == DType.INT8
    assert {p.a_dt for p in plans.values()} == {DType.INT8}
    plans = FormatPolicy(load_policy("bitmod-w3")).run(graph)
    assert {(p.engine, p.a_dt, p.b_dt) for p in plans.values()} == {
        (Engine.BITMOD, DType.FP16, DType.BM3)}


def test_format_policy_pads_bitmod_partial_groups_and_rejects_int_ones(tmp_path):
    dims = LlamaConfig(name="odd", layers=1, hidden=96, heads=4, kv_heads=2, head_dim=24,
                       intermediate=128, vocab=256, max_position=512, rope_theta=1e4,
                       norm_eps=1e-6)
    plans = FormatPolicy(load_policy("bitmod-w4")).run(llama_ir.build(dims))
    q = plans["model.layers.0.self_attn.q_proj"]
    assert (q.k, q.group, q.groups) == (96, 128, 1)            # one group, 32 columns of padding
    # the packed size counts the padded group: header, 16 rows x 64 B of codes, 16 x 2-bit ids
    # (4 B, aligned to 8) and 16 x 2 B of fp16 scales
    assert q.packed_bytes(16) == 64 + 16 * 64 + 8 + 16 * 2
    p = tmp_path / "int.yaml"
    p.write_text("name: g\nengine: csd\nactivations: int8\nkv_cache: int8\n"
                 "default: {scheme: int_sym, bits: 4, group_size: 64}\n")
    with pytest.raises(CompileError, match=r"linear 'model.layers.0.self_attn.q_proj': K=96 is "
                       "not a whole number of groups of 64 \\(the INT engine"):
        FormatPolicy(load_policy(p)).run(llama_ir.build(dims))


@pytest.mark.parametrize("policy_name, layer", [("bitmod-w4", "model.layers.0.mlp.up_proj"),
                                                ("flightllm", "model.layers.0.mlp.up_proj"),
                                                ("flightllm", "lm_head")])
def test_packing_tiles_are_row_slices_of_the_golden_weight(tiny, policy_name, layer):
    policy = load_policy(policy_name)
    plan = FormatPolicy(policy).run(tiny.graph)[layer]
    tiles = WeightPacking(policy.engine).run(plan, tiny.weights[layer], 48)
    whole = prepare(plan, tiny.weights[layer], policy.engine)
    dense = whole.to_dense() if hasattr(whole, "block_n") else whole.dequantize()
    rows = 0
    for blob in tiles:
        tile = unpack_tile(blob + bytes(-len(blob) % 16), plan.engine, plan.b_dt, 0, plan.k)
        part = tile.to_dense() if hasattr(tile, "block_n") else tile.dequantize()
        assert torch.equal(part, dense[rows:rows + part.shape[0]])
        rows += part.shape[0]
    assert rows == plan.n and len(tiles) == -(-plan.n // 48)


@pytest.mark.parametrize("cfg_name", ["tiny", "bitmod-asic"])
def test_bitmod_tiles_take_the_arrays_layout(tiny, cfg_name):
    """BitMoD tiles are golden.quant's version 2 in blocks of the lcm of the config's array rows
    (tiny: 2 and 4; bitmod-asic: 32 and 64) and chunks of its lanes, the last block stored
    whole; tiles are whole blocks except a layer's last; their planned size is their size; the
    CSD engine's tiles stay version 1."""
    cfg = config.load(cfg_name)
    rows = (cfg.bitmod.prefill_array.rows, cfg.bitmod.decode_array.rows)
    block = {"tiny": 4, "bitmod-asic": 64}[cfg_name]
    assert rows == {"tiny": (2, 4), "bitmod-asic": (32, 64)}[cfg_name]
    target = tg.build_target(tiny.graph, cfg, load_policy("bitmod-w4"), tiny.weights,
                             max_pos=32)
    for name, plan in target.plans.items():
        assert plan.layout == (block, cfg.bitmod.lanes, True, 16 * cfg.bitmod.sram_banks)
        for i, (region, n_rows) in enumerate(target.tiles[name]):
            blob = target.blobs[region.name]
            version, = struct.unpack_from("<H", blob, 4)
            a = (cfg.bitmod.sram_banks * 2).bit_length() - 1      # rows of 16 x banks bytes
            assert (version, *struct.unpack_from("<HH", blob, 60), blob[11]) == \
                (2, block, 4, 1 | a << 4)
            offsets = struct.unpack_from("<5I", blob, 32)
            assert all(o % (16 * cfg.bitmod.sram_banks) == 0 for o in offsets[:4])
            assert len(blob) == plan.packed_bytes(n_rows)
            assert n_rows % block == 0 or i == len(target.tiles[name]) - 1
    flight = tg.build_target(tiny.graph, config.load("tiny"), load_policy("flightllm"),
                             tiny.weights, max_pos=32)
    dense = [p for p in flight.plans.values() if p.engine == Engine.DENSE]
    assert dense and all(p.layout == (1, None, False, 8) for p in dense)
    blob = flight.blobs[flight.tiles[dense[0].name][0][0].name]
    assert struct.unpack_from("<H", blob, 4) == (1,)


def test_tiling_fits_buffers():
    cfg = config.load("tiny")
    tiling = Tiling.from_config(cfg)
    plan = FormatPolicy(load_policy("flightllm")).run(llama_ir.build(DIMS))["lm_head"]
    rows = tiling.weight_rows(plan)
    assert rows % 16 == 0 and plan.packed_bytes(rows) <= tiling.weight_bytes // 2
    # a matrix that fits one tile is split in two (so the second tile loads under the first);
    # otherwise the tile is the largest that fits half the buffer
    assert rows == -(-plan.n // 32) * 16 or plan.packed_bytes(rows + 16) > tiling.weight_bytes // 2
    assert -(-plan.n // rows) >= 2
    r = tiling.token_rows(128, plan.k, rows, "lm_head")
    assert r * plan.k * 3 <= tiling.act_bytes and r * rows * 2 <= tiling.out_bytes // 2
    with pytest.raises(CompileError, match=r"attention: K/V rows of one head \(4096 x 128\) "
                       "do not fit the weight buffer"):
        tiling.check_kv(4096, 128, 2, "attention")


def test_arena_first_fit_and_coalescing():
    arena = Arena(Buf.ACT, 1024)
    a, b, c = (arena.alloc(n, "x") for n in (100, 200, 50))
    assert (a, b, c) == (0, 7, 20)                 # lines of 16 bytes
    arena.release(b)
    assert arena.alloc(64, "y") == 7               # first fit reuses the hole
    for line in list(arena.live):
        arena.release(line)
    assert arena.free == [(0, 64)]                 # back to one free block
    with pytest.raises(CompileError, match="buffer ACT"):
        arena.alloc(2048, "too big")


def test_arena_alignment():
    """``align=(modulus, residue)``: the first free line with that residue, the lines skipped
    stay free."""
    arena = Arena(Buf.WGT, 1024)
    assert arena.alloc(16, "x") == 0
    assert arena.alloc(32, "tile", align=(8, 4)) == 4          # lines 4, 5
    assert arena.free == [(1, 3), (6, 58)]
    assert arena.alloc(16, "y", align=(8, 4)) == 12
    assert arena.alloc(16, "z") == 1                            # the gap before stays usable
    arena.release(4)
    assert arena.alloc(16, "w", align=(8, 5)) == 5
    with pytest.raises(CompileError, match="buffer WGT"):
        arena.alloc(1024, "too big", align=(8, 4))


def test_hbm_map_spreads_and_rejects_overflow():
    hbm = HbmMap(4, 1000)
    regions = [hbm.alloc(f"r{i}", 300) for i in range(4)]
    assert sorted(r.channel for r in regions) == [0, 1, 2, 3]
    with pytest.raises(CompileError, match="HBM channel 2 is full"):
        hbm.alloc("big", 800, channel=2)


def _st_targets(target, instrs):
    names = []
    for instr in instrs:
        if instr.kind == "ST":
            for r in target.layout.hbm.regions.values():
                if r.channel == instr["channel"] and r.addr <= instr["hbm_addr"] < r.addr + r.size:
                    names.append(r.name.split(".")[0])
    return set(names)


def test_decode_keeps_activations_on_chip(tiny):
    target = tg.build_target(tiny.graph, config.load("tiny"), load_policy("bitmod-w4"),
                             tiny.weights, max_pos=64)
    decode = [i for _, seg in build.compile_step(target, "decode", 1, 32) for i in seg]
    prefill = [i for _, seg in build.compile_step(target, "prefill", 16, 16) for i in seg]
    assert _st_targets(target, decode) == {"kv", "logits"}          # no activation spills
    assert "scratch" in _st_targets(target, prefill)                # prefill streams via HBM
    assert {i.kind for i in decode} >= {"MV"} and "MM" not in {i.kind for i in decode}
    assert "MV" not in {i.kind for i in prefill}


def test_llama_ir_matches_the_torch_export_front_end(tiny_graph):
    built = llama_ir.build(tiny_graph.dims)
    assert [(op.kind, op.weight) for op in built.ops] == [
        (op.kind, op.weight) for op in tiny_graph.ops]
    for a, b in zip(built.ops, tiny_graph.ops):
        assert {k: v for k, v in a.attrs.items() if k != "eps"} == {
            k: v for k, v in b.attrs.items() if k != "eps"}


def test_buckets_and_sharing(tiny):
    assert [b[0] for b in build.buckets(300)][:4] == ["prefill:128", "prefill:256",
                                                      "prefill:300", "decode:16"]
    assert build.bucket_for("decode", 17, 300) == "decode:32"
    assert build.bucket_for("prefill", 129, 300) == "prefill:256"
    with pytest.raises(ValueError, match="outside 1..300"):
        build.bucket_for("decode", 301, 300)
    target = tg.build_target(tiny.graph, config.load("tiny"), load_policy("flightllm"), None,
                             max_pos=128)
    store, _ = build.compile_buckets(target, 128, only=["decode:16", "decode:32", "decode:48"])
    shared = set(store.programs["decode:16"]) & set(store.programs["decode:48"])
    labels = {store.labels[i] for i in shared}
    assert "decode:L0.pre" in labels and "decode:L1.post" in labels
    assert not any(".attn" in lbl for lbl in labels)                # attention depends on S
    assert store.store_bytes < sum(len(store.program_words(b)) for b in store.programs)


def test_fast_decode_reuse_equals_fully_checked_compile():
    """compile_buckets takes a decode bucket's length-independent segments from the first decode
    bucket; compiling every bucket fully (and proving its tokens) gives the same store."""
    src = models.load("tiny-golden:4", weights=False)
    target = tg.build_target(src.graph, config.load("tiny"), load_policy("flightllm"), None,
                             max_pos=96)
    fast, _ = build.compile_buckets(target, 96, prefill_step=32)
    full, _ = build.compile_buckets(target, 96, prefill_step=32, check=True)
    assert fast.segments == full.segments and fast.programs == full.programs
