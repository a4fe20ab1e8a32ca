"""``QuantizedWeight``: codes, per-group datatype ids and scales of one quantized matrix.

Element (n, k) with group g = k // G is worth
``formats.get(formats_[dtype_ids[n, g]]).decode(codes[n, k]) * scales[n, g]``
(int_asym: ``(codes[n, k] - zero_points[n, g]) * scales[n, g]``). The packed binary layout is in
``packing.py`` and docs/formats.md; ``pack``/``unpack`` here fill and check it (one module with
the type, so the type and its serializer do not import each other).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from .. import formats as fmts
from . import packing
from .schemes import SCHEMES


@dataclass(eq=False)
class QuantizedWeight:
    scheme: str
    bits: int
    shape: tuple[int, int]
    group_size: int
    codes: np.ndarray                    # uint16 [N, K]
    formats: tuple[str, ...]
    dtype_ids: np.ndarray                # uint8 [N, ng]
    scales: np.ndarray                   # float32 [N, ng], real units
    scale_mode: str                      # "fp16", "int" or "e8m0" (mx)
    int_scales: np.ndarray | None = None  # uint8 [N, ng] ("int")
    row_scales: np.ndarray | None = None  # float16 [N] ("int")
    zero_points: np.ndarray | None = None  # uint8 [N, ng] (int_asym)

    @property
    def num_groups(self) -> int:
        """Groups per row, ceil(K / G) (the last one zero padded when G does not divide K)."""
        return -(-self.shape[1] // self.group_size)

    @property
    def unit(self) -> float:
        """Real value of one integer-scaled step of this scheme's formats (0.5 for fp4 grids)."""
        return SCHEMES[self.scheme].unit(self.bits)

    @property
    def unit_scales(self) -> np.ndarray:
        """float32 [N, ng]: the scale per integer-scaled level (what the PE multiplies by)."""
        return (self.scales.astype(np.float64) * self.unit).astype(np.float32)

    def level_table(self) -> np.ndarray:
        """float64 [len(formats), 2**bits]: real value per (datatype id, code), NaN if unused."""
        if self.scheme == "int_asym":
            return np.arange(1 << self.bits, dtype=np.float64)[None, :]
        table = np.full((len(self.formats), 1 << self.bits), np.nan)
        for i, name in enumerate(self.formats):
            f = fmts.get(name)
            table[i, f.codes] = f.decode(f.codes)
        return table

    def dequantize(self) -> torch.Tensor:
        """float32 [N, K]: level x scale (exact for every <=4-bit grid; float32-rounded above)."""
        n, k = self.shape
        g = np.arange(k) // self.group_size
        ids = self.dtype_ids[:, g].astype(np.int64)
        vals = self.level_table()[ids, self.codes.astype(np.int64)]
        if self.zero_points is not None:
            vals = vals - self.zero_points[:, g].astype(np.float64)
        out = vals * self.scales[:, g].astype(np.float64)
        return torch.from_numpy(out.astype(np.float32))

    def zero_code(self) -> np.ndarray:
        """uint16 [N, ng]: the code of the value 0 per group (used to pad the last group)."""
        if self.zero_points is not None:
            return self.zero_points.astype(np.uint16)
        zero = np.array([fmts.get(f).encode(0.0) for f in self.formats], dtype=np.uint16)
        return zero[self.dtype_ids]

    @property
    def id_bits(self) -> int:
        return SCHEMES[self.scheme].id_bits(self.bits)

    @property
    def bits_per_weight(self) -> float:
        """Stored bits per real weight, metadata included: 8 x (packed size - 64-byte header)
        / (N x K). Byte alignment and the padding of a partial last group are counted."""
        n, k = self.shape
        _, total = packing.layout(n, self.num_groups, self.group_size, self.bits, self.id_bits,
                                  self.scale_mode, self.zero_points is not None)
        return 8 * (total - packing.HEADER_SIZE) / (n * k)

    def pack(self, block: int = 1, chunk: int | None = None, full: bool = False,
             align: int = packing.ALIGN) -> bytes:
        """The packed layout of ``packing.py`` / docs/formats.md: version 1, or version 2 (the
        array layout) for ``block`` rows and ``chunk`` columns other than 1 and G; ``full``:
        version 2 with the last block stored whole (the full-blocks flag); ``align``: version 2
        with every section at a multiple of that many bytes."""
        chunk = self.group_size if chunk is None else chunk
        if (full or align != packing.ALIGN) and not packing.is_blocked(self.group_size, block,
                                                                       chunk):
            raise ValueError("layout: full blocks and section alignment need version 2 (a "
                             "block other than 1 or a chunk other than the group)")
        return _pack(self, block, chunk, full, align)

    @classmethod
    def unpack(cls, data: bytes) -> "QuantizedWeight":
        """Exact inverse of :meth:`pack` (ValueError on malformed or corrupted data)."""
        return _unpack(data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuantizedWeight):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or a.dtype != b.dtype or not np.array_equal(a, b):
                    return False
            elif isinstance(a, (tuple, list)):
                if tuple(a) != tuple(b):
                    return False
            elif a != b:
                return False
        return True


