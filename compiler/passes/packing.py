"""Weight packing pass: quantize (or prune) a layer exactly as the golden accelerator numerics do,
cut it into row tiles and pack each tile with the golden packed layouts.

* quantization: ``golden.llm.accel.prepare_weight`` (the same call the golden model makes), so the
  tiles hold the golden model's codes and scales bit for bit;
* packed layouts: ``QuantizedWeight.pack`` (golden.quant) and ``golden.sparse.pack``; fp16 weights
  as raw little-endian fp16 rows.

A tile is a row slice: output rows are independent in every engine, so slicing rows of the
quantized matrix (codes, datatype ids and scales alike) loses nothing. Tiles hold full K: when the
group does not divide K (BitMoD groups of 128 on SmolLM2's 576) each row's last group is stored
zero-padded, as the code of 0 (golden.quant's layout), and the engine streams it whole.
BitMoD tiles use golden.quant's version 2 layout with the arrays' rows and lanes, the last block
stored whole (:func:`array_layout`), so the engine reads a beat of all its rows as one aligned
slice of a WGT row (rtl/top/bitmod/beat.py); the lowering places each tile so that its codes
start a WGT row (:func:`wgt_row_lines`).
:func:`unpack_tile` is the inverse the ISA simulator uses.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch

from ..isa import LINE_BYTES, DType, Engine
from .formats import LinearPlan


def prepare(plan: LinearPlan, weight: torch.Tensor, engine: str):
    """The golden stored form of one layer (QuantizedWeight, INT NMSparse or fp16 tensor)."""
    from ...golden.llm.accel import prepare_weight
    stored = prepare_weight(weight, plan.spec, engine)
    return stored[0] if isinstance(stored, tuple) else stored


def slice_rows(stored, r0: int, r1: int):
    """Rows [r0, r1) of a stored weight, in the same golden container type."""
    if isinstance(stored, torch.Tensor):
        return stored[r0:r1]
    if hasattr(stored, "block_n"):                       # golden.sparse.NMSparse
        from ...golden.sparse import NMSparse
        b = stored.block
        if r0 % b or (r1 % b and r1 != stored.shape[0]):
            raise ValueError(f"N:M tiles must start and end on {b}-row blocks, got {r0}..{r1}")
        return NMSparse(stored.values[r0:r1], stored.indices[r0:r1],
                        stored.block_n[r0 // b:-(-r1 // b)], stored.m, stored.block, stored.bits,
                        None if stored.scales is None else stored.scales[r0:r1])

    def cut(a):
        return None if a is None else np.ascontiguousarray(a[r0:r1])
    return replace(stored, shape=(r1 - r0, stored.shape[1]), codes=cut(stored.codes),
                   dtype_ids=cut(stored.dtype_ids), scales=cut(stored.scales),
                   int_scales=cut(stored.int_scales), row_scales=cut(stored.row_scales),
                   zero_points=cut(stored.zero_points))


def array_layout(cfg) -> tuple[int, int, bool, int]:
    """(block, chunk, full, align) of the packed layout the config's BitMoD arrays read a beat
    of as one field (golden.quant.packing, version 2): blocks of the least common multiple of
    the arrays' rows (every array's row tiles then fall inside one block), chunks of ``lanes``
    columns, the last block stored whole (every beat stride is then ``B x lanes x b`` bits), and
    every section at a multiple of a WGT row's bytes (:func:`wgt_row_lines` lines)."""
    b = cfg.bitmod
    return (math.lcm(b.prefill_array.rows, b.decode_array.rows), b.lanes, True,
            b.sram_banks * LINE_BYTES)


def wgt_row_lines(cfg) -> int:
    """Lines of a WGT row (``bitmod.sram_banks``): a BitMoD tile starts at a multiple, so each
    of its sections starts a row."""
    return cfg.bitmod.sram_banks


def pack_tile(tile, layout: tuple = (1, None, False, 8)) -> bytes:
    """A tile's bytes; quantized tiles in ``layout`` (block, chunk, full, align; chunk None:
    the group)."""
    if isinstance(tile, torch.Tensor):
        return tile.to(torch.float16).contiguous().numpy().tobytes()
    if hasattr(tile, "block_n"):
        from ...golden import sparse
        return sparse.pack(tile)
    return tile.pack(*layout)


def unpack_tile(data: bytes, engine: int, b_dt: int, n: int, k: int):
    """Inverse of :func:`pack_tile` for an MM's B operand (engine mode and type from the MM)."""
    if b_dt == DType.FP16:
        return torch.from_numpy(np.frombuffer(data, dtype=np.float16, count=n * k)
                                .reshape(n, k).copy())
    if engine == Engine.SPARSE:
        from ...golden import sparse
        unpack = sparse.unpack
    else:
        from ...golden.quant import QuantizedWeight
        unpack = QuantizedWeight.unpack
    # tiles are padded to whole 16-byte lines in the buffer; the golden unpackers insist on the
    # exact length, which is the only one (of the last 16) they accept
    for trim in range(0, min(16, len(data))):
        try:
            return unpack(data[:len(data) - trim])
        except ValueError as exc:
            error = exc
    raise ValueError(f"B operand is not a packed weight tile: {error}")


class WeightPacking:
    """The pass object: ``WeightPacking(engine).run(plan, weight, rows) -> [tile bytes]``, each
    tile in the plan's layout."""

    def __init__(self, engine: str) -> None:
        self.engine = engine

    def run(self, plan: LinearPlan, weight: torch.Tensor, rows: int) -> list[bytes]:
        if tuple(weight.shape) != (plan.n, plan.k):
            raise ValueError(f"weight '{plan.name}': shape {tuple(weight.shape)} is not "
                             f"{(plan.n, plan.k)}")
        stored = prepare(plan, weight, self.engine)
        return [pack_tile(slice_rows(stored, r0, min(r0 + rows, plan.n)), plan.layout)
                for r0 in range(0, plan.n, rows)]
