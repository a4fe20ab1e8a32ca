"""Absmax grid quantization and the per-group datatype search of the BitMoD artifact.

This reproduces ``quant_datatype`` + ``search_datatype`` of BitMoD-HPCA-25
``bitmod_quant/quant_utils/quant_weight.py`` (docs/references.md#bitmod-1.3) operation for
operation, including
the precision of every step, because the datatype a group picks depends on it:

* the group is cast to fp16; ``scale = absmax / qmax`` is an fp16 division (qmax in integer-scaled
  units, e.g. 12 for an fp4 ER grid), clamped to [1e-5, 1e4] in fp16;
* ``x = w / scale`` is an fp16 division; ``x`` is rounded to the grid by mid-points, an exact tie
  going to the lower level (``Format.round_to_grid``);
* the candidate's dequantized value ``level * scale`` is rounded to fp16 and its error is
  ``mean((deq - w)**2)`` in PyTorch's promoted dtype of (fp16, input dtype): fp16 for fp16
  weights, fp32 for fp32 / bf16 weights; the running best error is kept in the input dtype
  (initial 1e3) and a candidate replaces it only when strictly smaller, so the earlier candidate
  wins ties. For fp16 weights the fp16 MSE makes exact ties common; the artifact resolves them to
  the earlier candidate and so do we.

Zero padding of a partial last group is transparent: 0 is a level of every grid, so a padded
element quantizes to 0 with zero error and only the MSE's constant divisor changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .. import formats as fmts

SCALE_MIN, SCALE_MAX = 1e-5, 1e4      # the artifact's clamp of every per-group scale
INITIAL_ERROR = 1e3                   # the artifact's initial best error


@dataclass
class GridResult:
    """Per-group choice: datatype id, codes and the fp16 scale per integer-scaled unit."""
    ids: np.ndarray           # uint8 [N, ng]
    codes: np.ndarray         # uint16 [N, ng, G]
    unit_scales: np.ndarray   # float16 [N, ng]: real scale x format.unit
    error: torch.Tensor       # best MSE per group, in the input dtype (the artifact's ``error``)


def grid_units(fmt: fmts.Format) -> tuple[float, float]:
    """(qmax, unit) of a format: its max |level| in its integer-scaled units and that unit."""
    unit = fmt.unit if fmt.int_levels is not None else 1.0
    return float(np.max(np.abs(fmt.levels)) / unit), float(unit)


def absmax_scale16(w16: torch.Tensor, qmax: float, rmax: torch.Tensor | None = None
                   ) -> torch.Tensor:
    """fp16 ``clamp(absmax / qmax, 1e-5, 1e4)`` over the last axis (keepdim); ``rmax`` is the
    fp16 absmax when the caller already has it (it is the same for every candidate)."""
    if rmax is None:
        rmax = w16.abs().amax(-1, keepdim=True)
    return (rmax / qmax).clamp(min=SCALE_MIN, max=SCALE_MAX)


@lru_cache(maxsize=None)
def fp16_rounding_table(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``round_to_grid`` of every fp16 bit pattern of ``x`` (integer-scaled units) of a format:
    (codes uint16 [65536], fp16 integer-scaled level [65536]).

    ``x = w / scale`` is an fp16 value in the artifact, so rounding it through this table is
    exactly ``Format.round_to_grid`` on it, at the cost of a gather instead of a search.
    """
    fmt = fmts.get(name)
    _, unit = grid_units(fmt)
    x = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float64)
    codes = fmt.round_to_grid(np.nan_to_num(x, nan=0.0) * unit)
    level16 = (fmt.decode(codes) / unit).astype(np.float16)
    return codes, level16


def quantize_to_grid(w16: torch.Tensor, fmt: fmts.Format, rmax: torch.Tensor | None = None
                     ) -> tuple[np.ndarray, torch.Tensor, torch.Tensor]:
    """The artifact's ``quant_datatype`` for one grid on fp16 groups [..., G]:
    (codes, fp16 scale per integer-scaled level [..., 1], fp16 dequantized ``level * scale``)."""
    qmax, _ = grid_units(fmt)
    scale16 = absmax_scale16(w16, qmax, rmax)
    x_bits = (w16 / scale16).numpy().view(np.uint16)
    code_table, level_table = fp16_rounding_table(fmt.name)
    deq16 = torch.from_numpy(level_table[x_bits]) * scale16
    return code_table[x_bits], scale16, deq16


def search_datatype(w: torch.Tensor, candidates: list[fmts.Format]) -> GridResult:
    """Per-group min-MSE choice among ``candidates`` (list order = datatype id).

    ``w``: float tensor [N, ng, G]; the groups run along the last axis.
    """
    w16 = w.to(torch.float16)
    rmax = w16.abs().amax(-1, keepdim=True)
    error = torch.full(w.shape[:-1], INITIAL_ERROR, dtype=w.dtype)
    best_codes = np.zeros(w.shape, dtype=np.uint16)
    best_scale = np.zeros(w.shape[:-1], dtype=np.float16)
    ids = np.zeros(w.shape[:-1], dtype=np.uint8)
    for dtype_id, fmt in enumerate(candidates):
        codes, scale16, deq16 = quantize_to_grid(w16, fmt, rmax)
        quant_error = (deq16 - w).pow(2).mean(-1)
        update = quant_error < error
        error = torch.where(update, quant_error.to(error.dtype), error)
        upd = update.numpy()
        np.copyto(best_codes, codes, where=upd[..., None])
        np.copyto(best_scale, scale16.squeeze(-1).numpy(), where=upd)
        ids[upd] = dtype_id
    return GridResult(ids, best_codes, best_scale, error)


def round_half_even_int(w16: torch.Tensor, scale16: torch.Tensor, qmin: int,
                        qmax: int) -> torch.Tensor:
    """The artifact's INT rounding: ``clamp(torch.round(w / scale))`` in fp16 (ties to even)."""
    return torch.clamp(torch.round(w16 / scale16), min=qmin, max=qmax)
