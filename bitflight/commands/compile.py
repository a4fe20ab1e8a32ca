"""``bitflight compile``: a model, a hardware config and a policy to bucketed programs + image."""
from __future__ import annotations

import argparse
from ..base.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compile", help="compile a model into bucketed ISA programs and a memory image",
        description="Compile MODEL for CONFIG under POLICY: one program per length bucket "
                    "(prefill rounded up to 128 tokens, decode KV length to 16) sharing every "
                    "length-independent segment, plus the weight/memory image and a manifest.")
    parser.add_argument("--model", required=True,
                        help="tiny-llama, tiny-golden, smollm2, a .gguf / HF folder, or a "
                             "shape-only config name (configs/models, e.g. llama2-7b)")
    parser.add_argument("--config", required=True, help="hardware config name or YAML path")
    parser.add_argument("--policy", required=True, help="policy name (configs/policies) or path")
    parser.add_argument("--max-len", type=int, default=None,
                        help="maximum context the buckets cover (default: the model's)")
    parser.add_argument("--no-weights", action="store_true",
                        help="do not materialize weights: programs and sizes only")
    parser.add_argument("--check", action="store_true",
                        help="also prove every program's wait/release tokens (slower)")
    parser.add_argument("--stats", action="store_true",
                        help="print instruction counts, program store bytes and compile time")
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON")
    parser.add_argument("-o", "--output", required=True, help="output folder")
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    import json
    import sys
    import time

    from ..base import config
    from ..compiler import build, models, output, target as tg
    from ..golden.policy import load_policy

    start = time.perf_counter()
    cfg = config.load(args.config)
    policy = load_policy(args.policy)
    source = models.load(args.model, weights=not args.no_weights)
    max_len = args.max_len or source.graph.dims.max_position
    if max_len < 1:
        raise UsageError(f"--max-len must be positive, got {max_len}")
    target = tg.build_target(source.graph, cfg, policy, source.weights, max_pos=max_len)
    store, _ = build.compile_buckets(target, max_len, check=args.check,
                                     progress=sys.stderr.isatty())
    seconds = time.perf_counter() - start
    info = {"model": args.model, "config": cfg.name, "policy": policy.name, "max_len": max_len}
    numbers = output.stats(store, seconds, target)
    output.write(args.output, target, store, {**info, "stats": {
        k: v for k, v in numbers.items() if k != "per_bucket"}}, not args.no_weights)
    if args.json:
        print(json.dumps({**info, **{k: v for k, v in numbers.items() if k != "per_bucket"}}))
    elif args.stats:
        print(f"{args.output}: {numbers['buckets']} buckets, {numbers['segments']} distinct "
              f"segments, program store {numbers['program_bytes']:,} bytes "
              f"(unshared {numbers['unshared_program_bytes']:,}), memory image "
              f"{numbers['image_bytes']:,} bytes, {numbers['compile_seconds']:.2f} s")
        print("instructions: " + ", ".join(f"{k} {v:,}" for k, v in
                                            numbers["instructions"].items()))
    else:
        print(f"{args.output}: {numbers['buckets']} bucket programs, "
              f"{numbers['program_bytes']:,} bytes")
    return 0
