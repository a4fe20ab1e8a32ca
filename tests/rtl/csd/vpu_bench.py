"""Two-stream bench helpers for the VPU (passes + bias in, finished row blocks out)."""
from __future__ import annotations

import numpy as np

from bitflight.rtl.csd import schedule
from bitflight.rtl.csd.accumulator import rows_layout


def vpu_vectors(geo, sp, x, bias):
    """(row blocks, bias beats, pass beats) for schedule.row_block_passes order."""
    blocks = schedule.row_block_passes(geo, sp, x)
    bias_layout = rows_layout(geo).elem_shape
    bias_beats = [bias_layout.const([int(b) for b in bias[br * sp.block:(br + 1) * sp.block]])
                  .as_bits() for _, br, _ in blocks]
    pass_beats = [schedule.chain_payload(geo, p) for _, _, ps in blocks for p in ps]
    return blocks, bias_beats, pass_beats


def vpu_outputs(geo, blocks, outs, shape) -> np.ndarray:
    """Scatter each emitted block back into ``[T, N_out]`` (a token's first lane: a padding lane
    repeating it carries no results after row-packed passes)."""
    got = np.zeros(shape, dtype=np.int64)
    layout = rows_layout(geo)
    for (toks, br, _), bits in zip(blocks, outs, strict=True):
        c = layout.from_bits(bits)
        for lane, t in enumerate(toks):
            if t in toks[:lane]:
                continue
            got[t, br * geo.m:(br + 1) * geo.m] = [c[lane][r] for r in range(geo.m)]
    return got.astype(np.int32)
