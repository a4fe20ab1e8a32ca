"""Speed of golden.bitserial.linear (the bit-accurate BitMoD engine model) at SmolLM2 shapes.

Usage: .venv/bin/python -m bitflight.sim.bench bitmod_linear [-- --tokens 1 32 --repeat 3]
Times ``linear(x [T, K], W [N, K])`` for every SmolLM2-135M linear shape (q/o 576x576, k/v
192x576 (GQA), gate/up 1536x576, down 576x1536, the tied lm_head 49152x576) with 4-bit BitMoD
weights, group 64, int scales: the first call on a prepared weight (it builds the cached term
tables, as the first token of a generation does) and the best of ``repeat`` later calls, wall
and process CPU time, per intra-op thread count (``vector.THREADS``). The last table adds the
shapes up with their counts in one forward pass (30 layers: 60 q/o, 60 k/v, 60 gate/up, 30
down, 1 lm_head): the linear time of one decode token (T = 1) or one T-token prefill.
``--smollm2`` instead runs the real model through golden.llm.accel (bitmod W4 g64, bitserial
linears): a first 8-token prefill (builds every table), 3 decode steps, a 32-token prefill.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

# name -> (N, K, linears of this shape per SmolLM2-135M forward pass)
SHAPES = {"q_o_proj": (576, 576, 60), "k_v_proj": (192, 576, 60),
          "gate_up_proj": (1536, 576, 60), "down_proj": (576, 1536, 30),
          "lm_head": (49152, 576, 1)}


def _timed(fn) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _smollm2() -> None:
    import torch

    from ...golden.llm import load_model
    from ...golden.llm.accel import accelerator_model
    from ...golden.policy import Policy
    torch.set_num_threads(1)
    model = load_model("smollm2")
    policy = Policy.model_validate({
        "name": "bitmod-w4-g64", "engine": "bitmod", "activations": "fp16", "kv_cache": "fp16",
        "default": {"scheme": "bitmod", "bits": 4, "group_size": 64}})
    t0 = time.perf_counter()
    acc = accelerator_model(model, policy, linear="bitserial")
    wall = time.perf_counter() - t0
    print(f"SmolLM2-135M, golden.llm.accel bitmod-w4-g64 (bitserial), 1 thread, "
          f"load average {os.getloadavg()[0]:.1f}; weight preparation {wall:.1f} s\n\n"
          "| pass | wall s | CPU s |\n|---|---|---|")
    ids = torch.arange(100, 132)[None]
    state = {}
    with torch.no_grad():
        def prefill(t):
            state["logits"], state["cache"] = acc.prefill(ids[:, :t])

        def decode():
            nxt = state["logits"][0, -1].argmax()[None]
            state["logits"] = acc.decode(nxt, state["cache"])
        rows = [("prefill 8 tokens (first call: builds every table)", lambda: prefill(8))]
        rows += [(f"decode token {i + 1}", decode) for i in range(3)]
        rows += [("prefill 32 tokens", lambda: prefill(32))]
        for name, fn in rows:
            w, c = _timed(fn)
            print(f"| {name} | {w:.2f} | {c:.2f} |", flush=True)


def main() -> None:
    import torch

    from ...golden import bitserial, quant
    from ...golden.bitserial import vector
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, nargs="+", default=[1, 32])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES),
                    metavar="SHAPE", help=f"subset of: {', '.join(SHAPES)}")
    ap.add_argument("--smollm2", action="store_true",
                    help="time the real SmolLM2 model through golden.llm.accel instead")
    args = ap.parse_args()
    if args.smollm2:
        _smollm2()
        return
    gen = torch.Generator().manual_seed(0)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
          f"(shared; load average {os.getloadavg()[0]:.1f}), torch {torch.__version__}")
    print("| linear | T x K x N | threads | first call wall s | wall s (best) | CPU s (best) |\n"
          "|---|---|---|---|---|---|")
    totals: dict[tuple[int, int], list[float]] = {}
    for name in args.shapes:
        n, k, count = SHAPES[name]
        qw = quant.quantize(torch.randn(n, k, generator=gen) * 0.02, "bitmod", 4, group_size=64,
                            scale_mode="int")
        for threads in args.threads:
            vector.THREADS = threads
            ew = bitserial.engine_weight(qw)          # fresh: the first call builds the tables
            first = None
            for t in args.tokens:
                x = torch.randn(t, k, generator=gen).half()
                if first is None:
                    first = _timed(lambda: bitserial.linear(x, ew))[0]
                runs = [_timed(lambda: bitserial.linear(x, ew)) for _ in range(args.repeat)]
                wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
                tot = totals.setdefault((t, threads), [0.0, 0.0, 0.0])
                tot[0] += count * wall
                tot[1] += count * cpu
                if t == args.tokens[0]:
                    tot[2] += count * first
                print(f"| {name} | {t} x {k} x {n} | {threads} | {first:.3f} | {wall:.3f} | "
                      f"{cpu:.3f} |", flush=True)
    vector.THREADS = 1
    scope = ("one SmolLM2-135M forward pass" if set(args.shapes) == set(SHAPES)
             else "the measured shapes only")
    print(f"\nSum over {scope} (count x best time per shape):\n\n"
          "| T | threads | wall s | CPU s | first pass wall s (builds tables) |\n"
          "|---|---|---|---|---|")
    for (t, threads), (wall, cpu, first) in totals.items():
        print(f"| {t} | {threads} | {wall:.2f} | {cpu:.2f} | "
              f"{f'{first:.2f}' if t == args.tokens[0] else '-'} |")
