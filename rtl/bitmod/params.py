"""Engine parameters: the config's bitmod section plus golden.bitserial's datapath widths."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import get_args

from ...base.config import LaneShift
from ...base.errors import ConfigError
from ...golden import formats
from ...golden.bitserial import HW_FORMATS, Datapath, term_table
from ...golden.bitserial.params import FP16_SIG_BITS

CODE_BITS = max(formats.get(name).bits for name in HW_FORMATS)   # 8: int8
FMT_BITS = (len(HW_FORMATS) - 1).bit_length()                   # hardware datatype index
SLOT_BITS = 2                                                    # up to 4 term slots
SHIFT_BITS = 3                                                   # term shift 0..7
ACT_BITS = 16
FP16_BITS = 16
SCALE_EXP_BITS = 6          # signed exponent of an fp16 group scale, -24 .. 5 (rtl/bitmod/scale.py)
FINALIZE_LATENCY = 4                                             # rtl/bitmod/finalize.py
# The output unit registers what it reads from the row units' result RAMs before the conversion
# (rtl/bitmod/output.py): the RAM read and the conversion's first stage were one path.
OUTPUT_READ_STAGES = 1
# Pipeline of a step (docs/rtl/bitmod.md, "Pipeline"): a tile's input registers, the lane front
# (exponents, max, signed values) and the alignment + adder tree, so a step's partial reaches
# the group accumulators of tile (R, C) ACC_DELAY + R + C cycles after the sequencer issues it.
ACC_DELAY = 3
# The row unit's scan of a closed group: read (hold mux, RAM), dequant multiply, output
# alignment, output add (rtl/bitmod/row_acc.py).
SCAN_STAGES = 4
LANE_SHIFTS = get_args(LaneShift)   # the config schema's choices (rtl/bitmod/datapath.py)


def unit_shift_of(name: str) -> int:
    """A format's unit (real value of one integer level) as a right shift: unit = 2**-shift."""
    unit = float(formats.get(name).unit)
    shift = -math.log2(unit)
    if shift != int(shift) or shift < 0:
        raise ValueError(f"format '{name}': unit {unit} is not 2**-k")
    return int(shift)


UNIT_SHIFT_BITS = max(1, max(unit_shift_of(n) for n in HW_FORMATS).bit_length())


def slots_of(name: str) -> int:
    return term_table(name).slots


