"""Chain lanes of one pass, built on chip from a packed weight tile (what ``schedule.py`` does on
the host for the benches of the chain).

* N:M tiles: a block with N kept pairs per row runs at ``neff``, the smallest chain option
  ``>= N`` (``geo.n_options``); a pass holds ``R = slices / neff`` consecutive rows, row j on
  slices ``j*neff .. j*neff + neff - 1``, the last ``neff - N`` of them zero weights. Its
  ``R * N`` pairs are consecutive in golden.sparse's pair stream, starting anywhere in a beat,
  so the lane takes them from a two-beat window shifted by the stream offset.
* dense int_sym tiles: every block is N = 16; a pass is one row's 16 codes of one k-block (the
  low or high 8 bytes of a code line for INT4, the whole line for INT8), slice s on column s.
"""
from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, unsigned
from amaranth.lib.data import StructLayout

from ...base.errors import ConfigError
from .geometry import ChainGeometry
from .reduction import nlog_of

PAIR = StructLayout({"idx": unsigned(4), "val": unsigned(8)})
PAIR_BITS = PAIR.size                   # a window holds 2 x m pairs as raw bits, pair i at 12 i


def check_geometry(geo: ChainGeometry) -> None:
    """The engine's on-chip feeder covers unpacked chains of ``m`` slices."""
    if geo.packed or geo.slices != geo.m or max(geo.n_options) < geo.m:
        raise ConfigError(f"csd: the MM/MV engine needs an unpacked chain of {geo.m} slices with "
                          f"N = {geo.m} among n_options (got {geo.slices} slices, packed "
                          f"{geo.packed}, n_options {geo.n_options})")


def effective_n(geo: ChainGeometry, n: int) -> int:
    """The chain's N option a block with ``n`` kept pairs per row runs at (``n >= 1``)."""
    return min(o for o in geo.n_options if o >= n)


def sparse_lane(m: Module, geo: ChainGeometry, window, offset, n, w4, lane,
                domain: str = "comb") -> None:
    """Drive every field of ``lane`` (a :func:`lane_layout` value) in ``domain`` with the pass
    whose first pair is pair ``offset`` of ``window`` (two beats of pairs) for a block of ``n``
    (1..m) pairs per row (a register target is the safe use, as for :func:`dense_lane`)."""
    d = m.d[domain]
    pairs = Array(window[PAIR_BITS * i:PAIR_BITS * (i + 1)] for i in range(2 * geo.m))
    shifted = [Signal(PAIR, name=f"shifted{i}") for i in range(geo.m)]
    m.d.comb += [s.eq(pairs[offset + i]) for i, s in enumerate(shifted)]
    d += [lane.eq(0), lane.w4.eq(w4)]
    with m.Switch(n):
        for count in range(1, geo.m + 1):
            neff = effective_n(geo, count)
            with m.Case(count):
                d += lane.nlog.eq(nlog_of(neff))
                for s in range(geo.slices):
                    j, q = divmod(s, neff)
                    if q < count:
                        src = shifted[j * count + q]
                        d += [lane.w[s].eq(src.val), lane.idx[s].eq(src.idx)]


def dense_lane(m: Module, geo: ChainGeometry, line, half, w4, lane, domain: str = "comb") -> None:
    """Drive every field of ``lane`` in ``domain`` with one row's ``m`` codes of one k-block:
    INT4 from the ``half`` (0: low, 1: high 8 bytes) of ``line``, INT8 from the whole line.
    A register target (``domain`` sync) is the safe use: a comb process that drives only a
    constant into part of a signal is never evaluated by Verilator (lint ALWNEVER)."""
    d = m.d[domain]
    nibbles = line.word_select(half, 8 * geo.m // 2)
    d += [lane.eq(0), lane.w4.eq(w4), lane.nlog.eq(nlog_of(geo.m))]
    for s in range(geo.slices):
        d += [lane.idx[s].eq(s),
              lane.w[s].eq(Mux(w4, nibbles[4 * s:4 * s + 4], line[8 * s:8 * s + 8]))]


def idle_lane(geo: ChainGeometry) -> dict:
    """A lane of zero weights (its results are never used)."""
    return {"w": [0] * geo.slices, "idx": [0] * geo.slices, "nlog": nlog_of(geo.m), "w4": 0,
            "last": 0}


