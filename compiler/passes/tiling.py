"""Tiling pass: tile sizes from the config's buffer sizes and engine array shape.

* Weight tiles (rows of W, full K): the largest multiple of the engine's output granule (16 rows,
  the N:M block and a multiple of every array's row count used here; for a BitMoD tile of full
  blocks, also a multiple of its block, so only a layer's last tile pads) whose packed size fits half
  of the weight buffer, so the next tile can load while the current one computes (double
  buffering); capped so that one token's result tile fits a quarter of the output buffer. A
  matrix that would fit in one tile is split in two (when it has two granules): with a single
  tile nothing loads under the engine's work, and the whole load is exposed.
  Full-K tiles mean no partial sums cross instructions: every engine's accumulation stays inside
  one MM, exactly as the golden linear computes it.
* Row tiles (tokens per MM in prefill): the largest power of two such that the activation tile
  (fp16 and its INT8 copy) fits the activation buffer and the result tile half the output
  buffer.
* Attention: one KV head's K (then V) rows ``[S, head_dim]`` must fit the weight buffer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..ir import CompileError
from .formats import LinearPlan

GRANULE = 16


@dataclass(frozen=True)
class Tiling:
    weight_bytes: int
    act_bytes: int
    out_bytes: int
    array_rows: int           # outputs per engine pass (prefill array rows / CSD VPUs)
    array_cols: int           # tokens per engine pass

    @classmethod
    def from_config(cls, cfg) -> "Tiling":
        b = cfg.buffers
        if cfg.bitmod is not None:
            rows, cols = cfg.bitmod.prefill_array.rows, cfg.bitmod.prefill_array.cols
        else:
            rows, cols = cfg.csd.vpus_per_mpu, cfg.csd.mpus
        return cls(b.weight_kb * 1024, b.act_kb * 1024, b.output_kb * 1024, rows, cols)

    def weight_rows(self, plan: LinearPlan) -> int:
        """Rows per weight tile (a multiple of the granule, or all rows)."""
        block, _, full, _ = plan.layout
        granule = math.lcm(GRANULE, block) if full else GRANULE
        limit_out = max(granule, (self.out_bytes // 4) // 2 // granule * granule)
        best = 0
        rows = granule
        while rows <= min(plan.n, limit_out) and plan.packed_bytes(rows) <= self.weight_bytes // 2:
            best = rows
            rows += granule if rows < 256 else granule * max(1, 256 // granule)
        if best >= plan.n and plan.n >= 2 * granule:
            best = -(-plan.n // (2 * granule)) * granule     # two tiles, so the slots overlap
        if best == 0:
            if plan.n < granule and plan.packed_bytes(plan.n) <= self.weight_bytes // 2:
                return plan.n
            raise CompileError(f"linear '{plan.name}': one tile of {granule} rows x K={plan.k} "
                               f"({plan.packed_bytes(granule)} bytes) does not fit half the "
                               f"weight buffer ({self.weight_bytes // 2} bytes)")
        return min(best, plan.n)

    def token_rows(self, tokens: int, k: int, n_tile: int, what: str) -> int:
        """Tokens per MM tile for a [tokens, k] x [k, n_tile] product."""
        rows = 1
        while (rows * 2 <= tokens and (rows * 2) * k * 3 <= self.act_bytes
               and (rows * 2) * n_tile * 2 <= self.out_bytes // 2):
            rows *= 2
        if k * 3 > self.act_bytes:
            raise CompileError(f"{what}: one token of K={k} (fp16 and INT8) does not fit the "
                               f"activation buffer ({self.act_bytes} bytes)")
        return rows

    def check_kv(self, s: int, head_dim: int, elem: int, what: str) -> None:
        if s * head_dim * elem > self.weight_bytes:
            raise CompileError(f"{what}: K/V rows of one head ({s} x {head_dim}) do not fit the "
                               f"weight buffer ({self.weight_bytes} bytes)")
