"""Shared builders for the bit-serial golden tests: QuantizedWeight-shaped inputs and activations.

The weights are built directly from codes (every code of the format is reachable, including the
special values and unused-as-level paths), independent of any quantizer.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from bitflight.golden import formats

SCHEMES = {          # scheme -> formats a datatype id indexes
    "bitmod3": formats.BITMOD_CANDIDATES[3],
    "bitmod4": formats.BITMOD_CANDIDATES[4],
    "fp3": ("fp3",), "fp4": ("fp4_e2m1",),
    "int4": ("int4",), "int6": ("int6",), "int8": ("int8",),
}

# fp16 edge activations: zeros, smallest/largest subnormal, smallest normal, 1, max finite
EDGE_ACT_BITS = (0x0000, 0x8000, 0x0001, 0x83FF, 0x0400, 0x3C00, 0xBC00, 0x7BFF, 0xFBFF)


def make_qw(rng: np.random.Generator, n: int, k: int, g: int, names: tuple[str, ...],
            mode: str = "int", zero_group: bool = False) -> SimpleNamespace:
    fmts = [formats.get(name) for name in names]
    ids = rng.integers(0, len(names), (n, k // g))
    codes = np.zeros((n, k), np.uint16)
    for r in range(n):
        for grp in range(-(-k // g)):
            codes[r, grp * g:(grp + 1) * g] = rng.choice(fmts[ids[r, grp]].codes, g)
    if zero_group:
        zero = fmts[ids[0, 0]].encode([0.0])[0]
        codes[0, :g] = zero
    # fp16 mode: the per-level scale (scale x unit, what golden.quant packs) is an fp16 value
    per_level = (rng.random((n, k // g)) * 1e-2).astype(np.float16).astype(np.float64)
    return SimpleNamespace(
        scheme="test", shape=(n, k), group_size=g, codes=codes, formats=tuple(names),
        dtype_ids=ids.astype(np.uint8), scale_mode=mode, zero_points=None,
        int_scales=rng.integers(0, 256, (n, k // g)).astype(np.uint8),
        row_scales=(rng.random(n) * 1e-2).astype(np.float16),
        scales=(per_level / fmts[0].unit).astype(np.float32))


def random_acts(rng: np.random.Generator, t: int, k: int, edge_fraction: float = 0.2,
                spread: float = 4.0) -> torch.Tensor:
    """fp16 [t, k]: log-uniform magnitudes over 2**±spread, random signs, some edge values."""
    mag = 2.0 ** rng.uniform(-spread, spread, (t, k))
    vals = (mag * rng.choice([-1.0, 1.0], (t, k))).astype(np.float16).view(np.uint16)
    edge = rng.random((t, k)) < edge_fraction
    vals[edge] = rng.choice(np.array(EDGE_ACT_BITS, np.uint16), int(edge.sum()))
    return torch.from_numpy(vals.view(np.float16))


def exact_dequant(qw) -> np.ndarray:
    """Real dequantized weights per the golden.quant contract (float64 [N, K])."""
    n, k = qw.shape
    g = qw.group_size
    out = np.zeros((n, k))
    for r in range(n):
        for grp in range(-(-k // g)):
            fmt = formats.get(qw.formats[qw.dtype_ids[r, grp]])
            if qw.scale_mode == "int":
                scale = float(qw.int_scales[r, grp]) * float(qw.row_scales[r])
            else:
                scale = float(qw.scales[r, grp])
            cols = slice(grp * g, min(k, (grp + 1) * g))
            out[r, cols] = fmt.decode(qw.codes[r, cols]) * scale
    return out
