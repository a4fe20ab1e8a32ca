"""Counter-based operand streams for the Verilator bench, defined twice: in Amaranth (the
generator inside the bench top, so no vector crosses the cocotb boundary) and in numpy (the same
bits, vectorized, for the golden expectation). ``test_fp_stimulus`` checks that both agree.

Vector ``n`` of stream ``s`` is ``shape(H(n ^ K_s), H(n ^ K_s ^ 0x5bd1e995))`` with ``H`` the
lowbias32 integer hash and ``K_s = H(seed + s * 0x9E3779B9)``. ``shape`` picks by three control
bits: a raw pattern (3/8), a value in an exponent band, the same with a sparse mantissa (exact
integers, halves, ties), a subnormal or smallest normal, an edge value, or (for a second operand)
the negated first operand nudged by a few ulps (cancellation).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import Array, Cat, Const, Signal, Value

from fp_cases import EDGE32

GOLDEN_RATIO = 0x9E3779B9
SECOND = 0x5BD1E995
M32 = 0xFFFFFFFF
EDGES = np.resize(EDGE32, 64).astype(np.uint32)       # 64-entry table (repeats to fill)


@dataclass(frozen=True)
class Stream:
    sid: int
    center: int = 127          # exponent band: center + signed(spread bits)
    spread: int = 7
    partner: "Stream | None" = None   # mode 7 cancels this stream's operand


# ---- numpy ------------------------------------------------------------------------------------

def np_hash(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.uint32).copy()
    with np.errstate(over="ignore"):
        x ^= x >> np.uint32(16)
        x *= np.uint32(0x7FEB352D)
        x ^= x >> np.uint32(15)
        x *= np.uint32(0x846CA68B)
        x ^= x >> np.uint32(16)
    return x


def np_key(seed: int, sid: int) -> np.uint32:
    return np_hash(np.array([(seed + sid * GOLDEN_RATIO) & M32], np.uint32))[0]


def np_stream(st: Stream, seed: int, n: np.ndarray) -> np.ndarray:
    n = np.asarray(n, np.uint32)
    key = np_key(seed, st.sid)
    w, c = np_hash(n ^ key), np_hash(n ^ key ^ np.uint32(SECOND))
    mode = c >> np.uint32(29)
    field = np.uint32(st.center) + _np_sext(c & np.uint32((1 << st.spread) - 1), st.spread)
    band = (w & np.uint32(0x807FFFFF)) | ((field & np.uint32(0xFF)) << np.uint32(23))
    sparse = band & np.uint32(0xFFFC0000)
    sub = (w & np.uint32(0x807FFFFF)) | (((c >> np.uint32(8)) & np.uint32(1)) << np.uint32(23))
    edge = EDGES[(c >> np.uint32(8)) & np.uint32(63)]
    if st.partner is not None:
        other = np_stream(st.partner, seed, n)
        with np.errstate(over="ignore"):
            near = (other ^ np.uint32(1 << 31)) + _np_sext((c >> np.uint32(16)) & np.uint32(7), 3)
    else:
        near = w
    return np.select([mode == 3, mode == 4, mode == 5, mode == 6, mode == 7],
                     [band, sparse, sub, edge, near], w).astype(np.uint32)


def _np_sext(v: np.ndarray, bits: int) -> np.ndarray:
    v = v.astype(np.int64)
    return np.where(v >= 1 << bits - 1, v - (1 << bits), v).astype(np.uint32)


# ---- Amaranth ---------------------------------------------------------------------------------

def comb_wire(m):
    """``wire(value, name)`` for :func:`hw_stream`: a named comb signal of ``m`` holding
    ``value`` (so the stream's intermediate values show up by name in the netlist)."""
    def wire(value, name):
        value = Value.cast(value)
        sig = Signal(value.shape(), name=name)
        m.d.comb += sig.eq(value)
        return sig
    return wire


def hw_hash(x: Value) -> Value:
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D)[:32]
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B)[:32]
    return x ^ (x >> 16)


def hw_stream(st: Stream, seed: Value, n: Value, wire, partner: Value | None = None) -> Value:
    """The stream's operand for vector ``n``; ``wire(value, name)`` names intermediate values,
    ``partner`` is the operand of ``st.partner`` (built first)."""
    key = wire(hw_hash((seed + st.sid * GOLDEN_RATIO)[:32]), f"key{st.sid}")
    w = wire(hw_hash(n ^ key), f"w{st.sid}")
    c = wire(hw_hash(n ^ key ^ SECOND), f"c{st.sid}")
    field = (st.center + c[:st.spread].as_signed())[:8]
    band = Cat(w[:23], field, w[31])
    sparse = Cat(Const(0, 18), band[18:])
    sub = Cat(w[:23], c[8], Const(0, 7), w[31])
    edge = Array(Const(int(e), 32) for e in EDGES)[c[8:14]]
    if st.partner is not None:
        near = (partner ^ (1 << 31)) + c[16:19].as_signed()
    else:
        near = w
    mode = c[29:32]
    choice = Array([w, w, w, band, sparse, sub, edge, near[:32]])[mode]
    return wire(choice, f"op{st.sid}")
