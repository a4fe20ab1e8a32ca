"""Analytical timing of the FlightLLM engine: configurable sparse DSP chains
(docs/references.md#flightllm-3.3).

Parallelism per core (our mapping of the config's chain counts; the paper's unit counts were not
recovered, docs/references.md#flightllm-3.6):

* MV mode (decode, one token): ``p_K = dsps_per_chain``, ``p_N = macs_per_dsp * mv_vpus``: a
  chain's DSPs reduce ``dsps_per_chain`` inputs, and a packed DSP's two products (WP486) share
  the one token's activation and multiply the weights of two output rows (the RTL chain's
  row-packed passes), so a chain still does ``chain_macs`` MACs per cycle -- the artifact's MV
  parallelism 64 x 16 per core. That holds for dense blocks only: the rows of an N:M block
  (N < M) pick their own activations, so sparse work runs at ``p_N = mv_vpus``, one MAC per DSP
  (``dense_share`` of :func:`chain_cycles`). (An unpacked chain: ``p_K = chain_macs``,
  ``p_N = mv_vpus``.)
* MM mode (prefill): ``p_K = dsps_per_chain``, ``p_M = macs_per_dsp * mpus`` tokens (two packed
  MACs share a weight across two tokens), ``p_N = vpus_per_mpu``: 8 x 32 x 16 = 4096 MACs per core
  on the U280 config, the artifact's MM parallelism 2 x 16 x 128.

Cores split the output channels; their combined speed-up is ``cores * parallel_efficiency``
(the artifact divides single-core time by 3.2 on 4 SLRs: 0.8). Compute cycles =
``batch * ceil(tokens / p_M) * ceil(ceil(cout / p_N) * ceil(cin / p_K) * density) / speed-up``:
N:M sparsity (density = N/M) shortens each row's K work, as one chain handles N of every M
inputs. The density applies before rounding: at N < p_K a chain pass carries p_K / N rows of the
same K block (docs/rtl/csd.md), so rows share passes and only the tile's total rounds up
(calibrated against the RTL chain: sim/hdl/calibrate_csd.py). Each tile instruction
(``batch * ceil(tokens / p_M) * ceil(cout / p_N)`` of them) adds ``instruction_overhead_cycles``.
A run's last result leaves :func:`fill_drain_cycles` after its last pass (the chain's
pipeline latency); back-to-back tiles overlap it, so it is charged once per operation (whose
results the next operation waits for), not per tile.

Memory: weights (policy bytes, N:M layout included) stream from HBM at ``bandwidth x
efficiency``, the K/V cache (read by attention, appended by k/v_proj) at ``bandwidth x
kv_efficiency``. Decode keeps activations on chip (always-on-chip decode): only the
new K and V rows are written. Prefill streams activations in and out with the refetch rule of
:mod:`.traffic` against ``buffers.weight_kb`` and ``buffers.act_kb`` (per core, times cores).
"""
from __future__ import annotations

import math

from ...base.errors import ConfigError
from ...base.config import Config
from .policy import PerfPolicy
from .result import OpTiming, PassTiming
from .traffic import Traffic, memory_cycles, sfu_timing, with_refetch
from .workload import MatMul, Pass, VectorOp


def _require(cfg: Config):
    if cfg.csd is None:
        raise ConfigError(f"config '{cfg.name}' has no csd engine")
    return cfg.csd


def parallelism(cfg: Config, stage: str) -> tuple[int, int, int]:
    """(p_M tokens, p_K inputs, p_N outputs) of one core."""
    c = _require(cfg)
    if stage == "decode":
        # one token: a packed DSP's two products share the activation and take two output rows
        # (chain_macs MACs per chain per cycle either way; docs/perf.md "MV mode")
        return 1, c.dsps_per_chain, c.macs_per_dsp * (c.mv_vpus or c.vpus_per_mpu * c.mpus)
    return c.macs_per_dsp * c.mpus, c.dsps_per_chain, c.vpus_per_mpu


def core_speedup(cfg: Config) -> float:
    c = _require(cfg)
    return c.cores * c.parallel_efficiency if c.cores > 1 else 1.0


def peak_macs_per_cycle(cfg: Config, stage: str) -> float:
    p_m, p_k, p_n = parallelism(cfg, stage)
    return p_m * p_k * p_n * core_speedup(cfg)


def hbm_bytes_per_cycle(cfg: Config, kv: bool = False) -> float:
    """Sustained HBM bytes per cycle (``kv``: for K/V-cache streams, ``memory.kv_efficiency``)."""
    mem = cfg.memory
    eff = mem.kv_efficiency if kv and mem.kv_efficiency is not None else mem.efficiency
    return mem.bandwidth_gbps * 1e9 / cfg.clock_hz * eff


def _traffic(op: MatMul, cfg: Config, policy: PerfPolicy, stage: str) -> Traffic:
    weight = policy.weight_bytes(op)
    if stage == "decode":
        kv_out = op.output_elements * policy.kv_bits / 8 if op.out_is_kv else 0.0
        return Traffic(weight, 0.0, kv_out)
    act = policy.act_bits / 8
    c = _require(cfg)
    return with_refetch(weight, op.input_elements * act, op.output_elements * act,
                        cfg.buffers.weight_kb * 1024 * c.cores, cfg.buffers.act_kb * 1024 * c.cores)


