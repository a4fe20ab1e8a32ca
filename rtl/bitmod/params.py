"""Engine parameters: the config's bitmod section plus golden.bitserial's datapath widths."""
from __future__ import annotations

from dataclasses import dataclass, field

from ...base.errors import ConfigError
from ...golden import formats
from ...golden.bitserial import HW_FORMATS, Datapath, term_table

CODE_BITS = max(formats.get(name).bits for name in HW_FORMATS)   # 8: int8
FMT_BITS = (len(HW_FORMATS) - 1).bit_length()                   # hardware datatype index
SLOT_BITS = 2                                                    # up to 4 term slots
SHIFT_BITS = 3                                                   # term shift 0..7
ACT_BITS = 16


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

    def __post_init__(self) -> None:
        if self.dp.lanes != self.lanes:
            object.__setattr__(self, "dp", Datapath(lanes=self.lanes, guard_bits=self.dp.guard_bits,
                                                    acc_bits=self.dp.acc_bits,
                                                    out_bits=self.dp.out_bits))
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
        return cls(b.lanes, b.group_size, b.scale_bits, shape.rows, shape.cols)

    @property
    def result_bits(self) -> int:
        """Signed width of a dequantized group sum."""
        return self.dp.dequant_bits(self.scale_bits)

    @property
    def latency(self) -> int:
        """Cycles from the step that closes a dot product's last group to its result on ``o``:
        scale_bits dequant cycles, one output-accumulate cycle, one output register."""
        return self.scale_bits + 2

    def cycles_per_group(self, name: str) -> int:
        return self.group_size // self.lanes * slots_of(name)
