"""Instruction costs of the accelerator top as built (``rtl/top``), for sim.perf's event model in
its RTL-calibration mode (``events.simulate(..., timing=RtlTiming(cfg, pos0, ntok))``).

The default costs (:mod:`.instr_cost`) describe the config's intended hardware and produce the
paper-reproduction numbers; they stay as they are. This mode describes the first RTL top, whose
engines are narrower than the config (one SFU lane where ``sfu.lanes`` says 4, a 16-byte HBM
port where a channel moves 32 bytes per cycle, one attention output element in flight, a CSD
feeder reading one line per 2 cycles), so that the top's cycle counter can be predicted per
program (issue 12; docs/results/calibration.md "Accelerator top vs sim.perf"). Each term comes
from the RTL's own timing model or its documented state machine:

* MISC (not COPY): ``rtl/top/sfu/timing.cycles`` (exact, BUSY[MISC]; REQUANT rows of zeros
  assumed absent). COPY: IDLE, CHECK, one line per cycle after the read latency, DONE.
* MM/MV attention products: ``rtl/top/attention/timing.cycles`` with the launch's ``pos0`` and
  ``ntok`` (padding columns cost 2 cycles, value sums stop at the visible tokens).
* MM/MV DENSE/SPARSE: ``rtl/csd/timing.instruction_cycles``; a SPARSE tile's per-block N is not
  in the instruction, so every block is taken at the tile's mean density (from ``b_lines``,
  :func:`.instr_cost._sparse_density`) rounded up to the chain's N option.
* MM/MV BITMOD: :func:`bitmod_cycles`, the expected case between ``rtl/top/bitmod/timing``'s
  bounds from the same reader costs (see there).
* LD/ST: :func:`dma_cycles`: the engine's IDLE/SETUP/DONE, the walker's cycles per run and per
  burst (rtl/top/walker.py), one 16-byte beat per cycle, and the RAM model's response latency.
* every instruction: one issue cycle (``start`` is registered after the issue; the queue's next
  head issues the cycle after ``done``), the same for a token's consumer.
* SYS: the issue cycle and SYS's one-cycle unit.
"""
from __future__ import annotations

import math
from functools import lru_cache

from ...compiler import isa
from ...compiler.footprint import DTYPE_BITS, dma_bytes
from ...compiler.isa import DType, Engine, MiscOp
from .instr_cost import Cost, _sparse_density, term_slots

ISSUE = 1                 # issue -> registered start; done -> next issue
SYS_CYCLES = 1
DMA_FIXED = 4             # IDLE, SETUP (range product, 2 steps) -> walker start, DONE
WALK_RUN, WALK_GATHER = 3, 4   # walker: ROW, CHECK, RANGE (+ ID, ID_WAIT, ID_MUL, grant)
WALK_BURST = 1            # BURST state per burst, + NEXT per run
AXI_LATENCY = 2           # cocotbext-axi RAM: AR/AW sampled, first R / B the next edge
BEAT = isa.LINE_BYTES     # the top's HBM ports are one buffer line wide
COPY_FIXED = 5            # IDLE, CHECK, read grant + data, DONE
SLIDE, REFILL = 3, 5      # rtl/top/bitmod/reader.py


@lru_cache(maxsize=None)
def _sfu_timing():
    from ...rtl.top.sfu.timing import SfuTiming
    return SfuTiming.of()


@lru_cache(maxsize=None)
def _fp_latencies():
    from ...rtl.top.attention.timing import fp_latencies
    return fp_latencies()


def dma_cycles(instr: isa.Instr) -> int:
    """Start to ``done`` of one LD/ST: the walker's runs and bursts overlap the data beats
    (``outstanding`` bursts in flight), so the longer of the two streams counts, plus the fixed
    states and one response latency."""
    count1, count2 = max(1, instr["count1"]), max(1, instr["count2"])
    runs, length = count1 * count2, instr["length"]
    if runs * length == 0:
        return DMA_FIXED + runs * (WALK_RUN + 1)
    # a run's beats: the 16-byte lines it touches (its HBM start is rarely line-aligned)
    beats_per_run = math.ceil(length / BEAT) + (1 if length % BEAT else 0)
    bursts_per_run = math.ceil(beats_per_run / 16)
    gather = instr.kind == "LD" and instr["gather"]
    walk = runs * (WALK_RUN + (WALK_GATHER if gather else 0) + 1 + bursts_per_run * WALK_BURST)
    beats = math.ceil(dma_bytes(instr) / BEAT)
    zero = instr.kind == "LD" and instr["zero_fill"]
    return DMA_FIXED + max(walk, runs * beats_per_run if not zero else beats) \
        + (0 if zero else AXI_LATENCY)


