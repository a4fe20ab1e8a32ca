"""Analytical timing of the BitMoD bit-serial engine (docs/references.md#bitmod-2.4 to 2.6, §3.3).

Per matrix operation, on the prefill array in prefill and the decode array in decode
(``rows`` = output channels, ``cols`` = tokens, ``lanes`` input channels per PE):

* compute cycles = ``batch * ceil(cin * density / lanes) * ceil(cout / rows) * ceil(tokens / cols)
  * cycles_per_weight``. Cycles per weight are the weight format's term slots from
  ``golden.formats`` (2 for BitMoD 3/4-bit, 3 for INT6, 4 for INT8), 1 on a bit-parallel
  baseline PE (``bitmod.bit_serial: false``), and ``bitmod.kv_cycles`` for the FP16 K/V operand of
  attention when the config sets it (else the weight's cycles). N:M density shortens the input
  channel, assuming a sparse-MUX front end that feeds only kept weights (our assumption; the
  published BitMoD has no sparsity).
* fill/drain: :func:`fill_drain_cycles` once per operation (overhead): the array's output
  latency after the last tile, which the next operation waits for (tiles within an operation
  overlap it; docs/results/calibration.md). Not in the authors' model (``fill_drain=False``).
* memory cycles = (weights x fetches + activations x fetches + outputs) x 8 / (DRAM bits per
  cycle x efficiency; K/V-cache bytes at ``memory.kv_efficiency``), with the refetch rule of
  :mod:`.traffic` against ``weight_sram_kb`` and
  ``act_sram_kb``. Activations and outputs move at ``policy.act_bits``; every operation streams
  its activations from DRAM (the authors' model; no layer fusion).
* energy (pJ; the authors' model, docs/references.md#bitmod-3.3) = PE energy x ``pe_energy_factor``
(their
  place-and-route 1.5) x all PEs x compute cycles (no utilization gating) + DRAM bits read and
  written x ``memory.energy_pj_per_bit`` + SRAM: per tile step (``compute / cycles per weight``
  of them) one weight-SRAM read of ``lanes x w x rows`` bits and one input-SRAM read of
  ``lanes x act_bits x cols`` bits (both halved on the bit-serial PE), ``w`` = the weight
  precision rounded up to a multiple of 4 (the operand's ``kv_bits`` for attention), at
  ``energy.sram_read_pj_per_bit``, and every DRAM byte read written into SRAM at
  ``energy.sram_write_pj_per_bit``. None unless the config gives the PE and DRAM energies; SRAM
  terms only when it gives them. (The authors cost SRAM accesses with CACTI at 28 nm; we have no
  CACTI, so bitmod-asic fits one energy per SRAM bit: docs/perf.md.)
"""
from __future__ import annotations

import math

from ...base.errors import ConfigError, PolicyError
from ...base.config import Config
from .policy import PerfPolicy
from .result import OpTiming, PassTiming
from .traffic import memory_cycles, sfu_timing, with_refetch
from .workload import MatMul, Pass


def _require(cfg: Config):
    if cfg.bitmod is None:
        raise ConfigError(f"config '{cfg.name}' has no bitmod engine")
    return cfg.bitmod


def cycles_per_weight(cfg: Config, policy: PerfPolicy, op: MatMul) -> int:
    eng = _require(cfg)
    if not eng.bit_serial:
        return 1
    slots = policy.term_slots_of(op)
    if slots is None:
        raise PolicyError(f"policy '{policy.name}': {op.name} ({policy.numerics_of(op).scheme}) "
                         "has no bit-serial term slots; set cycles_per_weight")
    if op.kind != "linear" and eng.kv_cycles is not None:
        return eng.kv_cycles
    return slots


def dram_bits_per_cycle(cfg: Config, kv: bool = False) -> float:
    """Sustained DRAM bits per cycle (``kv``: for K/V-cache streams, ``memory.kv_efficiency``)."""
    mem = cfg.memory
    eff = mem.kv_efficiency if kv and mem.kv_efficiency is not None else mem.efficiency
    return mem.bandwidth_gbps * 1e9 * 8 / cfg.clock_hz * eff


def array_cycles(cfg: Config, stage: str, tokens: int, cin: int, cout: int, batch: int = 1,
                 density: float = 1.0, cycles_per_weight: int = 1) -> int:
    """PE-array cycles of ``batch`` products ``[tokens, cin] x [cin, cout]`` (module docstring)."""
    eng = _require(cfg)
    array = eng.prefill_array if stage == "prefill" else eng.decode_array
    return (batch * math.ceil(cin * density / eng.lanes) * math.ceil(cout / array.rows)
            * math.ceil(tokens / array.cols) * cycles_per_weight)


