"""A model bound to a hardware config and a policy: plans, tiles, the HBM address map and (when
weights are given) the memory image. Everything here is shared by all bucket programs.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..base.errors import ModelError
from ..golden.policy import check_engine_groups
from .ir import CompileError, Graph, weight_roles
from .isa import DType, Engine
from .passes.formats import FormatPolicy, LinearPlan
from .passes.memory import ALIGN, HbmMap, HbmRegion
from .passes.packing import WeightPacking, array_layout
from .passes.tiling import Tiling


@dataclass
class Layout:
    hbm: HbmMap
    regions: dict[str, HbmRegion]
    scratch: list[HbmRegion]
    kv_dtype: DType
    # embedding table -> its column slices (region, first column, columns); see place_embedding
    embed: dict[str, list[tuple[HbmRegion, int, int]]] = field(default_factory=dict)
    # logits row blocks (region, first row, rows); see place_logits
    logits: list[tuple[HbmRegion, int, int]] = field(default_factory=list)


@dataclass
class Target:
    graph: Graph
    cfg: object
    policy: object
    max_pos: int
    max_prefill: int
    plans: dict[str, LinearPlan]
    tiling: Tiling
    tiles: dict[str, list[tuple[HbmRegion, int]]]
    layout: Layout
    blobs: dict[str, bytes] = field(default_factory=dict)     # region name -> bytes to place

    def image(self) -> dict[int, bytes]:
        """The memory image: per channel the bytes of every placed region (zeros elsewhere)."""
        hbm = self.layout.hbm
        out = {ch: bytearray(hbm.used[ch]) for ch in range(hbm.channels) if hbm.used[ch]}
        for name, data in self.blobs.items():
            r = self.layout.regions[name]
            out[r.channel][r.addr:r.addr + len(data)] = data
        return {ch: bytes(b) for ch, b in out.items()}


def _scratch_bytes(dims, tokens: int) -> int:
    """Upper bound of the prefill activations alive at once: the residual stream, a norm output,
    the attention q/k/v/rope/output rows, and the MLP's gate, up and product rows."""
    cols = 3 * dims.hidden + 3 * dims.q_dim + 2 * dims.kv_dim + 3 * dims.intermediate
    return 2 * tokens * cols + 64 * 64


def rope_table(dims, max_pos: int) -> bytes:
    """fp16 rows [max_pos, head_dim]: cos of the head_dim/2 frequencies, then their sin; host
    constants from ``golden.ops.rope_table`` (float64 math rounded once to fp16), the same rows
    the golden accelerator model uses."""
    from ..golden.llm.rope_scaling import inverse_frequencies
    from ..golden.ops import rope_table as rt
    inv_freq = inverse_frequencies(dims.head_dim, dims.rope_theta, dims.rope_scaling)
    rows = rt.table_rows(range(max_pos), inv_freq)
    return rows.astype("<f2").tobytes()