def bitmod_cycles(instr: isa.Instr, cfg, group: int | None = None) -> int:
    """Expected busy cycles of a BITMOD MM/MV (rtl/top/bitmod/engine.py): ``timing.lower``'s
    fixed part and tiles, each tile's first beat refilling every reader (``timing.upper``'s
    refill beat), and every later beat ``slots`` cycles plus, when it starts a new line for some
    reader, that reader's slide (3 cycles, +1 per further reader of the same buffer: one port
    grant per cycle). Activation readers (one per array column) cross a line every
    ``128 / (16 lanes)`` beats, code readers (one per array row) every ``128 / (bits lanes)``;
    the array's groups, metadata prefetch and results overlap the stream as in ``lower``.
    ``group``: the tile's group size (its header's; the instruction does not carry it; default
    ``bitmod.group_size``): a short last group is streamed zero-padded to the full group."""
    from ...rtl.top.bitmod.timing import FIXED
    stage = "prefill" if instr.kind == "MM" else "decode"
    ep = _engine_params(cfg, stage)
    slots = term_slots(cfg, instr["b_dt"])
    bits = DTYPE_BITS[DType(instr["b_dt"])]
    group = group or cfg.bitmod.group_size
    groups = -(-instr["k"] // group)
    act_every = max(1, 128 // (16 * ep.lanes))
    code_every = max(1, 128 // (bits * ep.lanes))
    act_slide, code_slide = SLIDE + ep.cols - 1, SLIDE + ep.rows - 1
    readers = max(ep.rows, ep.cols)
    per_group = -(-group // ep.lanes)
    per_tile = 1                                             # TILE
    for g in range(groups):
        stream = 0
        for j in range(g * per_group, (g + 1) * per_group):
            if j == 0:
                stream += 1 + 2 * readers + 2                  # refill every reader, in turn
                continue
            stream += slots + max(act_slide if j % act_every == 0 else 0,
                                  code_slide if j % code_every == 0 else 0)
        # GROUP, then the stream or the next group's metadata prefetch (2 fields per row)
        per_tile += 1 + max(2 * ep.rows + 1, stream)
    tiles = -(-instr["n"] // ep.rows) * -(-instr["m"] // ep.cols)
    return FIXED + tiles * per_tile + ep.result_latency + ep.cols - 1


_ENGINE_PARAMS: dict = {}


def _engine_params(cfg, stage):
    """``EngineParams`` elaborate RTL parameters: once per config section and array."""
    from ...rtl.bitmod.params import EngineParams
    key = (repr(cfg.bitmod), stage)
    if key not in _ENGINE_PARAMS:
        _ENGINE_PARAMS[key] = EngineParams.from_config(cfg, stage)
    return _ENGINE_PARAMS[key]


def csd_cycles(instr: isa.Instr, cfg) -> int:
    import numpy as np

    from ...rtl.csd.geometry import ChainGeometry
    from ...rtl.csd.lanes import effective_n
    from ...rtl.csd.timing import TileShape, instruction_cycles
    geo = ChainGeometry.from_config(cfg)
    vpus = cfg.csd.vpus_per_mpu if instr.kind == "MM" else cfg.csd.mv_vpus
    m, n, k = instr["m"], instr["n"], instr["k"]
    block_n = None
    if instr["engine"] == Engine.SPARSE:
        kept = max(1, math.ceil(_sparse_density(instr) * geo.m))
        block_n = np.full((-(-n // geo.m), k // geo.m), effective_n(geo, kept))
    return instruction_cycles(geo, vpus, TileShape(m, n, k, block_n))


class RtlTiming:
    """``cost(instr)`` on the top as built, for one launch (``pos0``, ``ntok``); ``group``: the
    BitMoD tiles' group size (the policy's)."""

    def __init__(self, cfg, pos0: int = 0, ntok: int = 1, group: int | None = None):
        self.cfg, self.pos0, self.ntok, self.group = cfg, pos0, ntok, group

    def unit_cycles(self, instr: isa.Instr) -> int:
        kind = instr.kind
        if kind in ("LD", "ST"):
            return dma_cycles(instr)
        if kind == "SYS":
            return SYS_CYCLES
        if kind == "MISC":
            if instr["op"] == MiscOp.COPY:
                nbytes = isa.DTYPES[DType(instr["dt_in"])].bits * instr["rows"] \
                    * instr["cols"] // 8
                return COPY_FIXED + math.ceil(nbytes / isa.LINE_BYTES)
            from ...rtl.top.sfu.timing import cycles
            return cycles(instr, t=_sfu_timing())
        if instr["skip_pad"]:
            from ...rtl.top.attention.timing import cycles
            div, sqrt = _fp_latencies()
            return cycles(instr, self.pos0, self.ntok, div, sqrt)
        if instr["engine"] == Engine.BITMOD:
            return bitmod_cycles(instr, self.cfg, self.group)
        return csd_cycles(instr, self.cfg)

    def cost(self, instr: isa.Instr) -> Cost:
        cycles = self.unit_cycles(instr) + ISSUE
        if instr.kind in ("LD", "ST"):
            # the top has one LD and one ST engine: the queue, not the channel, serializes
            return Cost(cycles, dma_bytes(instr), None)
        return Cost(cycles)
