"""Instruction costs of the accelerator top as built (``rtl/top``), for sim.perf's event model in
its RTL-calibration mode (``sim.perf.events.simulate(..., timing=RtlTiming(cfg, pos0, ntok))``).
They live beside the top's bench, not in sim.perf, because they take the engines' latencies
from the RTL components (Amaranth), which the models never import (.importlinter).

The default costs (:mod:`.instr_cost`) describe the config's intended hardware and produce the
paper-reproduction numbers; they stay as they are. This mode describes the first RTL top, whose
engines are narrower than the config (one SFU lane where ``sfu.lanes`` says 4, a 16-byte HBM
port where a channel moves 32 bytes per cycle, one attention output element in flight, a CSD
feeder reading one line per 2 cycles), so that the top's cycle counter can be predicted per
program (issue 12; docs/results/calibration.md "Accelerator top vs sim.perf"). Each term comes
from the RTL's own timing model or its documented state machine:

* MISC (not COPY): ``rtl/top/sfu/timing.cycles`` (exact, BUSY[MISC]; REQUANT rows of zeros
  assumed absent). COPY: ``COPY_FIXED`` states and read latency, then one line per cycle.
* MM/MV attention products: ``rtl/top/attention/timing.cycles`` with the launch's ``pos0`` and
  ``ntok`` (padding columns cost 2 cycles, value sums stop at the visible tokens).
* MM/MV DENSE/SPARSE: ``rtl/csd/timing.instruction_cycles``; a SPARSE tile's per-block N is not
  in the instruction, so every block is taken at the tile's mean N (from ``b_lines``,
  :func:`..perf.instr_cost.sparse_density`, rounded to the nearest integer: the tile's padding
  to whole lines counts as a few extra pairs, so 8:16 reads as N = 8.002), then up to the
  chain's N option. MM and MV run on the same MPU of ``csd.vpus_per_mpu`` VPUs.
* MM/MV on a shared engine (the attention engine, the CSD MPU: :func:`engine_of`): an MM and an
  MV do not overlap; the later one's held start passes the cycle after the earlier one's
  ``done`` (``Cost.lead`` = the issue cycle, rtl/top/shared.py's ``Arbiter``).
* MM/MV BITMOD: :func:`bitmod_cycles`: the engine's states, its three readers (codes:
  :mod:`.beat_model`, metadata: :mod:`.meta_model`, activations: :func:`_reader_stall`) and the
  array's slots (see there); the policy's group size and scale mode (:meth:`RtlTiming.for_policy`).
* LD/ST: :func:`dma_cycles`: the engines' states, the walker's cycles per run and per burst
  (rtl/top/walker.py), one 16-byte beat per cycle, and the cocotbext-axi RAM model's response
  latency (the bench's memory; a board's HBM adds its own latency: ``MemoryModel`` can add one).
* every instruction: one issue cycle (``start`` is registered after the issue; the queue's next
  head issues the cycle after ``done``), the same for a token's consumer.
* SYS: ``done`` the cycle after ``start``.
"""
from __future__ import annotations

from functools import lru_cache

from ...compiler import isa
from ...compiler.footprint import DTYPE_BITS, dma_bytes, nbytes
from ...compiler.isa import DType, Engine, MiscOp
from ..perf.instr_cost import Cost, sparse_density, term_slots
from .beat_model import BeatStream
from .meta_model import MetaLayout, MetaStream

