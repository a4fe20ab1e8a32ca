"""Number formats: the one registry of every weight and activation format the accelerators use.

Each :class:`Format` knows its real levels, the bit codes exactly as hardware stores them, and the
signed power-of-two *terms* the BitMoD bit-serial PE consumes per code. Everything else in the
project (quantizers, RTL term decoders, the ISA simulator) derives from these tables.

Code layouts
------------
* fp3 / fp4 grids (plain and BitMoD): sign-magnitude, ``code = sign << (bits-1) | m`` with ``m``
  indexing the non-negative magnitudes in ascending order, which equals the E2M1 (E2M0 for fp3) bit
  patterns. The -0 code ``1 << (bits-1)`` carries the BitMoD special value; it is unused in plain
  fp3 / fp4_e2m1 (docs/references.md#bitmod-1.2).
* flint4 (ANT): sign-magnitude over magnitudes 0, 1, 2, 3, 4, 6, 8, 16; -0 unused.
* intB: two's complement with symmetric levels ±(2^(B-1)-1); the code of -2^(B-1) is unused.
* nf4: code = index into the 16 ascending QLoRA levels.
* fp16: the IEEE binary16 bit pattern.

Terms
-----
``terms(code)`` returns ``(sign, shift)`` pairs whose sum of ``sign * 2**shift`` is the code's
integer-scaled level (fp4 grids are kept at twice their real value so every level is an integer;
``unit`` is the real value of one integer step). Every fp3/fp4/flint level needs at most two terms
(3 = 2+1, 6 = 4+2, 10 = 8+2, 12 = 8+4). INT codes are split into radix-4 Booth digits: digit ``k``
in {0, ±1, ±2} contributes ``(sign, 2k + (|d| == 2))``. ``term_slots`` is the fixed number of PE
cycles a weight of the format takes: 2 for every 3/4-bit format, 3 for int6, 4 for int8.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

Term = tuple[int, int]

# Integer-scaled non-negative magnitudes, in code order (docs/references.md#bitmod-1.1, §1.2, §5).
_FP3_MAGS = (0, 1, 2, 4)
_FP4_MAGS = (0, 1, 2, 3, 4, 6, 8, 12)          # E2M1 x 2
_FLINT4_MAGS = (0, 1, 2, 3, 4, 6, 8, 16)
# QLoRA NF4 table (bitsandbytes functional.py, quoted in docs/references.md#bitmod-5).
_NF4_LEVELS = (-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
               -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
               0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
               0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
               0.7229568362236023, 1.0)

# The BitMoD candidates per bit width; the tuple index is the 2-bit datatype id.
BITMOD_CANDIDATES: dict[int, tuple[str, ...]] = {
    3: ("fp3_er_pos", "fp3_er_neg", "fp3_ea_pos", "fp3_ea_neg"),
    4: ("fp4_er_pos", "fp4_er_neg", "fp4_ea_pos", "fp4_ea_neg"),
}
# Integer-scaled special values stored in the -0 code (docs/references.md#bitmod-1.2).
_BITMOD_SPECIALS = {"fp3_er_pos": 3, "fp3_er_neg": -3, "fp3_ea_pos": 6, "fp3_ea_neg": -6,
                    "fp4_er_pos": 10, "fp4_er_neg": -10, "fp4_ea_pos": 16, "fp4_ea_neg": -16}


def _is_pow2(v: int) -> bool:
    return v > 0 and v & (v - 1) == 0


def pow2_terms(level: int) -> tuple[Term, ...]:
    """Split an integer level into at most two signed power-of-two terms (high term first)."""
    if level == 0:
        return ()
    sign, mag = (1 if level > 0 else -1), abs(level)
    high = 1 << (mag.bit_length() - 1)
    rest = mag - high
    if rest == 0:
        return ((sign, high.bit_length() - 1),)
    if not _is_pow2(rest):
        raise ValueError(f"level {level} needs more than two power-of-two terms")
    return ((sign, high.bit_length() - 1), (sign, rest.bit_length() - 1))


def booth_terms(code: int, bits: int) -> tuple[Term, ...]:
    """Radix-4 Booth digits of a two's complement ``bits``-wide code, as terms (LSB digit first)."""
    digits = (bits + 1) // 2
    width = 2 * digits
    value = code - (1 << bits) if code >> (bits - 1) & 1 else code
    pattern = value & ((1 << width) - 1)            # sign-extended to an even width
    terms: list[Term] = []
    prev = 0
    for k in range(digits):
        b0, b1 = pattern >> (2 * k) & 1, pattern >> (2 * k + 1) & 1
        d = -2 * b1 + b0 + prev
        prev = b1
        if d:
            terms.append((1 if d > 0 else -1, 2 * k + (abs(d) == 2)))
    return tuple(terms)


