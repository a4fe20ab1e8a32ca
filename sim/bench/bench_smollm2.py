"""SmolLM2-135M decoder layers on the RTL top: how long a SmolLM2 token takes in simulation.

Usage: .venv/bin/python -m bitflight.sim.bench smollm2 [-- --layers 1 --policy bitmod-w4
       --prompt 1,2,3 --token 5 --json FILE]
Compiles the first ``--layers`` decoder layers of SmolLM2-135M (embedding, final norm and the
49,152-row lm_head kept) for config ``smollm2-rtl`` (tiny's engines, buffers sized for SmolLM2),
runs the prefill of ``--prompt`` on sim.isa (a 128-token bucket would take the RTL close to an
hour), then the decode step of ``--token`` on the Verilated top from sim.isa's state after the
prefill, and checks every HBM channel and buffer against sim.isa's decode, bit for bit (exit 1 on
a difference). It prints the RTL cycles, the simulation's wall time and speed, sim.perf's
RTL-calibrated model of the same program, and the projection to the whole model (30 layers,
all 49,152 tokens on smollm2-rtl): the measured cycles scaled by the model's ratio of the whole
model's decode step to this one. ``--vocab 512 --config tiny`` runs a real SmolLM2 layer on the
tests' tiny top (tests/rtl/top/test_top_smollm2.py does).
docs/results/simulation-speed.md quotes the result.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import NamedTuple

CONFIG = "smollm2-rtl"
MODEL_LAYERS = 30            # SmolLM2-135M


def _ids(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


def parse(argv=None):
    parser = argparse.ArgumentParser(prog="bench smollm2")
    parser.add_argument("--layers", type=int, default=1, help="decoder layers compiled (1-30)")
    parser.add_argument("--policy", default="bitmod-w4")
    parser.add_argument("--prompt", type=_ids, default=[1, 2, 3], help="prompt ids (sim.isa)")
    parser.add_argument("--token", type=int, default=5, help="id of the decode step (RTL)")
    parser.add_argument("--vocab", type=int, default=None,
                        help="keep only the first VOCAB rows of the embedding and the head "
                             "(default: all 49,152; a cut head fits config tiny)")
    parser.add_argument("--config", default=CONFIG, help=f"hardware config (default {CONFIG})")
    parser.add_argument("--json", metavar="FILE", help="also write the measurements as JSON")
    return parser.parse_args(argv)


def source(layers: int, vocab: int | None = None):
    """SmolLM2-135M's first ``layers`` decoder layers (and ``vocab`` token rows) to compile."""
    from ...compiler import models
    from ...golden.llm import load_model
    name = f"smollm2:{layers}" + (f" (vocab {vocab})" if vocab else "")
    return models.from_golden(name, load_model("smollm2").first_layers(layers, vocab))


def isa_states(cfg, model, args):
    """(decode program, its Step, state after the prefill, sim.isa after the decode, seconds)."""
    from ...compiler import isa
    from ..isa import scheduler
    from ..isa.machine import Machine
    from ..top.compiled import steps_for
    image, sizes, steps = steps_for(model, cfg, args.policy, args.prompt, [args.token])
    (prefill, pre_step), (decode, dec_step) = steps
    machine = Machine(cfg, image, sizes)
    start = time.monotonic()
    for ch, addr, data in pre_step.writes:
        machine.hbm[ch][addr:addr + len(data)] = data
    scheduler.run(machine, prefill, pre_step.pos0, pre_step.ntok)
    after_prefill = ({ch: bytes(m) for ch, m in machine.hbm.items()},
                     {b.name: bytes(machine.bufs[b]) for b in isa.Buf})
    prefill_s = time.monotonic() - start
    start = time.monotonic()
    for ch, addr, data in dec_step.writes:
        machine.hbm[ch][addr:addr + len(data)] = data
    scheduler.run(machine, decode, dec_step.pos0, dec_step.ntok)
    return decode, dec_step, after_prefill, machine, (prefill_s, time.monotonic() - start)


def model_cycles(cfg, program, step, policy: str) -> float:
    """sim.perf's cycles of the program in its RTL-calibrated mode (sim/top/perf_timing.py)."""
    from ..perf.events import simulate
    from ..top.perf_timing import RtlTiming
    return simulate(program, cfg, RtlTiming.for_policy(cfg, step.pos0, step.ntok, policy)).cycles


