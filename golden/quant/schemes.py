"""The quantization schemes: per-group codes, datatype ids and scales for each scheme.

Every scheme works on groups ``w`` [N, ng, G] (zero padded when K is not a multiple of G; ``valid``
marks the real elements) and returns a :class:`Raw` result whose scales are per integer-scaled
level (``real scale x unit``). ``recode`` re-rounds the codes with a given effective real scale per
group; the "int" scale mode uses it (see ``scales.py``).

Sources (the BitMoD artifact, docs/references.md#bitmod-1.3 and #bitmod-1.5): ``bitmod``/``fp``/
``ant`` = ``search_datatype``/``quant_datatype``; ``int_sym``/``int_asym`` = ``quant_int``/
``quant_int_asym`` (their ``torch.round`` rounds ties to even, unlike the grid schemes); ``mx`` =
OCP MXFP4 as RaZeR's ``quant_mxfp4`` emulates it (#bitmod-1.5: shared_exp = floor(log2 absmax) - 2,
E2M1 ties away from zero, clamp at ±6);
``nf4`` = QLoRA table with an absmax scale, rounded like the grid schemes.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
import torch

from .. import formats as fmts
from .search import (absmax_scale16, grid_units, round_half_even_int, search_datatype,
                     SCALE_MAX, SCALE_MIN)


@dataclass
class Raw:
    formats: tuple[str, ...]
    ids: np.ndarray                     # uint8 [N, ng]
    codes: np.ndarray                   # uint16 [N, ng, G]
    unit_scales: np.ndarray | None      # float16 [N, ng]: real scale x unit (None for mx)
    real_scales: np.ndarray             # float64 [N, ng]: w = decode(code) * real scale
    zero_points: np.ndarray | None = None


@dataclass(frozen=True)
class Scheme:
    name: str
    bits: tuple[int, ...]
    formats: Callable[[int], tuple[str, ...]]
    quantize: Callable[[torch.Tensor, int, np.ndarray], Raw]
    recode: Callable | None             # (w64, ids, real_scale, valid, bits) -> (codes, zp)
    scale_modes: tuple[str, ...] = ("fp16", "int")

    def id_bits(self, bits: int) -> int:
        """Bits of a group's datatype id at ``bits`` (0 when the scheme has one format)."""
        return (len(self.formats(bits)) - 1).bit_length()

    def unit(self, bits: int) -> float:
        """Real value of one integer step, shared by every format of the scheme at ``bits``."""
        units = {grid_units(fmts.get(n))[1] for n in self.formats(bits) if not n.startswith("u")}
        return units.pop() if units else 1.0


def _grid_quantize(names: Callable[[int], tuple[str, ...]]):
    def run(w: torch.Tensor, bits: int, valid: np.ndarray) -> Raw:
        chosen = names(bits)
        cands = [fmts.get(n) for n in chosen]
        res = search_datatype(w, cands)
        unit = grid_units(cands[0])[1]
        return Raw(chosen, res.ids, res.codes, res.unit_scales,
                   res.unit_scales.astype(np.float64) / unit)
    return run


def _scaled(w64: np.ndarray, real_scale: np.ndarray) -> np.ndarray:
    """w / scale per group in float64; a group with scale 0 (see search.py) maps to 0."""
    return np.divide(w64, real_scale[..., None], out=np.zeros_like(w64),
                     where=real_scale[..., None] > 0)


def _grid_recode(w64, ids, real_scale, valid, bits, names):
    x = _scaled(w64, real_scale)
    codes = np.zeros(w64.shape, dtype=np.uint16)
    for dtype_id, name in enumerate(names(bits)):
        sel = ids == dtype_id
        codes[sel] = fmts.get(name).round_to_grid(x[sel])
    return codes, None


def _int_sym_quantize(w: torch.Tensor, bits: int, valid: np.ndarray) -> Raw:
    fmt = fmts.get(f"int{bits}")
    qmax = (1 << (bits - 1)) - 1
    w16 = w.to(torch.float16)
    scale16 = absmax_scale16(w16, qmax)
    q = round_half_even_int(w16, scale16, -qmax, qmax)
    codes = fmt.encode(q.numpy().astype(np.float64))
    s16 = scale16.squeeze(-1).numpy()
    return Raw((fmt.name,), np.zeros(w.shape[:-1], np.uint8), codes, s16, s16.astype(np.float64))


def _int_sym_recode(w64, ids, real_scale, valid, bits):
    qmax = (1 << (bits - 1)) - 1
    x = _scaled(w64, real_scale)
    return fmts.get(f"int{bits}").encode(np.clip(np.rint(x), -qmax, qmax)), None