def build_target(graph: Graph, cfg, policy, weights: dict[str, torch.Tensor] | None = None,
                 max_pos: int | None = None, max_prefill: int | None = None) -> Target:
    """Plan formats and tiles, pack weights (if given) and lay out HBM."""
    dims = graph.dims
    max_pos = max_pos or dims.max_position
    max_prefill = max_prefill or max_pos
    if max_pos > dims.max_position:
        raise CompileError(f"--max-len {max_pos} exceeds the model's max_position "
                           f"{dims.max_position}")
    if getattr(cfg, policy.engine) is None:
        raise CompileError(f"policy '{policy.name}' needs the {policy.engine} engine, which "
                           f"config '{cfg.name}' does not have")
    plans = FormatPolicy(policy).run(graph)
    if cfg.bitmod is not None:
        layout = array_layout(cfg)
        plans = {name: replace(p, layout=layout) if p.engine == Engine.BITMOD else p
                 for name, p in plans.items()}
    check_engine_groups(policy, ((p.name, p.k) for p in plans.values()), cfg)
    tiling = Tiling.from_config(cfg)
    mem = cfg.memory
    hbm = HbmMap(mem.channels, int(mem.capacity_gb * 1e9) // mem.channels)
    kv_dtype = DType.FP16 if policy.kv_cache == "fp16" else DType.INT8
    blobs: dict[str, bytes] = {}
    total = _scratch_bytes(dims, max_prefill)
    largest = 2 * max_prefill * max(dims.hidden, dims.q_dim, dims.intermediate) + 4096
    chunk = max(largest, -(-total // mem.channels))
    scratch = [hbm.alloc(f"scratch.{i}", chunk) for i in range(-(-total // chunk))]
    regions = {"input": hbm.alloc("input", 4 * max_prefill)}       # uint32 token ids
    logits = place_logits(hbm, dims.vocab, max_prefill)
    regions["rope"] = hbm.alloc("rope", 2 * max_pos * dims.head_dim)
    if weights is not None:
        blobs["rope"] = rope_table(dims, max_pos)
    eb = 2 if kv_dtype == DType.FP16 else 1
    for layer in range(dims.layers):
        for which in ("k", "v"):
            name = f"kv.{layer}.{which}"
            regions[name] = hbm.alloc(name, eb * max_pos * dims.kv_dim, layer=layer,
                                      role=f"kv.{which}")
            if kv_dtype == DType.INT8:
                regions[name + ".scale"] = hbm.alloc(name + ".scale",
                                                     4 * max_pos * dims.kv_heads, layer=layer,
                                                     role=f"kv.{which}.scale")
    layer_of, role_of = weight_roles(graph)
    packer = WeightPacking(policy.engine)
    tiles: dict[str, list[tuple[HbmRegion, int]]] = {}
    for index, (name, plan) in enumerate(plans.items()):
        rows = tiling.weight_rows(plan)
        if weights is not None:
            data = packer.run(plan, weights[name], rows)
        else:
            data = [None] * -(-plan.n // rows)
        tiles[name] = []
        for j, blob in enumerate(data):
            n_rows = min(rows, plan.n - j * rows)
            size = len(blob) if blob is not None else plan.packed_bytes(n_rows)
            region = hbm.alloc(f"{name}#{j}", size, channel=(index + j) % mem.channels,
                               layer=layer_of[name], role=f"{role_of[name]}#{j}")
            tiles[name].append((region, n_rows))
            if blob is not None:
                blobs[region.name] = blob
    for op in graph.ops:
        if op.kind == "rmsnorm":
            regions[op.weight] = hbm.alloc(op.weight, 2 * dims.hidden + 4, layer=op.layer,
                                           role=role_of[op.weight])
            if weights is not None:
                blobs[op.weight] = (weights[op.weight].to(torch.float16).numpy().tobytes()
                                    + np.float32(op.attrs["eps"]).tobytes())
    embed = {}
    for op in graph.ops:
        if op.kind == "embedding":           # fp16 rows, read by the gather LD
            embed[op.weight] = place_embedding(hbm, op.weight, dims.vocab, dims.hidden)
            if weights is not None:
                table = weights[op.weight].to(torch.float16)
                for region, c0, cols in embed[op.weight]:
                    blobs[region.name] = np.ascontiguousarray(
                        table[:, c0:c0 + cols].numpy()).tobytes()
    layout = Layout(hbm, {**hbm.regions, **regions}, scratch, kv_dtype, embed, logits)
    return Target(graph, cfg, policy, max_pos, max_prefill, plans, tiling, tiles, layout, blobs)


def place_embedding(hbm: HbmMap, name: str, vocab: int, hidden: int
                    ) -> list[tuple[HbmRegion, int, int]]:
    """Place the fp16 ``[vocab, hidden]`` table as the fewest column slices that fit the free
    space of the channels: slice ``j`` holds columns ``c0..c0+cols`` of every row, row-major.

    Columns, not rows, because a gather LD reads one channel and its ids are data: with a row
    split, no single LD could serve an id whose row lives in another channel. With a column split
    every channel holds every row, so one gather LD per slice (same ids) fetches that slice of
    each token's row, and slice widths are whole on-chip lines so the slices land side by side.
    One slice (the region named ``name``) when the table fits a channel."""
    eb, line_cols = 2, 8                       # fp16; 8 columns = one 16-byte on-chip line
    for parts in range(1, -(-hidden // line_cols) + 1):
        cols = -(-hidden // parts)
        cols = -(-cols // line_cols) * line_cols
        widths = [min(cols, hidden - c0) for c0 in range(0, hidden, cols)]
        free = sorted((hbm.channel_bytes - u for u in hbm.used), reverse=True)
        need = sorted((eb * vocab * w for w in widths), reverse=True)
        if len(need) <= len(free) and all(n <= f - ALIGN for n, f in zip(need, free)):
            break
    else:
        raise CompileError(f"embedding '{name}' ({eb * vocab * hidden} bytes) does not fit the "
                           f"free space of the {hbm.channels} HBM channels")
    if len(widths) == 1:
        return [(hbm.alloc(name, eb * vocab * hidden), 0, hidden)]
    return [(hbm.alloc(f"{name}[:,{c0}:{c0 + w}]", eb * vocab * w), c0, w)
            for c0, w in zip(range(0, hidden, cols), widths)]


LOGIT_BLOCK_ROWS = 128     # a multiple of every prefill chunk (build.PREFILL_STEP and divisors)


def place_logits(hbm: HbmMap, vocab: int, rows: int) -> list[tuple[HbmRegion, int, int]]:
    """fp16 logits rows ``[rows, vocab]`` of the largest prefill bucket: one region ``logits``
    when they fit a channel, else blocks ``logits.i``, each as many multiples of
    :data:`LOGIT_BLOCK_ROWS` rows as the freest channel holds (a prefill chunk's rows stay in
    one block)."""
    row_bytes = 2 * vocab
    if rows * row_bytes <= hbm.channel_bytes - min(hbm.used):
        return [(hbm.alloc("logits", rows * row_bytes), 0, rows)]
    blocks: list[tuple[HbmRegion, int, int]] = []
    r0 = 0
    while r0 < rows:
        free = hbm.channel_bytes - min(hbm.used)
        n = min(rows - r0, free // row_bytes // LOGIT_BLOCK_ROWS * LOGIT_BLOCK_ROWS)
        if n == 0:
            raise CompileError(f"logits of {rows} prefill rows x {vocab} fp16 do not fit the "
                               f"free HBM (rows {r0}..{rows} left); use a smaller --max-len")
        blocks.append((hbm.alloc(f"logits.{len(blocks)}", n * row_bytes), r0, n))
        r0 += n
    return blocks


def logits_block(layout: Layout, row0: int, rows: int) -> tuple[HbmRegion, int]:
    """(region, byte address of row ``row0``) of logits rows ``row0..row0+rows``."""
    for region, r0, n in layout.logits:
        if r0 <= row0 < r0 + n:
            if row0 + rows > r0 + n:
                raise CompileError(f"prefill chunk rows {row0}..{row0 + rows} straddle logits "
                                   f"block '{region.name}' (rows {r0}..{r0 + n})")
            return region, region.addr + (row0 - r0) * region.size // n
    raise CompileError(f"logits row {row0} is beyond the largest prefill bucket")


def logits_spans(layout: Layout, rows: int) -> list[tuple[int, int, int]]:
    """(channel, start, end) HBM byte spans holding logits rows ``0..rows`` in order."""
    spans = []
    for region, r0, n in layout.logits:
        if r0 < rows:
            take = min(n, rows - r0)
            spans.append((region.channel, region.addr, region.addr + take * region.size // n))
    return spans


def input_ids(target: Target, ids: torch.Tensor) -> bytes:
    """What the host writes into the input region: the step's token ids as little-endian uint32
    (the program's gather LD looks up their embedding rows)."""
    ids = ids.long().reshape(-1)
    vocab = target.graph.dims.vocab
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab):
        raise ModelError(f"token id out of range 0..{vocab - 1}")
    return np.ascontiguousarray(ids.numpy().astype("<u4")).tobytes()