def whole_model_cycles(args) -> float:
    """sim.perf (RTL mode) of the same decode step compiled for the whole SmolLM2 (all layers
    and tokens) on config smollm2-rtl (tiny's engines)."""
    from ...base import config
    from ..top.compiled import steps_for
    cfg = config.load(CONFIG)
    _, _, steps = steps_for("smollm2", cfg, args.policy, args.prompt, [args.token])
    program, step = steps[1]
    return model_cycles(cfg, program, step, args.policy)


class DecodeRun(NamedTuple):
    program: list                 # the decode step's instructions
    step: object                  # its Step (words, pos0, ntok, host writes)
    result: object                # the top's Result
    reference: object             # sim.isa's Machine after the same step
    model_cycles: float           # sim.perf, RTL mode
    isa_seconds: tuple[float, float]
    build: object                 # the top's hdl.Build


def rtl_decode(cfg, model_source, args, announce=print) -> DecodeRun:
    """Prefill on sim.isa, then the decode step on the top from that state and on sim.isa."""
    from ..top import runner
    from ..top.job import Job
    program, step, (hbm, buffers), reference, isa_s = isa_states(cfg, model_source, args)
    model = model_cycles(cfg, program, step, args.policy)
    top = runner.build(cfg)
    announce(f"running {len(program):,} instructions on the RTL top (sim.perf expects "
             f"{model:,.0f} cycles) ...")
    job = Job(channels=hbm, limits={ch: len(m) for ch, m in hbm.items()}, steps=[step],
              buffers=buffers)
    return DecodeRun(program, step, runner.run(top, job, quiet=True), reference, model, isa_s,
                     top[0])


def main(argv=None) -> None:
    from ...base import config
    from ..top.compare import first_difference
    args = parse(argv)
    if not 0 < args.layers <= MODEL_LAYERS:
        raise SystemExit(f"bench smollm2: --layers must be 1..{MODEL_LAYERS}, not {args.layers}")
    cfg = config.load(args.config)
    model_source = source(args.layers, args.vocab)
    spec = model_source.name
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {spec}, config {cfg.name}, "
          f"policy {args.policy}, prompt {args.prompt} on sim.isa, decode of {args.token} on RTL",
          flush=True)
    run = rtl_decode(cfg, model_source, args, lambda line: print(line, flush=True))
    program, result, model, isa_s = run.program, run.result, run.model_cycles, run.isa_seconds
    if result.error:
        raise SystemExit(f"bench smollm2: the RTL run stopped: {result.error}")
    difference = first_difference(result, run.reference)
    rtl = result.steps[0].cycles
    whole = whole_model_cycles(args)
    token = rtl * whole / model
    speed = rtl / result.wall_seconds
    out = {"model": spec, "policy": args.policy, "instructions": len(program),
           "rtl_cycles": rtl, "wall_seconds": result.wall_seconds, "cycles_per_second": speed,
           "build_seconds": 0.0 if run.build.cache_hit else run.build.seconds,
           "isa_seconds": {"prefill": isa_s[0], "decode": isa_s[1]},
           "config": cfg.name, "model_cycles": model, "model_cycles_whole": whole,
           "projected_token_cycles": token, "clock_mhz": cfg.clock_mhz,
           "projected_token_ms": token / (cfg.clock_mhz * 1e3),
           "projected_token_wall_hours": token / speed / 3600,
           "identical_to_isa": difference is None, "active": result.steps[0].active}
    print(f"| decode step of {spec} | value |\n|---|---|\n"
          f"| instructions | {len(program):,} |\n| RTL cycles | {rtl:,} |\n"
          f"| simulation wall | {result.wall_seconds:.1f} s ({speed:,.0f} cycles/s) |\n"
          f"| sim.perf (RTL mode) | {model:,.0f} cycles ({100 * (model - rtl) / rtl:+.1f} %); "
          f"whole model: {whole:,.0f} |\n"
          f"| projected {MODEL_LAYERS}-layer token | {token:,.0f} cycles = "
          f"{out['projected_token_ms']:.1f} ms at {cfg.clock_mhz} MHz; "
          f"{out['projected_token_wall_hours']:.2f} h of simulation |\n"
          f"| final state vs sim.isa | {'identical' if difference is None else difference} |\n"
          f"(load {os.getloadavg()[0]:.1f})", flush=True)
    if args.json:
        from ...base.atomic_file import write_atomic
        write_atomic(args.json, json.dumps(out, indent=1))
    if difference is not None:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