def fill_drain_cycles(cfg: Config, stage: str = "prefill") -> int:
    """Cycles from a tile's last weight step to its last result: the RTL array's output latency
    (the step pipeline, the row scan's dequant and accumulate, the fp16 conversion and one beat per
    column of the stage's array; rtl/bitmod/params.py ``latency``). Back-to-back tiles overlap
    it, so a run pays it once (sim/hdl/calibrate.py)."""
    from ...rtl.bitmod.params import EngineParams
    _require(cfg)
    return EngineParams.from_config(cfg, stage).latency


def time_matmul(op: MatMul, cfg: Config, policy: PerfPolicy, stage: str,
                fill_drain: int = 0) -> OpTiming:
    """``fill_drain``: the array's output latency after the op's last tile, added as overhead."""
    eng = _require(cfg)
    compute = array_cycles(cfg, stage, op.tokens, op.cin, op.cout, op.batch,
                           policy.density_of(op), cycles_per_weight(cfg, policy, op))
    act = policy.act_bits / 8
    traffic = with_refetch(policy.weight_bytes(op), math.ceil(op.input_elements * act),
                           math.ceil(op.output_elements * act),
                           eng.weight_sram_kb * 1024, eng.act_sram_kb * 1024)
    memory = memory_cycles(traffic, op, dram_bits_per_cycle(cfg) / 8,
                           dram_bits_per_cycle(cfg, True) / 8)
    energy = energy_pj(cfg, policy, op, stage, compute, traffic.read, traffic.written)
    return OpTiming(op.name, op.kind, "engine", op.count, op.macs, compute, memory, fill_drain,
                    bytes_read=traffic.read, bytes_written=traffic.written, energy_pj=energy)


def sram_read_bits_per_step(cfg: Config, policy: PerfPolicy, op: MatMul, stage: str) -> int:
    """Bits one tile step reads from the weight and the input SRAM (module docstring)."""
    eng = _require(cfg)
    array = eng.prefill_array if stage == "prefill" else eng.decode_array
    if op.kind == "linear":
        n = policy.numerics_of(op)
        bits = min(n.bits, n.weight_bits) if n.weight_bits is not None else n.bits
    else:
        bits = policy.kv_bits
    w = eng.lanes * math.ceil(bits / 4) * 4 * array.rows
    a = eng.lanes * policy.act_bits * array.cols
    return (w + a) // 2 if eng.bit_serial else w + a


def energy_pj(cfg: Config, policy: PerfPolicy, op: MatMul, stage: str, compute: float,
              dram_read: float, dram_written: float) -> float | None:
    """Energy of one copy of ``op`` (module docstring), or None without PE and DRAM energies."""
    eng = _require(cfg)
    if eng.pe_energy_pj is None or cfg.memory.energy_pj_per_bit is None:
        return None
    energy = eng.pe_energy_pj * (eng.pe_energy_factor or 1.0) * eng.prefill_array.pes * compute
    energy += (dram_read + dram_written) * 8 * cfg.memory.energy_pj_per_bit
    e = cfg.energy
    if e.sram_read_pj_per_bit is not None:
        steps = compute / cycles_per_weight(cfg, policy, op)
        energy += steps * sram_read_bits_per_step(cfg, policy, op, stage) * e.sram_read_pj_per_bit
    if e.sram_write_pj_per_bit is not None:
        energy += dram_read * 8 * e.sram_write_pj_per_bit
    return energy


def time_pass(p: Pass, cfg: Config, policy: PerfPolicy, fill_drain: bool = True) -> PassTiming:
    """``fill_drain``: charge :func:`fill_drain_cycles` once per operation (tiles stream back
    to back; the next operation waits for the last result). The authors' model has none, so
    the BitMoD reproduction passes False."""
    fd = fill_drain_cycles(cfg, p.stage) if fill_drain else 0
    ops = tuple(time_matmul(op, cfg, policy, p.stage, fd) for op in p.matmuls)
    vec = tuple(sfu_timing(v, cfg.sfu.lanes, cfg.energy.sfu_pj_per_element)
                for v in p.vector_ops)
    return PassTiming(p.stage, p.tokens, p.kv_len, cfg.clock_hz, ops, vec)