def _ceil(x: float) -> int:
    """Ceiling of a pass count that is whole in exact arithmetic but may carry float error
    from the density and share factors (kept / all weights)."""
    return math.ceil(round(x, 9))


def chain_cycles(cfg: Config, stage: str, tokens: int, cin: int, cout: int, batch: int = 1,
                 density: float = 1.0, dense_share: float | None = None) -> tuple[float, float]:
    """(compute cycles, instruction-overhead cycles) of ``batch`` products
    ``[tokens, cin] x [cin, cout]`` on the chains (module docstring). A lone token on packed
    chains (MV, or an odd token left over in MM) runs its dense blocks row-packed, two rows per
    DSP, and its N:M blocks one MAC per DSP; ``dense_share`` is the share of the kept weights in
    dense (N = M) blocks (default: all of them when ``density`` is 1, none otherwise)."""
    c = _require(cfg)
    p_m, p_k, p_n = parallelism(cfg, stage)
    k_blocks = math.ceil(cin / p_k)
    full = _ceil(math.ceil(cout / p_n) * k_blocks * density)
    share = (1.0 if density == 1.0 else 0.0) if dense_share is None else dense_share

    def lone(rows: int) -> int:
        """Passes of one token when a row-packed pass covers ``rows`` output rows."""
        packed, single = math.ceil(cout / rows), math.ceil(cout / (rows // c.macs_per_dsp))
        return _ceil(k_blocks * density * (packed * share + single * (1.0 - share)))

    # (with one MAC per DSP a "row-packed" pass is a plain one: lone() is then ``full``)
    if stage == "decode":
        per_batch = tokens * lone(p_n)
    else:
        whole, left = divmod(tokens, p_m)
        rest = 0 if left == 0 else lone(p_n * c.macs_per_dsp) if left == 1 else full
        per_batch = whole * full + rest
    tiles = batch * math.ceil(tokens / p_m) * math.ceil(cout / p_n)
    speedup = core_speedup(cfg)
    return batch * per_batch / speedup, tiles * c.instruction_overhead_cycles / speedup


def fill_drain_cycles(cfg: Config) -> int:
    """Cycles from a chain's first pass to its first result: the RTL chain's pipeline latency
    (``dsps_per_chain + 2``: input skew, A/B, M and P registers; rtl/csd/geometry.py)."""
    from ...rtl.csd.geometry import ChainGeometry
    _require(cfg)
    return ChainGeometry.from_config(cfg).latency


def time_matmul(op: MatMul, cfg: Config, policy: PerfPolicy, stage: str,
                fill_drain: int = 0) -> OpTiming:
    """``fill_drain``: pipeline cycles after the op's last pass before its last result (added to
    the overhead: the next op consumes the results)."""
    compute, overhead = chain_cycles(cfg, stage, op.tokens, op.cin, op.cout, op.batch,
                                     policy.density_of(op))
    overhead += fill_drain
    traffic = _traffic(op, cfg, policy, stage)
    moved = traffic.read + traffic.written
    memory = memory_cycles(traffic, op, hbm_bytes_per_cycle(cfg), hbm_bytes_per_cycle(cfg, True))
    energy = None
    if cfg.energy.mac_pj is not None and cfg.memory.energy_pj_per_bit is not None:
        energy = op.macs * policy.density_of(op) * cfg.energy.mac_pj \
            + moved * 8 * cfg.memory.energy_pj_per_bit
    return OpTiming(op.name, op.kind, "engine", op.count, op.macs, compute, memory, overhead,
                    traffic.read, traffic.written, energy)


def quantize_ops(p: Pass, policy: PerfPolicy) -> tuple[VectorOp, ...]:
    """SFU work of INT8 activations (``act_bits`` 8): every linear's input and every attention
    query is quantized per token (REQUANT), and with an INT8 cache so are the appended K/V rows.
    Each linear quantizes its own input, as the compiler's programs do."""
    if policy.act_bits != 8 or not p.vector_ops:
        return ()
    by_count: dict[int, int] = {}
    for op in p.matmuls:
        n = op.input_elements if op.kind in ("linear", "attn_qk") else 0
        if op.out_is_kv and policy.kv_bits == 8:
            n += op.output_elements
        by_count[op.count] = by_count.get(op.count, 0) + n
    return tuple(VectorOp("act_quant", "eltwise", n, count) for count, n in by_count.items() if n)


def time_pass(p: Pass, cfg: Config, policy: PerfPolicy, fill_drain: bool = True) -> PassTiming:
    """``fill_drain``: charge :func:`fill_drain_cycles` once per operation (its tiles stream
    back to back; the next operation waits for its last result)."""
    c = _require(cfg)
    fd = fill_drain_cycles(cfg) if fill_drain else 0
    ops = tuple(time_matmul(op, cfg, policy, p.stage, fd) for op in p.matmuls)
    vec = tuple(sfu_timing(v, cfg.sfu.lanes * c.cores, cfg.energy.sfu_pj_per_element)
                for v in p.vector_ops + quantize_ops(p, policy))
    return PassTiming(p.stage, p.tokens, p.kv_len, cfg.clock_hz, ops, vec)
