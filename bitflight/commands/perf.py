"""``bitflight perf``: predicted speed of a model on an accelerator config, roofline, reproductions.

Modes:
  bitflight perf --model M --config C --prompt-len P --gen-len G [--policy POL] [--json] [--plot F]
  bitflight perf --model M --device a6000 --prompt-len P --gen-len G   (roofline only, GPUs)
  bitflight perf --reproduce {bitmod,flightllm,llm-viewer} [--json] [--plot F]
  bitflight perf --compare [--json] [--plot F]        (our design against FlightLLM on the U280)
  bitflight perf --program PROG.bfp --config C [--json] (event-level: six queues, tokens)
  bitflight perf --program OUT --bucket decode:512 --config C   (a `bitflight compile` folder)
Conventions are in docs/perf.md.
"""
from __future__ import annotations

import argparse
import json
from ..base.errors import UsageError

REPRODUCTIONS = ("bitmod", "flightllm", "llm-viewer")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "perf", help="predict cycles, time and tokens/s; roofline; reproduce published numbers",
        description=__doc__.split("\n\n")[0] + " See docs/perf.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[2:]))
    p.add_argument("--model", help="shape-only model name (configs/models) or YAML path")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--config", help="accelerator config name or YAML path")
    target.add_argument("--device", help="roofline-only device (configs/devices), e.g. a6000")
    p.add_argument("--policy", help="a project policy (configs/policies, as bitflight compile), "
                   "a perf preset, or a YAML path (default: preset bitmod-w4-g128 on a BitMoD "
                   "engine, flightllm-int4 on a CSD engine)")
    p.add_argument("--prompt-len", type=int, default=128, help="prompt tokens (default 128)")
    p.add_argument("--gen-len", type=int, default=128, help="decode steps (default 128)")
    p.add_argument("--attention", choices=("exact", "bitmod-hpca"),
                   help="attention shape convention (default: exact, except bitmod-hpca for "
                   "--reproduce bitmod; see docs/perf.md)")
    p.add_argument("--dtype", default="fp16", help="device datatype for --device (default fp16)")
    p.add_argument("--reproduce", choices=REPRODUCTIONS, help="compare with published numbers")
    p.add_argument("--compare", action="store_true",
                   help="our BitMoD design against FlightLLM on the U280 (LLaMA-2-7B decode)")
    p.add_argument("--program", metavar="FILE",
                   help="event-level timing on --config of a program file, or of a "
                   "`bitflight compile` output folder together with --bucket")
    p.add_argument("--bucket", help="bucket program of a compiled folder, e.g. decode:16")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--plot", metavar="FILE", help="write a plot (PNG/PDF/SVG) to FILE")
    p.set_defaults(func=handler)


def handler(args) -> int:
    if args.reproduce:
        return _reproduce(args)
    if args.compare:
        return _compare(args)
    if args.program:
        return _program(args)
    if args.bucket:
        raise UsageError("--bucket needs --program (a compiled folder)")
    if not args.model or not (args.config or args.device):
        raise UsageError("give --model and --config (or --device), or --reproduce / --compare")
    args.attention = args.attention or "exact"
    if args.device:
        return _device_roofline(args)
    return _analyze(args)


def _reproduce(args) -> int:
    from ..sim.perf import plots, reproduce
    rows = reproduce.run(args.reproduce, args.attention)
    if args.plot:
        plots.reproduction(rows, args.plot, f"bitflight perf --reproduce {args.reproduce}")
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=1))
        return 0
    print(f"{'published number':72s} {'ours':>14s} {'paper':>14s} {'error':>8s}  tol")
    for r in rows:
        flag = "fitted" if r.note == "fitted" else ("ok" if r.ok else "OUT")
        print(f"{r.name:72s} {r.ours:14.6g} {r.paper:14.6g} {r.error:+8.2%}  "
              f"{r.tolerance:.1%} {flag}")
    if args.reproduce == "bitmod":
        print("\nper-model cycles (context 256; decode step at context 256):")
        print(reproduce.module("bitmod").cycles_table(args.attention or "bitmod-hpca"))
    return 0


