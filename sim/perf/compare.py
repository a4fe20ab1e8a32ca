"""Our design against theirs: LLaMA-2-7B decode on the U280's clock, HBM and buffers.

Every row is one decode step (batch 1) attending ``KV_LEN`` positions, on a config with the
U280's memory system (including its fitted HBM efficiency): FlightLLM's CSD engine
(``configs/u280.yaml``) with the artifact timing model's dense INT4 weights and with the project's
``flightllm`` policy, and our BitMoD engine (``configs/designs/u280-bitmod.yaml``) with
W4, W3 and W3 + N:M projections. The HBM roofline is the step time if every byte the step moves
streamed at the *peak* 460 GB/s; "fraction of roofline" = roofline time / modelled time.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...base.config import CONFIG_DIR, load
from ...golden.model_shapes import load_shape
from .analyze import time_pass
from .policy_loader import load_policy
from .workload import decode_step

MODEL = "llama2-7b"
KV_LEN = 512
# Policies are perf presets or project policies (configs/policies): the artifact's dense INT4
# model of FlightLLM, and the project's FlightLLM policy (per-row INT4, 50% N:M MLP, INT8 lm_head)
# that `bitflight compile --policy flightllm` builds.
DESIGNS = (("FlightLLM (CSD, INT4)", "u280", "flightllm-int4"),
           ("FlightLLM (CSD, project policy)", "u280", "flightllm"),
           ("BitMoD W4", "designs/u280-bitmod.yaml", "bitmod-w4-g128"),
           ("BitMoD W3", "designs/u280-bitmod.yaml", "bitmod-w3-g128"),
           ("BitMoD W3 + 8:16 projections", "designs/u280-bitmod.yaml", "bitmod-w3-nm8"),
           ("BitMoD W3 + 4:16 projections", "designs/u280-bitmod.yaml", "bitmod-w3-nm4"))


@dataclass(frozen=True)
class DesignRow:
    design: str
    config: str
    policy: str
    tokens_per_s: float
    bytes_per_token: float
    roofline_tokens_per_s: float
    limiting_unit: str
    utilization: dict

    @property
    def roofline_fraction(self) -> float:
        return self.tokens_per_s / self.roofline_tokens_per_s

    def to_dict(self) -> dict:
        return {"design": self.design, "config": self.config, "policy": self.policy,
                "tokens_per_s": self.tokens_per_s, "bytes_per_token": self.bytes_per_token,
                "hbm_roofline_tokens_per_s": self.roofline_tokens_per_s,
                "fraction_of_hbm_roofline": self.roofline_fraction,
                "limiting_unit": self.limiting_unit, "utilization": self.utilization}


def design_rows(kv_len: int = KV_LEN, clock_mhz: float | None = None,
                designs=DESIGNS) -> list[DesignRow]:
    """One row per design; ``clock_mhz`` replaces every config's clock (what-if)."""
    shape = load_shape(MODEL)
    out = []
    for label, cfg_name, pol_name in designs:
        cfg = load(cfg_name if "/" not in cfg_name else CONFIG_DIR / cfg_name)
        if clock_mhz is not None:
            cfg = cfg.model_copy(update={"clock_mhz": clock_mhz})
        step = time_pass(decode_step(shape, kv_len), cfg, load_policy(pol_name, shape))
        peak = cfg.memory.bandwidth_gbps * 1e9
        util = {k: v / step.cycles for k, v in step.busy().items()}
        out.append(DesignRow(label, cfg.name, pol_name, 1 / step.seconds, step.bytes,
                             peak / step.bytes, step.limiting_unit, util))
    return out


# The BitMoD design's PE count is synthesized (docs/results/resources.md), its clock is not
# timed: these clocks show where each policy turns compute-bound.
CLOCKS_MHZ = (150, 175, 200, 225, 250)


def clock_rows(clocks=CLOCKS_MHZ, kv_len: int = KV_LEN) -> dict[float, list[DesignRow]]:
    """The BitMoD design's rows at each clock of ``clocks``."""
    ours = tuple(d for d in DESIGNS if d[1] == "designs/u280-bitmod.yaml")
    return {c: design_rows(kv_len, c, ours) for c in clocks}


def clock_markdown(by_clock: dict[float, list[DesignRow]]) -> str:
    first = next(iter(by_clock.values()))
    lines = ["| clock (MHz) | " + " | ".join(r.design for r in first) + " |",
             "|---|" + "---|" * len(first)]
    for clock, rows in by_clock.items():
        lines.append(f"| {clock:g} | " + " | ".join(
            f"{r.tokens_per_s:.1f} ({r.limiting_unit})" for r in rows) + " |")
    return "\n".join(lines)


def markdown(rows: list[DesignRow]) -> str:
    lines = ["| design | config | policy | tokens/s | MB/token | HBM-roofline tokens/s | "
             "fraction of roofline | limiting unit |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.design} | {r.config} | {r.policy} | {r.tokens_per_s:.1f} | "
                     f"{r.bytes_per_token / 1e6:.0f} | {r.roofline_tokens_per_s:.1f} | "
                     f"{r.roofline_fraction:.3f} | {r.limiting_unit} |")
    return "\n".join(lines)