@dataclass(frozen=True, eq=False)
class Format:
    """One element format: levels, hardware codes and bit-serial terms (see module docstring)."""
    name: str
    bits: int
    kind: str                                  # "int", "fp", "lut" or "float"
    code_values: np.ndarray = field(repr=False)  # real value per code, NaN for unused codes
    unit: float = 1.0
    special: float | None = None
    dtype_id: int | None = None
    source: str = ""

    @cached_property
    def codes(self) -> np.ndarray:
        return np.flatnonzero(~np.isnan(self.code_values)).astype(np.uint16)

    @cached_property
    def levels(self) -> np.ndarray:
        return np.unique(self.code_values[self.codes])

    @property
    def int_levels(self) -> np.ndarray | None:
        if self.kind not in ("int", "fp"):
            return None
        return np.rint(self.levels / self.unit).astype(np.int64)

    @property
    def qmax(self) -> float:
        """Largest magnitude in integer-scaled units (real units for lut/float formats)."""
        return float(np.max(np.abs(self.levels)) / self.unit)

    @property
    def term_slots(self) -> int | None:
        if self.kind == "int":
            return (self.bits + 1) // 2
        if self.kind == "fp":
            return 2
        return None

    def encode(self, values) -> np.ndarray:
        """Real values that lie exactly on the grid -> codes (ValueError otherwise)."""
        v = np.asarray(values, dtype=np.float64)
        if self.kind == "int":
            # two's complement is the value's low bits: a mask instead of a search (int_sym and
            # golden.sparse encode whole matrices through here)
            bad = ~((np.rint(v) == v) & (np.abs(v) <= self.qmax))
            if np.any(bad):
                raise ValueError(f"{self.name}: value {v[bad].flat[0]!r} is not a level of the "
                                 "format")
            return (v.astype(np.int64) & ((1 << self.bits) - 1)).astype(np.uint16)[()]
        levels = self.levels
        idx = np.clip(np.searchsorted(levels, v), 0, len(levels) - 1)
        bad = levels[idx] != v
        if np.any(bad):
            raise ValueError(f"{self.name}: value {v[bad].flat[0]!r} is not a level of the format")
        return self._level_codes[idx]

    def decode(self, codes) -> np.ndarray:
        """Codes -> real values (ValueError on an unused or out-of-range code)."""
        c = np.asarray(codes, dtype=np.int64)
        if np.any((c < 0) | (c >= len(self.code_values))):
            raise ValueError(f"{self.name}: code out of range for {self.bits} bits")
        out = self.code_values[c]
        if np.any(np.isnan(out)):
            raise ValueError(f"{self.name}: code {int(c[np.isnan(out)].flat[0]):#x} is unused")
        return out

    def round_to_grid(self, x) -> np.ndarray:
        """Nearest level by midpoints; an exact tie goes to the lower level; out of range clamps."""
        levels = self.levels
        mids = (levels[:-1] + levels[1:]) / 2
        idx = np.searchsorted(mids, np.asarray(x, dtype=np.float64), side="left")
        return self._level_codes[idx]

    def terms(self, code: int) -> tuple[Term, ...]:
        """Signed power-of-two terms of a code's integer-scaled level (see module docstring)."""
        if self.kind == "int":
            self.decode(code)
            return booth_terms(int(code), self.bits)
        if self.kind == "fp":
            return pow2_terms(int(round(float(self.decode(code)) / self.unit)))
        raise ValueError(f"{self.name} is not bit-serial: its levels are not power-of-two terms")

    @cached_property
    def _level_codes(self) -> np.ndarray:
        """Code of each entry of ``levels`` (the lowest code when a value has two, e.g. int 0)."""
        levels = self.levels
        codes = np.zeros(len(levels), dtype=np.uint16)
        for code in reversed(self.codes):
            codes[np.searchsorted(levels, self.code_values[code])] = code
        return codes