def _compare(args) -> int:
    from ..sim.perf import compare, plots
    rows = compare.design_rows()
    if args.plot:
        plots.designs(rows, args.plot, f"LLaMA-2-7B decode at KV {compare.KV_LEN}, U280 "
                      "clock/HBM/buffers")
    clocks = compare.clock_rows()
    if args.json:
        print(json.dumps({"designs": [r.to_dict() for r in rows],
                          "bitmod_by_clock_mhz": {str(c): [r.to_dict() for r in rs]
                                                  for c, rs in clocks.items()}}, indent=1))
        return 0
    print(compare.markdown(rows))
    print("\nBitMoD design, tokens/s (limiting unit) by clock (the PE count is synthesized, "
          "the clock is not timed):")
    print(compare.clock_markdown(clocks))
    return 0


def _program(args) -> int:
    from ..base import config
    from ..compiler.encoding import decode_program
    from ..compiler.output import program_file
    from ..sim.perf.events import simulate
    if not args.config:
        raise UsageError("--program needs --config")
    cfg = config.load(args.config)
    timing = simulate(decode_program(program_file(args.program, args.bucket)), cfg)
    if args.json:
        print(json.dumps(timing.to_dict(), indent=1))
        return 0
    what = f"{args.program} {args.bucket}" if args.bucket else args.program
    print(f"{what} on {cfg.name}: {len(timing.events)} instructions, "
          f"{timing.cycles:.0f} cycles, {timing.seconds * 1e6:.2f} us")
    if timing.energy_pj is not None:
        print(f"  energy {timing.energy_pj / 1e6:.3f} uJ")
    for q, u in timing.utilization().items():
        print(f"  {q:5s} busy {timing.busy()[q]:12.0f} cycles  {u:6.1%}")
    for ch, nbytes in timing.bytes_per_channel().items():
        print(f"  HBM channel {ch:2d}: {nbytes} bytes")
    for layer, (a, b) in timing.layers.items():
        print(f"  layer {layer:3d}: {b - a:12.0f} cycles")
    return 0


def _default_policy(cfg):
    from ..sim.perf.policy import PRESETS
    return PRESETS["bitmod-w4-g128" if cfg.bitmod is not None else "flightllm-int4"]


def _analyze(args) -> int:
    from ..base import config
    from ..golden.model_shapes import load_shape
    from ..sim.perf import plots, roofline
    from ..sim.perf.analyze import analyze
    from ..sim.perf.policy_loader import load_policy
    from ..sim.perf.workload import decode_step, prefill
    shape, cfg = load_shape(args.model), config.load(args.config)
    policy = load_policy(args.policy, shape) if args.policy else _default_policy(cfg)
    run = analyze(shape, cfg, policy, args.prompt_len, args.gen_len, args.attention,
                  progress=args.gen_len >= 256)
    passes = [prefill(shape, args.prompt_len, args.attention)]
    if args.gen_len:
        passes.append(decode_step(shape, args.prompt_len + args.gen_len, args.attention))
    roofs = {p.stage: roofline.config_roof(cfg, policy, p.stage) for p in passes}
    pts = [pt for p in passes for pt in roofline.points(p, policy, roofs[p.stage])]
    if args.plot:
        plots.roofline(pts, list(roofs.values()), args.plot,
                       f"{shape.name} on {cfg.name} ({policy.name})")
    if args.json:
        out = {"summary": run.summary(), "prefill": run.prefill.to_dict(),
               "decode_last": run.decode[-1].to_dict() if run.decode else None,
               "roofline": [pt.to_dict() for pt in pts]}
        print(json.dumps(out, indent=1))
        return 0
    _print_summary(run)
    _print_ops("prefill", run.prefill)
    if run.decode:
        _print_ops(f"last decode step (KV {run.decode[-1].kv_len})", run.decode[-1])
    _print_roofline(pts)
    return 0


