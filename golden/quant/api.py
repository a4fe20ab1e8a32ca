"""``quantize``: argument checking, grouping/padding and the scale modes around the schemes."""
from __future__ import annotations

import numpy as np
import torch

from . import scales as scale_q
from .qweight import QuantizedWeight
from .schemes import SCHEMES

DEFAULT_GROUP = 128
MX_BLOCK = 32
FP16_MAX = 65504.0


def _as_tensor(weight) -> torch.Tensor:
    if isinstance(weight, np.ndarray):
        if not np.issubdtype(weight.dtype, np.floating):
            raise ValueError(f"weight: dtype {weight.dtype} is not a floating-point type")
        weight = torch.from_numpy(weight)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"weight: expected a torch tensor, got {type(weight).__name__}")
    if not weight.dtype.is_floating_point:
        raise ValueError(f"weight: dtype {weight.dtype} is not a floating-point type")
    if weight.dim() != 2:
        raise ValueError(f"weight: expected a 2-D [N out, K in] tensor, got shape "
                         f"{tuple(weight.shape)}")
    if weight.numel() == 0:
        raise ValueError(f"weight: empty tensor of shape {tuple(weight.shape)}")
    w = weight.detach().cpu()
    if not bool(torch.isfinite(w).all()):
        raise ValueError("weight: contains NaN or infinity")
    return w


def _check(scheme: str, bits, group_size, scale_mode: str, k: int, pad: bool, w) -> int:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme: unknown '{scheme}' (known: {', '.join(SCHEMES)})")
    spec = SCHEMES[scheme]
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits not in spec.bits:
        raise ValueError(f"bits: scheme '{scheme}' supports {', '.join(map(str, spec.bits))} "
                         f"bits, got {bits!r}")
    if scheme == "mx":
        group_size = MX_BLOCK if group_size is None else group_size
        if group_size != MX_BLOCK:
            raise ValueError(f"group_size: mx uses OCP blocks of {MX_BLOCK}, got {group_size}")
    group_size = DEFAULT_GROUP if group_size is None else group_size
    if isinstance(group_size, bool) or not isinstance(group_size, (int, np.integer)) \
            or group_size < 1:
        raise ValueError(f"group_size: expected a positive integer, got {group_size!r}")
    modes = spec.scale_modes
    if scale_mode not in modes:
        raise ValueError(f"scale_mode: scheme '{scheme}' supports {', '.join(modes)}, "
                         f"got {scale_mode!r}")
    if k % group_size and not pad:
        raise ValueError(f"group_size: {group_size} does not divide the input dimension K={k}; "
                         f"pass pad=True to zero-pad the last group")
    if scheme != "mx" and float(w.abs().max()) > FP16_MAX:
        raise ValueError(f"weight: max |w| = {float(w.abs().max()):g} exceeds the fp16 range "
                         f"that '{scheme}' scales are computed in")
    return int(group_size)


def quantize(weight, scheme: str, bits: int, group_size: int | None = None,
             scale_mode: str = "fp16", pad: bool = False) -> QuantizedWeight:
    """Quantize a float [N out, K in] weight per group of ``group_size`` along K.

    ``group_size`` defaults to 128 (32 for ``mx``, which only allows 32). ``scale_mode``: "fp16"
    (per-group fp16 scale, the BitMoD accuracy setting) or "int" (8-bit unsigned per-group scale x
    fp16 per-row scale, the hardware setting; see ``scales.py``). ``mx`` always stores E8M0
    scales (``scale_mode`` "fp16" or "e8m0" both mean that; the result says "e8m0").
    ``pad=True`` zero-pads K up to a multiple of the group size; the padding is not part of
    ``codes`` and cannot change a group's scale or choice (see ``search.py``).
    """
    w = _as_tensor(weight)
    n, k = w.shape
    g = _check(scheme, bits, group_size, scale_mode, k, pad, w)
    spec = SCHEMES[scheme]
    ng = -(-k // g)
    wp = torch.nn.functional.pad(w, (0, ng * g - k)) if ng * g != k else w
    wg = wp.reshape(n, ng, g)
    valid = (np.arange(ng * g) < k).reshape(ng, g)
    raw = spec.quantize(wg, int(bits), valid)
    codes, zero_points, real = raw.codes, raw.zero_points, raw.real_scales
    int_scales = row_scales = None
    mode = "e8m0" if scheme == "mx" else scale_mode
    if mode == "int":
        int_scales, row_scales = scale_q.second_level(real)
        real = scale_q.effective(int_scales, row_scales)
        w64 = wg.to(torch.float64).numpy()
        codes, zp = spec.recode(w64, raw.ids, real, valid, int(bits))
        zero_points = zp if zero_points is not None else None
    return QuantizedWeight(
        scheme=scheme, bits=int(bits), shape=(n, k), group_size=g,
        codes=np.ascontiguousarray(codes.reshape(n, ng * g)[:, :k], dtype=np.uint16),
        formats=tuple(raw.formats), dtype_ids=raw.ids.astype(np.uint8),
        scales=real.astype(np.float32), scale_mode=mode, int_scales=int_scales,
        row_scales=row_scales, zero_points=zero_points)
