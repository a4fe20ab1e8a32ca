"""Parameters of the accelerator top: what the config defines plus the top's own micro-architecture.

The config (``bitflight/config.py``) gives the HBM channel count and the buffer sizes; the rest
are implementation choices of this top with the defaults below (docs/rtl/top.md, "Parameters").
"""
from __future__ import annotations

from dataclasses import dataclass

from ...base.errors import ConfigError
from ...compiler import isa

BUF_KB_FIELDS = {isa.Buf.ACT: "act_kb", isa.Buf.WGT: "weight_kb", isa.Buf.OUT: "output_kb",
                 isa.Buf.META: "meta_kb", isa.Buf.BIAS: "bias_kb"}


@dataclass(frozen=True)
class TopParams:
    """Sizes of the top. ``buffer_lines[b]`` is buffer ``b``'s depth in 16-byte lines."""
    channels: int
    buffer_lines: tuple[int, ...]            # indexed by isa.Buf
    hbm_addr_bits: int = 32                  # AXI address width of each HBM channel port
    imem_addr_bits: int = 32                 # AXI address width of the instruction port
    queue_depth: int = 4                     # instructions buffered per queue after dispatch
    token_bits: int = 8                      # per (producer, consumer) token counter
    index_bits: int = 24                     # instruction index (error and deadlock reports)
    max_burst_beats: int = 16                # AXI INCR burst length cap (beats of 16 bytes)
    outstanding: int = 8                     # bursts in flight per DMA engine
    fetch_fifo_words: int = 32               # instruction words fetched ahead
    bitmod: tuple = ()                       # BitMoD arrays (prefill, decode EngineParams), if any
    wgt_lines: int = 1                       # WGT banks: lines side by side in one WGT row

    def __post_init__(self) -> None:
        if not 1 <= self.channels <= 1 << isa.TYPES["LD"].fields[1].width:
            raise ConfigError(f"memory.channels: {self.channels} does not fit the ISA's channel "
                             "field")
        if len(self.buffer_lines) != len(isa.Buf):
            raise ValueError(f"buffer_lines: need {len(isa.Buf)} sizes, got "
                             f"{len(self.buffer_lines)}")
        w = self.wgt_lines
        if w < 1 or w & (w - 1) or self.buffer_lines[isa.Buf.WGT] % w:
            raise ConfigError(f"bitmod.sram_banks: {w} is not a power of two that divides the "
                              f"weight buffer's {self.buffer_lines[isa.Buf.WGT]} lines")
        if not 1 <= self.max_burst_beats <= 256:
            raise ValueError(f"max_burst_beats {self.max_burst_beats} is not in 1..256 (AXI4)")

    @classmethod
    def from_config(cls, cfg, **overrides) -> "TopParams":
        lines = tuple(getattr(cfg.buffers, BUF_KB_FIELDS[b]) * 1024 // isa.LINE_BYTES
                      for b in isa.Buf)
        if cfg.bitmod is not None and "bitmod" not in overrides:
            from ..bitmod.params import EngineParams
            overrides["bitmod"] = tuple(EngineParams.from_config(cfg, a)
                                        for a in ("prefill", "decode"))
            overrides.setdefault("wgt_lines", cfg.bitmod.sram_banks)
        return cls(channels=cfg.memory.channels, buffer_lines=lines, **overrides)

    @property
    def line_bits(self) -> int:
        return 8 * isa.LINE_BYTES

    @property
    def buffer_bytes(self) -> tuple[int, ...]:
        return tuple(n * isa.LINE_BYTES for n in self.buffer_lines)

    @property
    def wgt_row_bits(self) -> int:
        """Bits of one WGT row (what a wide read port returns)."""
        return self.wgt_lines * self.line_bits

    @property
    def line_addr_bits(self) -> int:
        """Width of a line address that can name every line of the largest buffer."""
        return max(max(self.buffer_lines) - 1, 1).bit_length()