def _device_roofline(args) -> int:
    from ..golden.model_shapes import load_shape
    from ..sim.perf import plots, roofline
    from ..sim.perf.devices import load_device
    from ..sim.perf.policy_loader import load_policy
    from ..sim.perf.workload import decode_step, prefill
    shape, device = load_shape(args.model), load_device(args.device)
    policy = load_policy(args.policy or "fp16", shape)
    roof = roofline.device_roof(device, args.dtype)
    passes = [prefill(shape, args.prompt_len, args.attention)]
    if args.gen_len:
        passes.append(decode_step(shape, args.prompt_len + args.gen_len, args.attention))
    pts = [pt for p in passes for pt in roofline.points(p, policy, roof)]
    if args.plot:
        plots.roofline(pts, [roof], args.plot, f"{shape.name} on {device.name} ({policy.name})")
    if args.json:
        print(json.dumps({"device": device.name, "roofline": [pt.to_dict() for pt in pts]},
                         indent=1))
        return 0
    _print_roofline(pts)
    return 0


def _print_summary(run) -> None:
    s = run.summary()
    print(f"{s['model']} on {s['config']} ({s['engine']} engine, policy {s['policy']}): "
          f"prompt {s['prompt_len']}, generate {s['gen_len']}")
    print(f"  prefill  {s['prefill_s'] * 1e3:10.3f} ms  {s['prefill_cycles']:14.0f} cycles  "
          f"limited by {s['prefill_limiting_unit']}")
    if run.decode:
        print(f"  decode   {s['decode_s'] * 1e3:10.3f} ms  {s['decode_tokens_per_s']:10.2f} "
              f"tokens/s  limited by {s['decode_limiting_unit']}")
    print(f"  total    {s['total_s'] * 1e3:10.3f} ms")
    if s["energy_pj"] is not None:
        e = s["energy_pj"]
        print(f"  energy   prefill {e['prefill'] / 1e9:.3f} mJ, decode {e['decode'] / 1e9:.3f} mJ, "
              f"total {e['total'] / 1e9:.3f} mJ (config energies; docs/perf.md)")
    fits = "" if s["fits_memory"] else "  -- DOES NOT FIT: the times assume it did"
    print(f"  off-chip footprint {s['footprint_bytes'] / 1e9:.3f} GB of "
          f"{s['capacity_bytes'] / 1e9:g} GB{fits}")


def _print_ops(title: str, p) -> None:
    print(f"\n{title}: {p.cycles:.0f} cycles, {p.bytes / 1e6:.1f} MB, utilization "
          + ", ".join(f"{k} {v / p.cycles:.0%}" for k, v in p.busy().items()))
    print(f"  {'op':12s} {'x':>4s} {'MMACs':>10s} {'compute':>12s} {'memory':>12s} "
          f"{'MB':>9s}  bound")
    for o in p.ops + p.vector_ops:
        print(f"  {o.name:12s} {o.count:4d} {o.macs / 1e6:10.2f} {o.compute_cycles:12.0f} "
              f"{o.memory_cycles:12.0f} {(o.bytes_read + o.bytes_written) / 1e6:9.3f}  {o.bound}")


def _print_roofline(pts) -> None:
    print(f"\nroofline (2 OPs per MAC; bytes = operand + activations, each once):")
    print(f"  {'stage':8s} {'op':12s} {'GOPs':>10s} {'MB':>10s} {'OP/B':>9s} {'us':>10s}  bound")
    for pt in pts:
        print(f"  {pt.stage:8s} {pt.name:12s} {pt.ops / 1e9:10.4f} {pt.bytes / 1e6:10.3f} "
              f"{pt.intensity:9.2f} {pt.seconds * 1e6:10.2f}  {pt.bound}")
