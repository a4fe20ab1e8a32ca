"""Second-level scale quantization: the hardware ("int") scale mode (docs/references.md#bitmod-1.4).

Per output row ``s_row = fp16(max(group scales in the row) / (2**8 - 1))`` and per group an 8-bit
unsigned ``q = round(s_g / s_row)``; the scale the hardware applies is ``q * s_row``. Both are in
real units, so ``scales == int_scales * row_scales`` holds exactly (an 8-bit times an 11-bit
significand fits a float32).

Two choices differ from the DEV ``quant_weight_double.py`` description and are deliberate:

* ``q`` is clipped to [1, 255] instead of [0, 255] for groups with a non-zero scale. A group
  whose scale is under half of ``s_row`` would otherwise get scale 0 and lose all its weights;
  ``q = 1`` with re-rounded codes is never worse, because 0 is a level of every grid. A group the
  search left at scale 0 (no candidate beat the artifact's initial error) keeps ``q = 0``.
* ``s_row`` is floored at the smallest fp16 subnormal 2**-24 so that it is never 0.
* The codes are re-rounded with the effective scale ``q * s_row`` (in float64, then the scheme's
  own rounding rule). The datatype choice is the artifact's, made with the fp16 scales. Rounding
  with the scale the PE will actually apply is what minimizes the hardware's error; keeping codes
  rounded for the fp16 scale would make every group's weights off by the scale's rounding error
  ``|q * s_row - s_g| <= s_row / 2``, a relative error of up to 1/(2q). Re-selecting the datatype
  with quantized scales is not done: ``s_row`` depends on every group's choice, so it would
  need a fixed-point iteration and would no longer reproduce the artifact's selection.
"""
from __future__ import annotations

import numpy as np

SCALE_BITS = 8
Q_MAX = (1 << SCALE_BITS) - 1
ROW_MIN = np.float16(2.0 ** -24)


def second_level(real_scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-group real scales [N, ng] -> (uint8 int_scales [N, ng], float16 row_scales [N])."""
    s = np.asarray(real_scales, dtype=np.float64)
    # The floor at the smallest fp16 subnormal keeps a row of tiny scales from a zero row scale.
    row = np.maximum((s.max(axis=-1) / Q_MAX).astype(np.float16), ROW_MIN)
    q = np.clip(np.rint(s / row.astype(np.float64)[:, None]), 1, Q_MAX)
    q = np.where(s > 0, q, 0)
    return q.astype(np.uint8), row


def effective(int_scales: np.ndarray, row_scales: np.ndarray) -> np.ndarray:
    """The scale the hardware applies per group: ``int_scale * row_scale`` (exact in float64)."""
    return int_scales.astype(np.float64) * row_scales.astype(np.float64)[:, None]