class Float16Format(Format):
    """IEEE binary16 activations: codes are the raw bit patterns."""

    def encode(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        h = v.astype(np.float16)
        if np.any((h.astype(np.float64) != v) | ~np.isfinite(v)):
            raise ValueError(f"{self.name}: value is not a finite fp16 value")
        return h.view(np.uint16)

    def decode(self, codes) -> np.ndarray:
        out = np.asarray(codes, dtype=np.uint16).view(np.float16).astype(np.float64)
        if not np.all(np.isfinite(out)):               # inf / NaN codes are not levels
            raise ValueError(f"{self.name}: code is an unused (inf/NaN) pattern")
        return out

    def round_to_grid(self, x) -> np.ndarray:
        return np.asarray(x, dtype=np.float64).astype(np.float16).view(np.uint16)


@dataclass(frozen=True)
class BlockFormat:
    """A block format: elements of ``element`` sharing one power-of-two E8M0 scale (OCP MX).

    ``levels``, ``encode``, ``decode`` and ``terms`` are the element's: a code stores the element
    only, and its real value is ``level * 2**shared_exp`` of its block, so the same registry
    interface works for every name while the shared scale stays a separate, per-block field.
    """
    name: str
    element: Format
    block: int
    scale_bits: int
    emax_elem: int
    source: str = ""

    @property
    def bits(self) -> int:
        return self.element.bits

    @property
    def levels(self) -> np.ndarray:
        return self.element.levels

    @property
    def codes(self) -> np.ndarray:
        return self.element.codes

    @property
    def term_slots(self) -> int | None:
        return self.element.term_slots

    def encode(self, values) -> np.ndarray:
        """Element values (already divided by the block scale) -> element codes."""
        return self.element.encode(values)

    def decode(self, codes) -> np.ndarray:
        """Element codes -> element values (multiply by ``2**shared_exp`` for real values)."""
        return self.element.decode(codes)

    def terms(self, code: int) -> tuple[Term, ...]:
        return self.element.terms(code)

    def shared_exp(self, absmax) -> np.ndarray:
        """floor(log2(absmax)) - emax_elem, 0 for an all-zero block, clamped to E8M0's range."""
        a = np.asarray(absmax, dtype=np.float64)
        with np.errstate(divide="ignore"):
            e = np.where(a > 0, np.floor(np.log2(np.where(a > 0, a, 1.0))) - self.emax_elem, 0)
        return np.clip(e, -127, 127).astype(np.int64)


def _table(bits: int) -> np.ndarray:
    return np.full(1 << bits, np.nan)


def _sign_magnitude(name: str, mags, unit: float, special: int | None = None,
                    dtype_id: int | None = None, source: str = "") -> Format:
    bits = int(math.log2(len(mags))) + 1
    table = _table(bits)
    for m, mag in enumerate(mags):
        table[m] = mag * unit
        if m:
            table[(1 << (bits - 1)) | m] = -mag * unit
    if special is not None:
        table[1 << (bits - 1)] = special * unit
    return Format(name, bits, "fp", table, unit,
                  None if special is None else special * unit, dtype_id, source)


def _int_symmetric(bits: int) -> Format:
    table = _table(bits)
    for code in range(1 << bits):
        value = code - (1 << bits) if code >> (bits - 1) else code
        if value != -(1 << (bits - 1)):
            table[code] = value
    return Format(f"int{bits}", bits, "int", table,
                  source="symmetric two's complement, ±(2^(b-1)-1)")


def _build_registry() -> dict[str, Format | BlockFormat]:
    reg: dict[str, Format | BlockFormat] = {}
    for b in (3, 4, 6, 8):
        reg[f"int{b}"] = _int_symmetric(b)
    reg["fp3"] = _sign_magnitude("fp3", _FP3_MAGS, 1.0, source="E2M0-like; = ANT flint3")
    reg["fp4_e2m1"] = _sign_magnitude("fp4_e2m1", _FP4_MAGS, 0.5, source="OCP E2M1")
    for bits, names in BITMOD_CANDIDATES.items():
        mags, unit = (_FP3_MAGS, 1.0) if bits == 3 else (_FP4_MAGS, 0.5)
        for dtype_id, name in enumerate(names):
            reg[name] = _sign_magnitude(name, mags, unit, _BITMOD_SPECIALS[name], dtype_id,
                                        "BitMoD HPCA'25 quant_weight.py "
                                        "(docs/references.md#bitmod-1.2)")
    reg["flint4"] = _sign_magnitude("flint4", _FLINT4_MAGS, 1.0, source="ANT MICRO'22 flint")
    nf4_table = np.array(_NF4_LEVELS, dtype=np.float64)
    reg["nf4"] = Format("nf4", 4, "lut", nf4_table, source="QLoRA NF4 (bitsandbytes table)")
    fp16_table = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float64)
    fp16_table[~np.isfinite(fp16_table)] = np.nan
    reg["fp16"] = Float16Format("fp16", 16, "float", fp16_table, source="IEEE 754 binary16")
    reg["mxfp4"] = BlockFormat("mxfp4", reg["fp4_e2m1"], 32, 8, 2,  # type: ignore[arg-type]
                               source="OCP MX v1.0 (E8M0 scale, E2M1 elements)")
    return reg


_REGISTRY = _build_registry()


def names() -> list[str]:
    """Every registered format name."""
    return list(_REGISTRY)


def get(name: str) -> Format | BlockFormat:
    """The format called ``name`` (ValueError naming it when unknown)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown format '{name}' (known: {', '.join(_REGISTRY)})") from None
