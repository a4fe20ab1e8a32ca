"""Hardware configuration: the one schema for every accelerator parameter.

A configuration is a YAML file under ``configs/`` (or any path) loaded into frozen pydantic
models that forbid unknown keys. RTL elaborates from it, the compiler tiles for it and the
performance model times with it, so nothing else in the project may hard-code these numbers.

Two top-level maps record where numbers come from: ``assumptions`` (dotted key -> why the value
could not be sourced) and ``fitted`` (dotted key -> which published number it was fitted on).
Both must name fields that exist, so a renamed field cannot leave a stale note behind.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from types import UnionType
from typing import Literal, Union, get_args, get_origin

from pydantic import (BaseModel, ConfigDict, Field, NonNegativeInt, PositiveFloat, PositiveInt,
                      field_validator, model_validator)

from . import yaml_model
from .errors import ConfigError

CONFIG_DIR = yaml_model.package_dir("bitflight.configs")


def _is_pow2(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


class _Strict(BaseModel):
    # strict: a quoted number or 1 for a boolean in YAML is a wrong type, not something to coerce
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TileShape(_Strict):
    """PEs of a BitMoD array that share one register of each row's weight terms and one of each
    column's activations (Gemmini's tile, rtl/bitmod/array.py)."""
    rows: PositiveInt
    cols: PositiveInt


class ArrayShape(_Strict):
    """A PE array as rows (output channels) x cols (tokens), as the BitMoD simulator writes it."""
    rows: PositiveInt
    cols: PositiveInt
    tile: TileShape | None = Field(
        None, description="from tile to tile the terms and activations are forwarded through a "
        "register, so each tile runs a cycle behind the tile to its left and the one above, "
        "and the array's result a cycle later per tile row; None: the whole array is one tile, "
        "each register broadcast to its row or column")
    band: PositiveInt = Field(
        1, description="rows that share one row unit (dequantization, cross-group accumulator, "
        "fp16 conversion), which reads their group sums one after the other: cols x band cycles "
        "per group scan and band cycles per output beat, at most a tile's rows; for tall, "
        "narrow arrays (a decode column), where a unit per row serves one PE")

    @property
    def pes(self) -> int:
        return self.rows * self.cols


LaneShift = Literal["fabric", "dsp"]     # how a BitMoD PE aligns its lanes (rtl/bitmod/datapath.py)


class BitmodEngine(_Strict):
    """BitMoD bit-serial engine (docs/references.md#bitmod-2)."""
    prefill_array: ArrayShape
    decode_array: ArrayShape
    lanes: PositiveInt = Field(4, description="dot-product lanes per PE (pe_dp_size)")
    group_size: PositiveInt = Field(128, description="reference quantization group (RTL "
                                    "benches, calibration); the engine runs any multiple of "
                                    "lanes, per weight (golden.policy.check_engine_groups)")
    scale_bits: PositiveInt = Field(8, description="unsigned per-group integer scale width")
    act_bits: Literal[16] = 16
    weight_sram_kb: PositiveInt
    act_sram_kb: PositiveInt
    sram_banks: PositiveInt = Field(8, description="banks of the weight buffer, one 16-byte "
                                    "line wide each (a power of two): the BitMoD engine reads "
                                    "them side by side as one WGT row a cycle")
    pe_energy_pj: PositiveFloat | None = Field(None, description="energy per PE per cycle")
    pe_energy_factor: PositiveFloat | None = Field(None, description="multiplier on pe_energy_pj "
                                                   "(place-and-route overhead); None: 1")
    pe_area_um2: PositiveFloat | None = None
    bit_serial: bool = Field(True, description="False: a bit-parallel baseline PE that takes one "
                             "weight per lane per cycle (FP16/ANT/OliVe, references.md#bitmod-2.4)")
    kv_cycles: PositiveInt | None = Field(None, description="cycles per FP16 K/V element per lane "
                                          "in attention; None: the same as a weight's cycles")
    lane_shift: LaneShift = Field(
        "fabric", description="how a PE aligns its lanes: LUT barrel shifters ('fabric'), or one "
        "DSP multiplier per lane that multiplies by 2**(15 - distance) ('dsp', for FPGAs with "
        "DSPs to spare; the same results)")

    @property
    def one_array(self) -> bool:
        """Prefill and decode have the same shape: the top builds one array and serves both the
        MM and the MV queue with it (docs/rtl/top.md, "Shared engines"); else one array each."""
        return self.prefill_array == self.decode_array

    @model_validator(mode="after")
    def _check(self) -> "BitmodEngine":
        if self.group_size % self.lanes:
            raise ValueError(f"group_size {self.group_size} is not a multiple of lanes "
                             f"{self.lanes}")
        if self.prefill_array.pes != self.decode_array.pes:
            raise ValueError("prefill_array and decode_array must have the same number of PEs "
                             f"({self.prefill_array.pes} != {self.decode_array.pes})")
        if self.sram_banks & (self.sram_banks - 1):
            raise ValueError(f"sram_banks {self.sram_banks} is not a power of two")
        return self


class CsdEngine(_Strict):
    """FlightLLM configurable sparse DSP chain engine (docs/references.md#flightllm-3)."""
    chain_macs: PositiveInt = Field(16, description="MACs per CSD chain (one VPU)")
    dsps_per_group: PositiveInt = Field(2, description="DSP slices per DSP group")
    pack_two_macs: bool = Field(False, description="two INT8 MACs per DSP sharing a weight")
    m: PositiveInt = Field(16, description="N:M block size M (power of two)")
    n_options: tuple[PositiveInt, ...] = Field((2, 4, 8, 16), strict=False,  # YAML gives a list
                                               description="allowed N per block")
    vpus_per_mpu: PositiveInt
    mpus: PositiveInt
    cores: PositiveInt = 1
    mv_vpus: PositiveInt | None = Field(None, description="VPUs active in MV (decode) mode")
    weight_bits: tuple[Literal[4, 8], ...] = Field((4, 8), strict=False)
    act_bits: Literal[8] = 8
    acc_bits: PositiveInt = 32
    dsp_family: Literal["xc7", "xcup"] = "xcup"
    dsp_instances: Literal["inferred", "dsp48e2"] = Field(
        "inferred", description="inferred: DSPs left to synthesis; dsp48e2: every CSD slice an "
        "instantiated DSP48E2 with its PCOUT->PCIN cascade (needs dsp_family xcup)")
    row_accumulator: Literal["fabric", "dsp48e2"] = Field(
        "fabric", description="the VPU's row accumulator: fabric (an adder and a register per "
        "row) or dsp48e2 (each row in the P register of an instantiated DSP48E2, P <= P + C: "
        "one more DSP per row and token, no fabric adder; needs dsp_family xcup)")
    parallel_efficiency: float = Field(1.0, gt=0, le=1, description="achieved fraction of the "
                                       "ideal speed-up over cores (performance model)")
    instruction_overhead_cycles: NonNegativeInt = Field(0, description="fixed cycles per tile "
                                                        "instruction (performance model)")

    @field_validator("m")
    @classmethod
    def _m_pow2(cls, m: int) -> int:
        if not _is_pow2(m):
            raise ValueError(f"M must be a power of two, got {m}")
        return m

    @model_validator(mode="after")
    def _check(self) -> "CsdEngine":
        for n in self.n_options:
            if n > self.m or self.m % n:
                raise ValueError(f"n_options: N={n} does not divide M={self.m}")
        if self.chain_macs % self.macs_per_group:
            raise ValueError(f"chain_macs {self.chain_macs} is not a multiple of the "
                             f"{self.macs_per_group} MACs of one DSP group")
        for field in ("dsp_instances", "row_accumulator"):
            if getattr(self, field) == "dsp48e2" and self.dsp_family != "xcup":
                raise ValueError(f"{field} dsp48e2 needs dsp_family xcup, not "
                                 f"{self.dsp_family}")
        return self

    @property
    def macs_per_dsp(self) -> int:
        return 2 if self.pack_two_macs else 1

    @property
    def macs_per_group(self) -> int:
        return self.dsps_per_group * self.macs_per_dsp

    @property
    def dsps_per_chain(self) -> int:
        return self.chain_macs // self.macs_per_dsp

    @property
    def total_macs(self) -> int:
        return self.chain_macs * self.vpus_per_mpu * self.mpus * self.cores


class Memory(_Strict):
    """Off-chip memory: HBM pseudo-channels or a DRAM bus."""
    kind: Literal["hbm", "dram", "ddr"]
    channels: PositiveInt
    bandwidth_gbps: PositiveFloat = Field(description="peak bandwidth over all channels, "
                                          "GB/s (1e9 B)")
    efficiency: float = Field(1.0, gt=0, le=1, description="sustained fraction of peak")
    kv_efficiency: float | None = Field(None, gt=0, le=1, description="sustained fraction of peak "
                                        "when streaming the K/V cache; None: efficiency")
    capacity_gb: PositiveFloat
    energy_pj_per_bit: PositiveFloat | None = None

    @property
    def channel_gbps(self) -> float:
        return self.bandwidth_gbps / self.channels


class Buffers(_Strict):
    """On-chip buffers (KiB)."""
    weight_kb: PositiveInt
    act_kb: PositiveInt
    output_kb: PositiveInt
    meta_kb: PositiveInt = 64
    bias_kb: PositiveInt = 64


class Sfu(_Strict):
    """Special function unit (softmax, RMSNorm, SiLU, element-wise, RoPE, requantize)."""
    lanes: PositiveInt = Field(16, description="fp16 elements per cycle")
    two_phase_passes: PositiveInt = Field(2, description="reads of the vector for softmax/norm")
    add_stages: int = Field(4, ge=0, le=6, description="register ranks in each binary32 adder of "
                            "the RTL SFU (0: combinational, one op per cycle)")
    mul_stages: int = Field(6, ge=0, le=6, description="register ranks in each binary32 "
                            "multiplier of the RTL SFU (0: combinational)")


class Energy(_Strict):
    """Per-operation energies in pJ (optional; used by the performance model)."""
    sram_read_pj_per_bit: PositiveFloat | None = None
    sram_write_pj_per_bit: PositiveFloat | None = None
    mac_pj: PositiveFloat | None = None
    sfu_pj_per_element: PositiveFloat | None = None


class Config(_Strict):
    """One accelerator configuration."""
    name: str = Field(description="short name used on the command line")
    description: str = Field("", description="one line for `bitflight config list`")
    source: str = Field("", description="where the numbers come from")
    clock_mhz: PositiveFloat = Field(description="accelerator clock")
    memory: Memory = Field(description="off-chip memory holding weights and KV cache")
    aux_memory: Memory | None = Field(None, description="e.g. DDR for LUTs and instruction streams")
    buffers: Buffers = Field(description="on-chip buffers")
    sfu: Sfu = Sfu()
    bitmod: BitmodEngine | None = Field(None, description="BitMoD bit-serial engine")
    csd: CsdEngine | None = Field(None, description="FlightLLM sparse DSP chain engine")
    energy: Energy = Energy()
    assumptions: dict[str, str] = Field(default_factory=dict,
                                        description="dotted key -> why it is an assumption")
    fitted: dict[str, str] = Field(default_factory=dict,
                                   description="dotted key -> the published number it was "
                                               "fitted on")

    @model_validator(mode="after")
    def _check(self) -> "Config":
        if self.bitmod is None and self.csd is None:
            raise ValueError("a config needs at least one engine: bitmod or csd")
        for section in ("assumptions", "fitted"):
            for key in getattr(self, section):
                if not self.has_field(key):
                    raise ValueError(f"{section}: '{key}' names no field of this config")
        return self

    def has_field(self, dotted: str) -> bool:
        node: object = self
        for part in dotted.split("."):
            if not isinstance(node, BaseModel) or part not in type(node).model_fields:
                return False
            node = getattr(node, part)
        return True

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6

    @property
    def bytes_per_cycle(self) -> float:
        """Peak off-chip bytes per accelerator cycle."""
        return self.memory.bandwidth_gbps * 1e9 / self.clock_hz


def resolve(name_or_path: str | Path) -> Path:
    """A config name (``tiny``) or a path to a YAML file."""
    return yaml_model.resolve(name_or_path, CONFIG_DIR, "config", ConfigError)


def available() -> list[str]:
    """Names of the built-in hardware configs."""
    return yaml_model.available(CONFIG_DIR)


def load_yaml_model(path: Path, model: type[BaseModel]) -> BaseModel:
    """Parse a YAML file into a pydantic model; every failure is one line naming file and key."""
    return yaml_model.load(path, model, ConfigError)


@lru_cache(maxsize=32)
def _load_cached(path: Path, stamp: tuple[int, int]) -> Config:  # stamp: a file edit misses
    return load_yaml_model(path, Config)  # type: ignore[return-value]


def load(name_or_path: str | Path) -> Config:
    """Load and validate a hardware config by built-in name or path."""
    path = resolve(name_or_path).resolve()
    stat = path.stat()
    return _load_cached(path, (stat.st_mtime_ns, stat.st_size))


def _type_name(ann) -> str:
    origin, args = get_origin(ann), get_args(ann)
    if origin is Literal:
        return " or ".join(repr(a) for a in args)
    if origin in (Union, UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + " (optional)"
    if origin is tuple:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return "map of key -> text"
    return getattr(ann, "__name__", str(ann))


def schema_markdown() -> str:
    """The schema as Markdown tables, one per section (docs/config.md embeds this text)."""
    lines: list[str] = []

    def section(title: str, model: type[BaseModel]) -> None:
        lines.extend([f"### `{title}`", "", model.__doc__.strip().splitlines()[0], "",
                      "| key | type | default | meaning |", "|---|---|---|---|"])
        nested = []
        for key, info in model.model_fields.items():
            if info.is_required():
                default = "required"
            elif info.default_factory is not None or isinstance(info.default, BaseModel):
                default = "(defaults)"
            else:
                default = f"`{info.default!r}`"
            lines.append(f"| {key} | {_type_name(info.annotation)} | {default} | "
                         f"{info.description or ''} |")
            for cand in get_args(info.annotation) or (info.annotation,):
                if isinstance(cand, type) and issubclass(cand, BaseModel):
                    nested.append((f"{title}.{key}", cand))
        lines.append("")
        for name, sub_model in nested:
            section(name, sub_model)

    section("config", Config)
    return "\n".join(lines)