def _stored_scales(qw: QuantizedWeight) -> np.ndarray:
    """[N, ng] stored scale per group (u16 fp16 bits or u8, little-endian dtype)."""
    if qw.scale_mode == "fp16":
        unit16 = (qw.scales.astype(np.float64) * qw.unit).astype(np.float16)
        return unit16.astype("<f2")
    if qw.scale_mode == "int":
        return qw.int_scales.astype(np.uint8)
    exp = np.rint(np.log2(qw.scales.astype(np.float64))).astype(np.int64)
    return (exp + 127).astype(np.uint8).reshape(qw.scales.shape)


def _pack(qw: QuantizedWeight, block: int, chunk: int, full: bool = False,
          align: int = packing.ALIGN) -> bytes:
    n, k = qw.shape
    g, ng, b = qw.group_size, qw.num_groups, qw.bits
    if qw.codes.size and int(qw.codes.max()) >= 1 << b:
        raise ValueError(f"codes: a code does not fit in {b} bits")
    if not (1 <= block < 1 << 16 and 1 <= chunk < 1 << 16 and g % chunk == 0):
        raise ValueError(f"layout: block {block} and chunk {chunk} must be 1..65535, the chunk "
                         f"a divisor of the group {g}")
    stored = packing.stored_rows(n, block, full)
    padded = np.repeat(qw.zero_code(), g, axis=1)           # [N, ng * G]
    padded[:, :k] = qw.codes
    fields = dict(scheme=qw.scheme, bits=b, scale_mode=qw.scale_mode, id_bits=qw.id_bits,
                  zp_bits=8 if qw.zero_points is not None else 0, n=n, k=k, g=g, ng=ng,
                  block=block, chunk=chunk, full=full, align=align)

    def whole(a):                        # the rows of full blocks: zero bits past N
        return np.concatenate([a, np.zeros((stored - n, *a.shape[1:]), a.dtype)])
    padded = whole(padded)

    def order(a):                        # per-group entries in storage order
        return packing.to_blocked(whole(a.reshape(n, ng)), block)
    if packing.is_blocked(g, block, chunk):
        codes = packing.pack_bits(packing.to_blocked(padded, block, chunk), b)
    else:                                # one byte-aligned record per group
        codes = packing.pack_bits(padded.reshape(n * ng, g), b)
    sections = [
        codes,
        packing.pack_bits(order(qw.dtype_ids), qw.id_bits) if qw.id_bits else b"",
        order(_stored_scales(qw)).tobytes(),
        qw.row_scales.astype("<f2").tobytes() if qw.scale_mode == "int" else b"",
        order(qw.zero_points.astype(np.uint8)).tobytes() if qw.zero_points is not None else b"",
    ]
    return packing.assemble(fields, sections)


def _unpack(data: bytes) -> QuantizedWeight:
    f, (codes_b, ids_b, scales_b, rows_b, zp_b) = packing.parse(data)
    scheme = SCHEMES[f["scheme"]]
    n, k, g, ng, b = f["n"], f["k"], f["g"], f["ng"], f["bits"]
    stored = packing.stored_rows(n, f["block"], f["full"])
    if b not in scheme.bits:
        raise ValueError(f"packed weight: scheme {scheme.name} has no {b}-bit variant")
    names = scheme.formats(b)
    if f["id_bits"] != scheme.id_bits(b):
        raise ValueError(f"packed weight: {f['id_bits']} id bits do not fit {scheme.name}")
    def rows(a):                         # per-group entries from storage order
        return packing.from_blocked(a, stored, ng, f["block"])[:n]
    if packing.is_blocked(g, f["block"], f["chunk"]):
        codes = packing.from_blocked(packing.unpack_bits(codes_b, b, stored * ng * g), stored,
                                     ng * g, f["block"], f["chunk"])[:n, :k]
    else:
        codes = packing.unpack_bits(codes_b, b, g, n * ng).reshape(n, ng * g)[:, :k]
    ids = (rows(packing.unpack_bits(ids_b, f["id_bits"], stored * ng))
           if f["id_bits"] else np.zeros((n, ng), np.uint32))
    if ids.size and int(ids.max()) >= len(names):
        raise ValueError(f"packed weight: datatype id {int(ids.max())} out of range")
    int_scales = row_scales = zero_points = None
    mode = f["scale_mode"]
    if mode == "fp16":
        unit16 = rows(np.frombuffer(scales_b, dtype="<f2"))
        scales = unit16.astype(np.float64) / scheme.unit(b)
    elif mode == "int":
        int_scales = rows(np.frombuffer(scales_b, dtype=np.uint8)).copy()
        row_scales = np.frombuffer(rows_b, dtype="<f2").astype(np.float16)
        scales = int_scales.astype(np.float64) * row_scales.astype(np.float64)[:, None]
    else:
        scales = np.ldexp(1.0, rows(np.frombuffer(scales_b, np.uint8)).astype(np.int64) - 127)
    if f["zp_bits"]:
        zero_points = rows(np.frombuffer(zp_b, dtype=np.uint8)).copy()
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
