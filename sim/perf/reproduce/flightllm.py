"""FlightLLM LLaMA-2-7B decode, batch 1 (docs/references.md#flightllm-3.3, §5.5, §6.3).

* U280 (``configs/u280.yaml``): the board measurements of one decode step at KV 128 (17.50 ms,
  57.1 tokens/s) and KV 512 (18.99 ms, 52.7 tokens/s). The one fitted parameter is the HBM
  efficiency, fitted on KV 128; the K/V-cache efficiency is tied to it by the artifact's
  cross-/same-channel ratio 0.35 / 0.70. KV 512 is a prediction.
* VHK158 (``configs/vhk158.yaml``): the artifact profiler's simulated decode steps at context
  512 / 1024 / 2048 (9.81 / 10.62 / 12.23 ms). Every parameter comes from the artifact's config
  (HBM efficiencies 0.70 / 0.35, MV parallelism 64 x 16 per core, 4 cores at 3.2x); nothing fitted.

Numerics: the perf preset ``flightllm-int4`` (dense INT4 weights with fp16 per-group scales, g128;
INT8 activations and KV cache), because the artifact's timing model treats every weight as INT4
(docs/references.md#flightllm-facts). It is not the project policy
``configs/policies/flightllm.yaml``
(per-row INT4, 50% N:M MLP, INT8 lm_head), which ``bitflight perf --compare`` times as a separate
row. A decode step at "KV n" attends n positions.
"""
from __future__ import annotations

from ....base.config import Config, load
from ....golden.model_shapes import load_shape
from ..analyze import time_pass
from ..policy import PRESETS
from ..workload import decode_step
from . import Row

MODEL = "llama2-7b"
TOLERANCE = 0.15
KV_RATIO = 0.35 / 0.70          # artifact: cross-channel / same-channel HBM efficiency
U280_BOARD = {128: 57.1, 512: 52.7}            # tokens/s, real board (S4)
U280_FITTED_KV = 128
VHK158_SIM_MS = {512: 9.81, 1024: 10.62, 2048: 12.23}


def tokens_per_second(cfg: Config, kv_len: int) -> float:
    step = decode_step(load_shape(MODEL), kv_len)
    return 1.0 / time_pass(step, cfg, PRESETS["flightllm-int4"]).seconds


def with_efficiency(cfg: Config, efficiency: float) -> Config:
    mem = cfg.memory.model_copy(update={"efficiency": efficiency,
                                        "kv_efficiency": efficiency * KV_RATIO})
    return cfg.model_copy(update={"memory": mem})


def fit_u280_efficiency(tol: float = 1e-6) -> float:
    """HBM efficiency at which the U280 model gives the board's tokens/s at KV 128 (bisection;
    tokens/s rises monotonically with efficiency)."""
    base, target = load("u280"), U280_BOARD[U280_FITTED_KV]
    lo, hi = 0.01, 1.0
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if tokens_per_second(with_efficiency(base, mid), U280_FITTED_KV) > target:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def rows() -> list[Row]:
    u280, vhk = load("u280"), load("vhk158")
    out = [Row(f"U280 LLaMA-2-7B decode tokens/s at KV {kv}", tokens_per_second(u280, kv), paper,
               "tokens/s", TOLERANCE, "fitted" if kv == U280_FITTED_KV else "")
           for kv, paper in U280_BOARD.items()]
    for kv, ms in VHK158_SIM_MS.items():
        ours = time_pass(decode_step(load_shape(MODEL), kv), vhk, PRESETS["flightllm-int4"]).seconds
        out.append(Row(f"VHK158 LLaMA-2-7B decode step at context {kv} (simulated)", ours * 1e3,
                       ms, "ms", TOLERANCE))
    return out