@dataclass(frozen=True)
class EngineParams:
    """Everything an engine component is elaborated from (one object, hashable for caching)."""
    lanes: int = 4
    group_size: int = 32
    scale_bits: int = 8
    rows: int = 2
    cols: int = 2
    dp: Datapath = field(default_factory=Datapath)
    lane_shift: str = "fabric"      # "fabric" (barrel shifters) or "dsp" (multipliers)
    tile: tuple[int, int] | None = None     # PEs sharing one input register (None: the array)
    band: int = 1                   # rows sharing one row unit (rtl/bitmod/array.py)

    def __post_init__(self) -> None:
        if self.dp.lanes != self.lanes:
            object.__setattr__(self, "dp", replace(self.dp, lanes=self.lanes))
        if self.lane_shift not in LANE_SHIFTS:
            raise ConfigError(f"bitmod.lane_shift '{self.lane_shift}' is not one of "
                              f"{', '.join(LANE_SHIFTS)}")
        if self.tile is not None:                       # JSON gives a list: keep it hashable
            object.__setattr__(self, "tile", tuple(self.tile))
        if self.tile is not None and (len(self.tile) != 2 or min(self.tile) < 1):
            raise ConfigError(f"bitmod array tile {self.tile} is not (rows >= 1, cols >= 1)")
        if not isinstance(self.band, int) or self.band < 1:
            raise ConfigError(f"bitmod array band {self.band!r} is not a row count >= 1")
        if self.group_size % self.lanes:
            raise ConfigError(f"bitmod.group_size {self.group_size} is not a multiple of "
                             f"bitmod.lanes {self.lanes}")
        if self.dp.out_bits < self.result_bits + 1:
            raise ValueError(f"out_bits {self.dp.out_bits} cannot hold a dequantized group "
                             f"({self.result_bits} bits) plus a carry")

    @classmethod
    def from_config(cls, cfg, array: str = "prefill") -> "EngineParams":
        """From ``cfg.bitmod`` (ValueError when the config has no BitMoD engine)."""
        if cfg.bitmod is None:
            raise ConfigError(f"config '{cfg.name}': no 'bitmod' section, so no BitMoD engine")
        shape = getattr(cfg.bitmod, f"{array}_array")
        b = cfg.bitmod
        return cls(b.lanes, b.group_size, b.scale_bits, shape.rows, shape.cols,
                   lane_shift=b.lane_shift,
                   tile=None if shape.tile is None else (shape.tile.rows, shape.tile.cols),
                   band=shape.band)

    @property
    def scale_int_bits(self) -> int:
        """Width of the dequant unit's integer: the int-mode scale or an fp16 significand."""
        return max(self.scale_bits, FP16_SIG_BITS)

    @property
    def scale_field_bits(self) -> int:
        """Width of the stored group scale on the weight stream: u8 (int) or fp16 bits."""
        return max(self.scale_bits, FP16_BITS)

    @property
    def result_bits(self) -> int:
        """Signed width of a dequantized group sum."""
        return self.dp.dequant_bits(self.scale_int_bits)

    @property
    def band_rows(self) -> int:
        """Rows one row unit serves: the config's ``band``, at most a tile row (a unit's rows
        must run on one tile row's time)."""
        return min(self.band, self.tile_shape[0])

    @property
    def bands(self) -> list[tuple[int, range]]:
        """(tile row, rows) of every row unit, top to bottom: each tile row's rows in chunks of
        ``band_rows`` (the last chunk of a tile row may be shorter)."""
        b = self.band_rows
        out = []
        for tile_row in range(self.tile_grid[0]):
            rows = self.tile_row_rows(tile_row)
            out += [(tile_row, range(r, min(r + b, rows.stop))) for r in rows[::b]]
        return out

    def tile_row_rows(self, tile_row: int) -> range:
        """The array rows of tile row ``tile_row`` (the last one may be partial)."""
        tr = self.tile_shape[0]
        return range(tile_row * tr, min(tile_row * tr + tr, self.rows))

    @property
    def scan_length(self) -> int:
        """Closed sums a row unit reads per group, one per cycle: ``band_rows`` per column."""
        return self.cols * self.band_rows

    @property
    def min_group_cycles(self) -> int:
        """Shortest group (cycles between two closing steps) that never stalls: a row unit scans
        the ``scan_length`` closed sums of a group one per cycle, holds a closing group's scale
        in one spare register until its scan starts ACC_DELAY cycles later
        (rtl/bitmod/scan.py), and reads a sum's running total SCAN_STAGES - 2 cycles before it
        writes it back (rtl/bitmod/row_acc.py), so the next read of it must come after the
        write."""
        return max(self.scan_length, ACC_DELAY, SCAN_STAGES - 1)

    @property
    def tile_shape(self) -> tuple[int, int]:
        """(rows, cols) of PEs that share one register of a row's terms and of a column's
        activations: the config's ``tile``, at most the array (rtl/bitmod/array.py)."""
        if self.tile is None:
            return self.rows, self.cols
        return min(self.tile[0], self.rows), min(self.tile[1], self.cols)

    @property
    def tile_grid(self) -> tuple[int, int]:
        """Tiles per column and per row of the array (the last ones may be partial)."""
        tr, tc = self.tile_shape
        return -(-self.rows // tr), -(-self.cols // tc)

    @property
    def row_skew(self) -> int:
        """Cycles the last tile row runs behind the first (one per tile, rtl/bitmod/array.py)."""
        return self.tile_grid[0] - 1

    @property
    def scan_latency(self) -> int:
        """Cycles from the step that closes a dot product's last group until column 0's
        (mant, exp) can be read from every row unit's result RAM: the step's pipeline, one
        cycle to start the scan, the scan's stages, the last row's skew."""
        return ACC_DELAY + 1 + SCAN_STAGES + self.row_skew

    @property
    def output_stages(self) -> int:
        """The output unit's registers from a result's read to its beat (rtl/bitmod/output.py):
        the read register, the fp16 conversion and, with bands of several rows, the register
        that collects a beat."""
        return OUTPUT_READ_STAGES + FINALIZE_LATENCY + (self.band_rows > 1)

    @property
    def result_latency(self) -> int:
        """... to the array's first output beat (column 0): the output unit's stages after the
        last of column 0's rows (a row unit reads its band's rows one per cycle)."""
        return self.scan_latency + self.output_stages + self.band_rows - 1

    @property
    def latency(self) -> int:
        """... to the last output beat of the tile (column cols-1): one beat per ``band_rows``
        cycles."""
        return self.result_latency + (self.cols - 1) * self.band_rows

    def cycles_per_group(self, name: str, group_size: int | None = None) -> int:
        """Cycles of one group of ``group_size`` weights (default: the config's)."""
        return (group_size or self.group_size) // self.lanes * slots_of(name)