ISSUE = 1                 # issue -> registered start; done -> next issue
SYS_CYCLES = 2            # start, done the cycle after
# LD/ST (rtl/top/dma_load.py, dma_store.py, dma_common.py, walker.py), start to done:
DMA_FRONT = 3             # IDLE, SETUP while BufferRange's two registered products settle
WALK_LEAD = 3             # walker ROW, CHECK, RANGE before a run's first burst
WALK_GATHER = 3           # + ID_WAIT (read data; META granted in ROW), ID_PART, ID_MUL
WALK_RUN = 5              # ROW, CHECK, RANGE, BURST's exit cycle, NEXT (+1 per burst)
LD_PATH = 2 + 1           # AR sampled -> first R beat (cocotbext-axi RAM), aligner -> line write
ST_PATH = 2 + 2           # burst descriptor FIFO -> first W beat; last W -> B response
LD_TAIL, ST_TAIL = 2, 3   # RUN (drained), DONE; ST also FLUSH
ZERO_PATH = 1             # zero_fill: aligner -> line write, no AXI
BEAT = isa.LINE_BYTES     # the top's HBM ports are one buffer line wide
LINE_BITS = 8 * isa.LINE_BYTES
# BITMOD: beyond this many array tiles an instruction's later tiles are taken at the mean of the
# last TILE_MEAN simulated ones (a layer's tiles repeat a few patterns; this bounds the model's
# time on layers of thousands of tiles)
TILE_LIMIT, TILE_MEAN = 64, 16
# COPY: IDLE, CHECK; the LineReader's first line 2 cycles after its start, +1 through its
# buffered FIFO; then one line per cycle; COPY's exit (reader idle), DONE
COPY_FIXED = 7


@lru_cache(maxsize=None)
def _sfu_timing(params):
    from ...rtl.top.sfu.timing import SfuTiming
    return SfuTiming.of(params)


@lru_cache(maxsize=None)
def _fp_latencies():
    from ...rtl.top.attention.timing import fp_latencies
    return fp_latencies()


