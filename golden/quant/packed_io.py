"""pack / unpack a ``QuantizedWeight`` to and from the layout defined in ``packing.py``."""
from __future__ import annotations

import numpy as np

from .. import formats as fmts
from . import packing
from .qweight import QuantizedWeight
from .schemes import SCHEMES


def _stored_scales(qw: QuantizedWeight) -> bytes:
    if qw.scale_mode == "fp16":
        unit16 = (qw.scales.astype(np.float64) * qw.unit).astype(np.float16)
        return unit16.astype("<f2").tobytes()
    if qw.scale_mode == "int":
        return qw.int_scales.astype(np.uint8).tobytes()
    exp = np.rint(np.log2(qw.scales.astype(np.float64))).astype(np.int64)
    return (exp + 127).astype(np.uint8).tobytes()


def pack(qw: QuantizedWeight) -> bytes:
    n, k = qw.shape
    g, ng, b = qw.group_size, qw.num_groups, qw.bits
    if qw.codes.size and int(qw.codes.max()) >= 1 << b:
        raise ValueError(f"codes: a code does not fit in {b} bits")
    padded = np.repeat(qw.zero_code(), g, axis=1)           # [N, ng * G]
    padded[:, :k] = qw.codes
    sections = [
        packing.pack_bits(padded.reshape(n * ng, g), b),
        packing.pack_bits(qw.dtype_ids.reshape(-1), qw.id_bits) if qw.id_bits else b"",
        _stored_scales(qw),
        qw.row_scales.astype("<f2").tobytes() if qw.scale_mode == "int" else b"",
        qw.zero_points.astype(np.uint8).tobytes() if qw.zero_points is not None else b"",
    ]
    fields = dict(scheme=qw.scheme, bits=b, scale_mode=qw.scale_mode, id_bits=qw.id_bits,
                  zp_bits=8 if qw.zero_points is not None else 0, n=n, k=k, g=g, ng=ng)
    return packing.assemble(fields, sections)


def unpack(data: bytes) -> QuantizedWeight:
    f, (codes_b, ids_b, scales_b, rows_b, zp_b) = packing.parse(data)
    scheme = SCHEMES[f["scheme"]]
    n, k, g, ng, b = f["n"], f["k"], f["g"], f["ng"], f["bits"]
    if b not in scheme.bits:
        raise ValueError(f"packed weight: scheme {scheme.name} has no {b}-bit variant")
    names = scheme.formats(b)
    if f["id_bits"] != (len(names) - 1).bit_length():
        raise ValueError(f"packed weight: {f['id_bits']} id bits do not fit {scheme.name}")
    codes = packing.unpack_bits(codes_b, b, g, n * ng).reshape(n, ng * g)[:, :k]
    ids = (packing.unpack_bits(ids_b, f["id_bits"], n * ng).reshape(n, ng)
           if f["id_bits"] else np.zeros((n, ng), np.uint32))
    if ids.size and int(ids.max()) >= len(names):
        raise ValueError(f"packed weight: datatype id {int(ids.max())} out of range")
    int_scales = row_scales = zero_points = None
    mode = f["scale_mode"]
    if mode == "fp16":
        unit16 = np.frombuffer(scales_b, dtype="<f2").reshape(n, ng)
        scales = unit16.astype(np.float64) / scheme.unit(b)
    elif mode == "int":
        int_scales = np.frombuffer(scales_b, dtype=np.uint8).reshape(n, ng).copy()
        row_scales = np.frombuffer(rows_b, dtype="<f2").astype(np.float16)
        scales = int_scales.astype(np.float64) * row_scales.astype(np.float64)[:, None]
    else:
        scales = np.ldexp(1.0, np.frombuffer(scales_b, np.uint8).astype(np.int64) - 127)
        scales = scales.reshape(n, ng)
    if f["zp_bits"]:
        zero_points = np.frombuffer(zp_b, dtype=np.uint8).reshape(n, ng).copy()
        if zero_points.size and int(zero_points.max()) >= 1 << b:
            raise ValueError(f"packed weight: zero point {int(zero_points.max())} exceeds {b} bits")
    if not np.all(np.isfinite(scales)) or np.any(scales < 0):
        raise ValueError("packed weight: a scale is negative, infinite or NaN")
    qw = QuantizedWeight(scheme.name, b, (n, k), g, codes.astype(np.uint16), tuple(names),
                         ids.astype(np.uint8), scales.astype(np.float32), mode, int_scales,
                         row_scales, zero_points)
    _check_codes(qw)
    return qw


def _check_codes(qw: QuantizedWeight) -> None:
    """Every stored code must be a used code of its group's format."""
    if qw.scheme == "int_asym":
        return
    used = ~np.isnan(qw.level_table())
    gidx = np.arange(qw.shape[1]) // qw.group_size
    ok = used[qw.dtype_ids[:, gidx].astype(np.int64), qw.codes.astype(np.int64)]
    if not ok.all():
        n, k = np.argwhere(~ok)[0]
        name = qw.formats[qw.dtype_ids[n, gidx[k]]]
        raise ValueError(f"packed weight: code {int(qw.codes[n, k]):#x} at ({n}, {k}) is unused "
                         f"in {fmts.get(name).name}")
