"""Cost of one ISA instruction on a config: unit cycles and HBM traffic (event-level model).

The engine formulas are the analytical ones (:func:`.bitmod_model.array_cycles`,
:func:`.csd_model.chain_cycles`), applied to one tile instruction:

* MM runs in the prefill mapping, MV in the decode mapping.
* ``engine=BITMOD`` runs on the BitMoD array with the term slots of ``b_dt`` from
  ``golden.formats`` (FP16 K/V operands: ``bitmod.kv_cycles``, required). ``SPARSE`` and ``DENSE``
  run on the CSD chains when the config has them; a BitMoD-only config runs ``DENSE`` (attention)
  on its array, one K/V element per lane every ``kv_cycles`` (FP16) or term-slots (INT) cycles.
  The density of a ``SPARSE`` tile is estimated from its size: ``b_lines`` lines hold the
  golden.sparse header, one byte per 16x16 block, per-row float32 scales and
  ``density * n * k`` (value + 4-bit index) pairs.
* LD/ST move ``length x count1 x count2`` bytes through one HBM channel at
  ``bandwidth / channels x efficiency``; ``rel`` DMAs (rows addressed by token position: the K/V
  cache) and ``gather`` LDs (embedding rows named by token ids) at ``kv_efficiency``. A
  zero-fill LD reads no HBM and writes one line per cycle.
* MISC: ``rows x cols`` elements at ``sfu.lanes`` per cycle per pass (2 passes for SOFTMAX and
  RMSNORM). SYS: 0 cycles.
* One engine, two queues: MM and MV run on the same array / chains (the prefill and decode
  mappings of one BitMoD array, MV as a mode of the CSD MPUs), so an MM and an MV never overlap:
  each holds its engine (``Cost.engine``) for its busy cycles.
* Fill/drain (MM/MV): the engine takes the next tile after its busy cycles, but the tile's last
  result is written ``fill_drain_cycles`` later (the RTL pipeline latency calibrated in
  docs/results/calibration.md), so back-to-back tiles hide it and a consumer waits for it.

Energy (pJ), when the config gives it: BitMoD PE energy x ``pe_energy_factor`` x all PEs x
cycles (SRAM accesses are charged by the analytical mode only); CSD ``energy.mac_pj``
per executed MAC; DMA ``memory.energy_pj_per_bit`` per HBM bit; SFU ``energy.sfu_pj_per_element``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from ...base.errors import ConfigError
from ...compiler import isa
from ...compiler.footprint import DTYPE_BITS, dma_bytes
from ...compiler.isa import DTYPES, DType, Engine, MiscOp
from ...base.config import Config
from ...golden import formats
from ...golden.sparse import packing as sparse_packing
from . import bitmod_model, csd_model

_FORMAT_OF = {dt: info.golden_format for dt, info in DTYPES.items()
              if info.golden_format is not None and dt != DType.FP16}
TWO_PASS = (MiscOp.SOFTMAX, MiscOp.RMSNORM)


class Cost(NamedTuple):
    cycles: float                      # the unit is busy (takes no next instruction) this long
    hbm_bytes: int = 0
    channel: int | None = None
    energy_pj: float | None = None     # when the config gives the energies involved
    drain: float = 0.0                 # after the busy cycles, until the last result is written
    engine: str | None = None          # the compute engine it holds (the MM and MV queues share)
    lead: float = 0.0                  # cycles of ``cycles`` before the engine is taken (the issue)


def term_slots(cfg: Config, b_dt: int) -> int:
    """BitMoD PE cycles per element of operand B."""
    dt = DType(b_dt)
    if dt in _FORMAT_OF:
        return formats.get(_FORMAT_OF[dt]).term_slots
    if cfg.bitmod is not None and cfg.bitmod.kv_cycles is not None:
        return cfg.bitmod.kv_cycles
    raise ConfigError(f"config '{cfg.name}': an {dt.name} operand on the BitMoD array needs "
                     "bitmod.kv_cycles")


def sparse_density(instr: isa.Instr) -> float:
    """Kept fraction of a SPARSE tile from its size: the golden.sparse layout's header, one
    N byte per 16x16 block and float32 per-row scales are not (value, index) pairs."""
    n, k = instr["n"], instr["k"]
    meta = sparse_packing.HEADER.size + -(-n // 16) * -(-k // 16) + 4 * n
    pairs = max(0, instr["b_lines"] * isa.LINE_BYTES - meta) * 8 \
        / (DTYPE_BITS[DType(instr["b_dt"])] + 4)
    return min(1.0, pairs / max(1, n * k))


def engine_cost(instr: isa.Instr, cfg: Config) -> Cost:
    stage = "prefill" if instr.kind == "MM" else "decode"
    m, n, k, engine = instr["m"], instr["n"], instr["k"], Engine(instr["engine"])
    if engine == Engine.BITMOD or (engine == Engine.DENSE and cfg.csd is None):
        if cfg.bitmod is None:
            raise ConfigError(f"config '{cfg.name}' has no bitmod engine for a BITMOD {instr.kind}")
        slots = 1 if not cfg.bitmod.bit_serial else term_slots(cfg, instr["b_dt"])
        cycles = bitmod_model.array_cycles(cfg, stage, m, k, n, 1, 1.0, slots)
        drain = _fill_drain(cfg, bitmod_model)
        pe = cfg.bitmod.pe_energy_pj
        if pe is not None:
            pe *= cfg.bitmod.pe_energy_factor or 1.0
        return Cost(cycles, energy_pj=None if pe is None else pe * cfg.bitmod.prefill_array.pes
                    * cycles, drain=drain, engine="bitmod")
    if cfg.csd is None:
        raise ConfigError(f"config '{cfg.name}' has no csd engine for a {engine.name} {instr.kind}")
    density = sparse_density(instr) if engine == Engine.SPARSE else 1.0
    compute, overhead = csd_model.chain_cycles(cfg, stage, m, k, n, 1, density)
    mac = cfg.energy.mac_pj
    return Cost(compute + overhead, energy_pj=None if mac is None else mac * m * n * k * density,
                drain=_fill_drain(cfg, csd_model), engine="csd")


_FILL_DRAIN: dict[str, int] = {}


def _fill_drain(cfg: Config, engine) -> int:
    """The engine's pipeline fill/drain (``*_model.fill_drain_cycles``), once per engine
    section (it elaborates RTL parameters, ~40 us)."""
    key = repr(cfg.csd if engine is csd_model else cfg.bitmod)
    if key not in _FILL_DRAIN:
        _FILL_DRAIN[key] = engine.fill_drain_cycles(cfg)
    return _FILL_DRAIN[key]


def dma_cost(instr: isa.Instr, cfg: Config) -> Cost:
    nbytes = dma_bytes(instr)
    if instr.kind == "LD" and instr["zero_fill"]:
        return Cost(math.ceil(nbytes / isa.LINE_BYTES), energy_pj=0.0)
    mem = cfg.memory
    by_row = instr["rel"] or (instr.kind == "LD" and instr["gather"])   # K/V rows, embedding
    eff = mem.kv_efficiency if by_row and mem.kv_efficiency is not None else mem.efficiency
    per_cycle = mem.channel_gbps * 1e9 / cfg.clock_hz * eff
    energy = None if mem.energy_pj_per_bit is None else 8 * nbytes * mem.energy_pj_per_bit
    return Cost(nbytes / per_cycle, nbytes, instr["channel"], energy)


def cost(instr: isa.Instr, cfg: Config) -> Cost:
    """Cycles the instruction occupies its unit, and its HBM bytes and channel."""
    if instr.kind in ("LD", "ST"):
        return dma_cost(instr, cfg)
    if instr.kind in ("MM", "MV"):
        return engine_cost(instr, cfg)
    if instr.kind == "MISC":
        lanes = cfg.sfu.lanes * (cfg.csd.cores if cfg.csd is not None else 1)
        passes = 2 if MiscOp(instr["op"]) in TWO_PASS else 1
        elements = instr["rows"] * instr["cols"]
        per = cfg.energy.sfu_pj_per_element
        return Cost(math.ceil(elements * passes / lanes),
                    energy_pj=None if per is None else per * elements)
    return Cost(0.0, energy_pj=0.0)