def dma_cycles(instr: isa.Instr) -> int:
    """Start to ``done`` of one LD/ST: the front states, the walker's lead to the first burst,
    the data path's latency, then the longer of the walker's remaining states (runs and bursts,
    ``outstanding`` bursts ahead of the data) and the data beats (one 16-byte beat per cycle),
    then the tail states."""
    count1, count2 = max(1, instr["count1"]), max(1, instr["count2"])
    runs, length = count1 * count2, instr["length"]
    ld = instr.kind == "LD"
    gather = WALK_GATHER if ld and instr["gather"] else 0
    tail = LD_TAIL if ld else ST_TAIL
    if length == 0:
        return DMA_FRONT + runs * (WALK_RUN + gather) + tail
    # a run's beats: the lines it touches; a run of stride1 a multiple of 16 keeps the
    # first run's offset, otherwise the offset is taken as unknown (a partial line more)
    offset = instr["hbm_addr"] % BEAT if instr["stride1"] % BEAT == 0 else BEAT - 1
    beats_per_run = -(-(offset + length) // BEAT)
    walk = runs * (WALK_RUN + gather + -(-beats_per_run // 16))
    lead = WALK_LEAD + gather
    if ld and instr["zero_fill"]:
        return DMA_FRONT + lead + ZERO_PATH + max(walk - lead, -(-dma_bytes(instr) // BEAT)) \
            + tail
    path = LD_PATH if ld else ST_PATH
    return DMA_FRONT + lead + path + max(walk - lead, runs * beats_per_run) + tail


def bitmod_cycles(instr: isa.Instr, cfg, group: int | None = None,
                  scale_mode: str = "fp16") -> int:
    """Expected busy cycles of a BITMOD MM/MV (rtl/top/bitmod/engine.py), between
    ``rtl/top/bitmod/timing``'s bounds. The start and CHECK; the header's fields, then
    TILE_CHECK; per array tile a TILE and a GROUP cycle; a group starts when the previous
    group's last beat is taken and its metadata is there. The metadata reader
    (:class:`.meta_model.MetaStream`) reads the header and each group's fields
    (:class:`.meta_model.MetaLayout`), the next group's from the start of the one before; where
    it asks for WGT's port in a cycle the beat reader does, the buffers' round robin lets the
    one granted less recently go first. A tile's first beat waits for the activation readers'
    refill from GROUP (one grant a cycle) and the beat reader's (:class:`.beat_model.BeatStream`,
    from the group's start); the array takes each beat in the last of its ``slots`` cycles
    (rtl/bitmod/sequencer.py), counted from when its codes (beats ``B x lanes x b`` bits apart:
    the compiler's version 2 layout) and activations (:func:`_reader_stall`) are there. Then
    DRAIN and DONE. Tiles past :data:`TILE_LIMIT` take the mean of the last :data:`TILE_MEAN`.
    ``group``, ``scale_mode``: the tile's group size and scale mode (its header's; the
    instruction carries neither; default ``bitmod.group_size`` and the policies' fp16 scales): a
    short last group is streamed zero-padded to the full group."""
    from ...compiler.passes.packing import array_layout
    from ...rtl.bitmod.params import ACT_BITS
    from ...rtl.top.bitmod.timing import (HEADER_BITS, header_bits, meta_rows, meta_single_row,
                                          window_rows)
    stage = "prefill" if instr.kind == "MM" else "decode"
    ep = _engine_params(cfg, stage)
    dtype = DType(instr["b_dt"])
    bits = DTYPE_BITS[dtype]
    slots = term_slots(cfg, instr["b_dt"])
    group = group or cfg.bitmod.group_size
    groups = -(-instr["k"] // group)
    per_group = -(-group // ep.lanes)
    lines = cfg.bitmod.sram_banks
    layout = MetaLayout.of(cfg, isa.DTYPES[dtype].scheme or ("bitmod", bits), scale_mode,
                           instr["n"], instr["k"], group, ep.rows, meta_rows(lines))
    meta = MetaStream(lines * LINE_BITS, meta_single_row(ep, lines))
    codes = BeatStream(array_layout(cfg)[0] * ep.lanes * bits, ep.rows * ep.lanes * bits,
                       lines * LINE_BITS, window_rows(ep, lines))
    acts = [(0, ACT_BITS * ep.lanes, ACT_BITS * ep.lanes)] * ep.cols
    order = [(g, *tile) for _ in range(-(-instr["m"] // ep.cols))
             for tile in layout.tiles(instr["n"]) for g in range(groups)]
    hbits = header_bits(ep, lines)               # start in cycle 0, CHECK, HEADER from cycle 2
    now = meta.read([(h, hbits) for h in range(0, HEADER_BITS, hbits)], 2) + 1  # TILE_CHECK
    ready = meta.fetch(layout.fields(*order[0]), now)
    ends = []                                                   # each tile's last take
    for i, (g, *_) in enumerate(order):
        # a tile's first group: TILE, then GROUP, which waits for the metadata; a later one goes
        # on with the last take, which starts the next group's fetch
        entry = now + (2 if g == 0 else 0)
        start = max(entry, ready)
        meta.port.clear()
        if i + 1 < len(order):
            ready = meta.fetch(layout.fields(*order[i + 1]), start)
        # the metadata reads since the beat reader's last grant decide a tie's winner
        codes.blocked = {c for c in codes.blocked if c > codes.granted} | set(meta.port)
        take = start
        for j in range(g * per_group, (g + 1) * per_group):
            if j == 0:                 # the activation readers, 2 + a cycle each, from GROUP
                take = max(entry + 2 + ep.cols, codes.first(0, start)) + slots - 1
            else:
                take = max(take + slots + _reader_stall(acts, j, slots, LINE_BITS),
                           codes.after(j, take) + slots - 1)
        now = take
        ready += codes.lost             # metadata reads that gave the port to the beat reader
        codes.lost = 0
        if g == groups - 1:
            ends.append(now)
            left = (len(order) - i - 1) // groups
            if len(ends) == TILE_LIMIT and left:
                now += round(left * (ends[-1] - ends[-1 - TILE_MEAN]) / TILE_MEAN)
                break
    # DRAIN: the array's latency to the last tile's last column, its results' line writes
    # (``2 x rows`` bytes of fp16 at ``2 x (column x n + r0)`` bytes past a line start, one write
    # a line), then DONE
    r0 = order[-1][1]
    offset = 2 * ((instr["m"] - 1) * instr["n"] + r0) % isa.LINE_BYTES
    writes = -(-(offset + 2 * min(ep.rows, instr["n"] - r0)) // isa.LINE_BYTES)
    return now + ep.latency + 2 + writes


def _reader_stall(readers, j: int, slots: int, line: int) -> int:
    """Cycles beat ``j`` waits for the readers of one buffer, each ``(start bit, stride, width)``
    (rtl/top/bitmod/reader.py), reading lines of ``line`` bits: a move into the next line costs
    nothing once that line, read ahead when the reader moved into the line before (2 cycles from
    grant to data, one grant per cycle among the buffer's readers), has arrived; a move further
    on is a refill (1 + 2 cycles, +2 when the field crosses into the line after), the buffer's
    readers in turn."""
    refills, ahead, since = 0, 0, []
    for start, stride, width in readers:
        now, before = start + j * stride, start + (j - 1) * stride
        move = now // line - before // line
        if move > 1:
            refills += 3 + (2 if now % line + width > line else 0)
        elif move == 1:
            ahead += 1
            since.append(max(1, line // stride) * slots)     # cycles since its last move
    if refills:
        return refills
    return max(0, 2 + ahead - 1 - min(since)) if ahead else 0


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
    vpus = cfg.csd.vpus_per_mpu          # MV runs on the MM engine's MPU (rtl/top/shared.py)
    m, n, k = instr["m"], instr["n"], instr["k"]
    block_n = None
    if instr["engine"] == Engine.SPARSE:
        kept = min(geo.m, max(1, round(sparse_density(instr) * geo.m)))
        block_n = np.full((-(-n // geo.m), k // geo.m), effective_n(geo, kept))
    return instruction_cycles(geo, vpus, TileShape(m, n, k, block_n))


class RtlTiming:
    """``cost(instr)`` on the top as built, for one launch (``pos0``, ``ntok``); ``group``,
    ``scale_mode``: the BitMoD tiles' group size and scale mode (the policy's)."""

    def __init__(self, cfg, pos0: int = 0, ntok: int = 1, group: int | None = None,
                 scale_mode: str = "fp16"):
        self.cfg, self.pos0, self.ntok, self.group = cfg, pos0, ntok, group
        self.scale_mode = scale_mode

    @classmethod
    def for_policy(cls, cfg, pos0: int, ntok: int, policy) -> "RtlTiming":
        """The timing of a program compiled with ``policy`` (a name, a file or a loaded
        ``Policy``): its default quantization's group size and scale mode."""
        from ...golden.policy import load_policy
        if isinstance(policy, str):
            policy = load_policy(policy)
        default = policy.default
        return cls(cfg, pos0, ntok, default.group_size, default.scale_mode)

    def unit_cycles(self, instr: isa.Instr) -> int:
        kind = instr.kind
        if kind in ("LD", "ST"):
            return dma_cycles(instr)
        if kind == "SYS":
            return SYS_CYCLES
        if kind == "MISC":
            if instr["op"] == MiscOp.COPY:
                size = nbytes(instr["dt_in"], instr["rows"] * instr["cols"])
                return COPY_FIXED + -(-size // isa.LINE_BYTES)
            from ...rtl.top.sfu.timing import cycles
            from ...rtl.sfu.params import SfuParams
            return cycles(instr, t=_sfu_timing(SfuParams.from_config(self.cfg)))
        if instr["skip_pad"]:
            from ...rtl.top.attention.timing import cycles
            div, sqrt = _fp_latencies()
            return cycles(instr, self.pos0, self.ntok, div, sqrt)
        if instr["engine"] == Engine.BITMOD:
            return bitmod_cycles(instr, self.cfg, self.group, self.scale_mode)
        return csd_cycles(instr, self.cfg)

    def cost(self, instr: isa.Instr) -> Cost:
        cycles = self.unit_cycles(instr) + ISSUE
        if instr.kind in ("LD", "ST"):
            # the top has one LD and one ST engine: the queue, not the channel, serializes
            return Cost(cycles, dma_bytes(instr), None)
        return Cost(cycles, engine=engine_of(instr, self.cfg), lead=ISSUE)


def engine_of(instr: isa.Instr, cfg) -> str | None:
    """The engine of the top an MM/MV holds: MM and MV share the attention engine and the CSD
    MPU (rtl/top/shared.py); each queue has its own BitMoD array unless the config gives the
    prefill and the decode array the same shape (rtl/top/engines.py)."""
    if instr.kind not in ("MM", "MV"):
        return None
    if instr["skip_pad"]:
        return "attention"
    if instr["engine"] == Engine.BITMOD:
        return "bitmod" if cfg.bitmod.one_array else f"bitmod-{instr.kind}"
    return "csd"
