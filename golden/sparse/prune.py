"""N:M magnitude pruning with a fixed, given or density-allocated N per block.

Selection inside one row of one block: the N weights of largest magnitude are kept; among equal
magnitudes the lower in-block index wins (a stable sort on -|w|). Kept pairs are then stored in
ascending index order.

Per-block N for a density target (``allocate_block_n``), a greedy exchange:
every block starts at the smallest allowed N; a *step* raises one block to its next allowed N and
costs ``block * (N_next - N)`` stored weights for a *gain* equal to the magnitude sum (L1) of the
weights it brings back. Steps are taken in order of decreasing gain per stored weight until the
kept fraction reaches the target. Because each row keeps its largest magnitudes first, a block's
gain per weight never increases from one step to its next (sorted top-k sums are concave), so the
greedy order always raises a block through its N values in sequence; ties go to the lower step
(smaller N), then to the lower block index (block-row-major). Allocation stops at the first
prefix of that order whose kept count reaches ``ceil(density * n_out * k)``, so the achieved
density is >= the target and exceeds it by less than one step (fewer than
``block * (max N - second largest N)`` weights). Among all allocations that keep at most as many
weights, the result retains the largest total magnitude: the prefix is also the optimum of the
fractional relaxation at its own cost, because the ratio order respects each block's step order.
Equivalently: blocks that would lose the most magnitude per pruned weight keep the most weights.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import torch

from .nm_params import INT_BITS, check_m, check_n, int_range
from .nmsparse import NMSparse

DEFAULT_N_OPTIONS = (2, 4, 8, 16)


def _as_numpy(weight) -> np.ndarray:
    if isinstance(weight, torch.Tensor):
        weight = weight.detach().cpu()
        if weight.dtype in (torch.float16, torch.bfloat16):
            weight = weight.to(torch.float32)
        return weight.numpy()
    return np.asarray(weight)


def _check_weight(w: np.ndarray, m: int, block: int) -> None:
    if w.ndim != 2:
        raise ValueError(f"weight: expected a 2-D [n_out, k] matrix, got shape {tuple(w.shape)}")
    n_out, k = w.shape
    if w.size == 0:
        raise ValueError(f"weight: empty matrix of shape {tuple(w.shape)}")
    if k % m:
        raise ValueError(f"weight: k={k} input channels is not a multiple of m={m} "
                         "(pad the input dimension with zeros first)")
    if n_out % block:
        raise ValueError(f"weight: n_out={n_out} output rows is not a multiple of block={block} "
                         "(pad the output dimension with zeros first)")
    numeric = np.issubdtype(w.dtype, np.integer) or np.issubdtype(w.dtype, np.floating)
    if w.dtype == bool or not numeric:
        raise ValueError(f"weight: expected a float or integer tensor, got dtype {w.dtype}")
    if np.issubdtype(w.dtype, np.floating) and not np.all(np.isfinite(w)):
        raise ValueError("weight: contains NaN or infinity")


def _n_options(n_options: Sequence[int], m: int) -> tuple[int, ...]:
    opts = tuple(sorted(set(int(n) for n in n_options)))
    if not opts:
        raise ValueError("n_options: empty")
    for n in opts:
        check_n(n, m, "n_options")
    return opts


def sorted_magnitudes(w: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Per (row, k-block): the stable descending-magnitude order and the sorted magnitudes."""
    n_out, k = w.shape
    mag = np.abs(w.astype(np.float64)).reshape(n_out, k // m, m)
    order = np.argsort(-mag, axis=2, kind="stable")
    return order, np.take_along_axis(mag, order, axis=2)


def allocate_block_n(weight, density: float, *, m: int = 16, block: int = 16,
                     n_options: Sequence[int] = DEFAULT_N_OPTIONS) -> np.ndarray:
    """Per-block N (uint8 ``[n_out//block, k//m]``) reaching ``density`` by the greedy rule."""
    check_m(m)
    w = _as_numpy(weight)
    _check_weight(w, m, block)
    opts = _n_options(n_options, m)
    if not isinstance(density, numbers.Real) or not opts[0] / m <= density <= opts[-1] / m:
        raise ValueError(f"density: {density!r} is outside the reachable range "
                         f"[{opts[0] / m}, {opts[-1] / m}] for n_options {opts} and m={m}")
    n_out, k = w.shape
    br, kb = n_out // block, k // m
    _, mags = sorted_magnitudes(w, m)
    # Retained magnitude of each block for each option: sum over its rows of the top-N sums.
    top = np.concatenate([np.zeros((n_out, kb, 1)), np.cumsum(mags, axis=2)], axis=2)
    retained = top[:, :, list(opts)].reshape(br, block, kb, len(opts)).sum(axis=1)
    cost = block * np.diff(np.asarray(opts))                    # [steps]
    ratio = np.diff(retained, axis=2) / cost                     # [br, kb, steps]
    # Concavity makes ratio non-increasing along steps; the running minimum removes float noise so
    # the sort can never take a block's step before the previous one.
    ratio = np.minimum.accumulate(ratio, axis=2)
    block_n = np.full((br, kb), opts[0], dtype=np.int64)
    target = int(np.ceil(density * n_out * k - 1e-9))
    need = target - int(block_n.sum()) * block
    if need > 0 and ratio.shape[2]:
        step_idx = np.broadcast_to(np.arange(ratio.shape[2]), ratio.shape).ravel()
        blk_idx = np.broadcast_to(np.arange(br * kb).reshape(br, kb, 1), ratio.shape).ravel()
        order = np.lexsort((blk_idx, step_idx, -ratio.ravel()))
        taken = np.searchsorted(np.cumsum(cost[step_idx[order]]), need) + 1
        steps = np.zeros(br * kb, dtype=np.int64)
        np.add.at(steps, blk_idx[order[:taken]], 1)
        block_n = np.asarray(opts)[steps].reshape(br, kb)
    return block_n.astype(np.uint8)


def prune_nm(weight, n: int | np.ndarray | None = None, m: int = 16, density: float | None = None,
             block: int = 16, *, n_options: Sequence[int] = DEFAULT_N_OPTIONS,
             bits: int | None = None, row_pairs: bool = False) -> NMSparse:
    """N:M magnitude pruning of ``weight [n_out, k]`` into an ``NMSparse``.

    Give exactly one of ``n`` (one N for every block, or an integer array ``[n_out//block, k//m]``
    of per-block N) or ``density`` (per-block N from ``n_options`` chosen by ``allocate_block_n``).
    Float weights give float32 values. Integer weights (torch or numpy integer dtype) give integer
    values with ``bits`` 8 (default) or 4; they must already lie in that two's-complement range.
    ``k`` must be a multiple of ``m`` and ``n_out`` a multiple of ``block``; pad with zeros first.
    ``row_pairs=True`` gives rows 2i and 2i+1 one mask per block (the N positions of largest
    ``|w[2i]| + |w[2i+1]|``, ties to the lower index): what a row-packed MV mode, two rows'
    weights times one activation per DSP, requires (docs/rtl/csd.md); only with ``n`` and an
    even ``block``.
    """
    check_m(m)
    if not isinstance(block, (int, np.integer)) or not 1 <= block <= 255:
        raise ValueError(f"block: must be an integer in 1..255, got {block!r}")
    w = _as_numpy(weight)
    _check_weight(w, m, block)
    n_out, k = w.shape
    is_int = np.issubdtype(w.dtype, np.integer)
    if is_int:
        bits = 8 if bits is None else bits
        if bits not in INT_BITS:
            raise ValueError(f"bits: must be 4 or 8 for integer weights, got {bits!r}")
        lo, hi = int_range(bits)
        if w.size and (w.min() < lo or w.max() > hi):
            raise ValueError(f"weight: integer values outside the INT{bits} range [{lo}, {hi}]")
    elif bits is not None:
        raise ValueError("bits: only for integer weights; quantize float weights with "
                         "NMSparse.quantize_int(bits)")
    if (n is None) == (density is None):
        raise ValueError("n, density: give exactly one of them")
    shape_b = (n_out // block, k // m)
    if density is not None:
        block_n = allocate_block_n(w, density, m=m, block=block, n_options=n_options)
        block_n = block_n.astype(np.int64)
    elif np.ndim(n) == 0:
        check_n(n, m, "n")
        block_n = np.full(shape_b, int(n), dtype=np.int64)
    else:
        block_n = np.asarray(n)
        if block_n.shape != shape_b or not np.issubdtype(block_n.dtype, np.integer):
            raise ValueError(f"n: a per-block array must be integer with shape {shape_b}, "
                             f"got {block_n.dtype} {block_n.shape}")
        for v in np.unique(block_n):
            check_n(int(v), m, "n")
        block_n = block_n.astype(np.int64)

    order = _pair_order(w, m, block, density) if row_pairs else sorted_magnitudes(w, m)[0]
    row_n = np.repeat(block_n, block, axis=0)[:, :, None]
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(m)[None, None, :], axis=2)
    keep = rank < row_n                                          # [n_out, kb, m] by position
    # Kept positions first, each group in ascending position order (stable sort on "not kept").
    slots = np.argsort(~keep, axis=2, kind="stable")
    slot_used = np.arange(m)[None, None, :] < row_n
    wb = w.reshape(n_out, k // m, m)
    values = np.where(slot_used, np.take_along_axis(wb, slots, axis=2), 0)
    indices = np.where(slot_used, slots, 0).astype(np.uint8)
    values = values.astype(np.int8 if is_int else np.float32)
    return NMSparse(values=values, indices=indices, block_n=block_n.astype(np.uint8), m=m,
                    block=block, bits=bits if is_int else None)


def _pair_order(w: np.ndarray, m: int, block: int, density) -> np.ndarray:
    """The selection order of ``sorted_magnitudes`` for masks shared by row pairs."""
    if density is not None:
        raise ValueError("row_pairs: give n; the density allocation ranks single rows")
    if block % 2:
        raise ValueError(f"row_pairs: block must be even so that a pair shares its N, got {block}")
    n_out, k = w.shape
    mag = np.abs(w.astype(np.float64)).reshape(n_out // 2, 2, k // m, m).sum(axis=1)
    return np.repeat(np.argsort(-mag, axis=2, kind="stable"), 2, axis=0)