def _masked_minmax16(w16: torch.Tensor, valid: np.ndarray):
    """Group min and max over the real elements only (zero padding must not move them)."""
    v = torch.from_numpy(np.broadcast_to(valid, w16.shape).copy())
    inf = torch.tensor(float("inf"), dtype=torch.float16)
    rmin = torch.where(v, w16, inf).amin(-1, keepdim=True)
    rmax = torch.where(v, w16, -inf).amax(-1, keepdim=True)
    return rmin, rmax


def _int_asym_quantize(w: torch.Tensor, bits: int, valid: np.ndarray) -> Raw:
    qmax = (1 << bits) - 1
    w16 = w.to(torch.float16)
    rmin, rmax = _masked_minmax16(w16, valid)
    scale16 = ((rmax - rmin) / qmax).clamp(min=SCALE_MIN, max=SCALE_MAX)
    zp = torch.round(-rmin / scale16).clamp(min=0, max=qmax)
    q = torch.clamp(torch.round(w16 / scale16) + zp, min=0, max=qmax)
    codes = np.where(valid, q.numpy(), zp.numpy()).astype(np.uint16)
    s16 = scale16.squeeze(-1).numpy()
    return Raw((f"uint{bits}",), np.zeros(w.shape[:-1], np.uint8), codes, s16,
               s16.astype(np.float64), zp.squeeze(-1).numpy().astype(np.uint8))


def _int_asym_recode(w64, ids, real_scale, valid, bits):
    qmax = (1 << bits) - 1
    s = np.where(real_scale > 0, real_scale, 1.0)[..., None]
    v = np.broadcast_to(valid, w64.shape)
    rmin = np.where(v, w64, np.inf).min(-1, keepdims=True)
    zp = np.clip(np.rint(-rmin / s), 0, qmax)
    q = np.clip(np.rint(w64 / s) + zp, 0, qmax)
    codes = np.where(v, q, zp).astype(np.uint16)
    return codes, zp[..., 0].astype(np.uint8)


def _mx_quantize(w: torch.Tensor, bits: int, valid: np.ndarray) -> Raw:
    block = fmts.get("mxfp4")
    elem = block.element
    w64 = w.to(torch.float64).numpy()
    exp = block.shared_exp(np.abs(w64).max(-1))
    x = w64 / np.ldexp(1.0, exp)[..., None]
    mags = elem.levels[elem.levels >= 0]                  # 0, 0.5, ..., 6 = code order 0..7
    mids = (mags[:-1] + mags[1:]) / 2
    # side="right": a magnitude exactly on a mid-point goes up (ties away from zero, as the OCP
    # emulation's floor(|x| + 0.5) per binade does); beyond 6 clamps to the top code.
    m = np.searchsorted(mids, np.abs(x), side="right").astype(np.uint16)
    sign = ((x < 0) & (m > 0)).astype(np.uint16)
    codes = (sign << (elem.bits - 1)) | m
    return Raw((elem.name,), np.zeros(w.shape[:-1], np.uint8), codes, None,
               np.ldexp(1.0, exp))


def _grid_scheme(name: str, bits: tuple[int, ...], names: Callable[[int], tuple[str, ...]]):
    return Scheme(name, bits, names, _grid_quantize(names), partial(_grid_recode, names=names))


SCHEMES: dict[str, Scheme] = {s.name: s for s in (
    _grid_scheme("bitmod", (3, 4), lambda b: fmts.BITMOD_CANDIDATES[b]),
    _grid_scheme("fp", (3, 4), lambda b: ("fp3",) if b == 3 else ("fp4_e2m1",)),
    _grid_scheme("ant", (3, 4), lambda b: ("int3", "fp3") if b == 3 else ("int4", "flint4")),
    _grid_scheme("nf4", (4,), lambda b: ("nf4",)),
    Scheme("int_sym", (3, 4, 6, 8), lambda b: (f"int{b}",), _int_sym_quantize, _int_sym_recode),
    # int_asym codes are unsigned b-bit integers, named uintB (not registry formats)
    Scheme("int_asym", (2, 3, 4, 5, 6, 7, 8), lambda b: (f"uint{b}",), _int_asym_quantize,
           _int_asym_recode),
    # mx always stores E8M0 block scales; "fp16" is accepted as the quantize() default
    Scheme("mx", (4,), lambda b: ("fp4_e2m1",), _mx_quantize, None, ("fp16", "e8m0")),
)}
