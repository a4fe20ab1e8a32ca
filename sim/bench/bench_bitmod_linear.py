"""Speed of golden.bitserial.linear (the bit-accurate BitMoD engine model) at SmolLM2 shapes.

Usage: .venv/bin/python -m bitflight.sim.bench bitmod_linear [-- --tokens 32 --repeat 3]
Times ``linear(x [T, 576], W [N, 576])`` for the SmolLM2-135M projections (q/o 576x576, k/v
192x576 (GQA), gate/up 1536x576, down 576x1536) with 4-bit BitMoD weights, group 64, int scales:
wall time and process CPU time (best of ``repeat``) per torch thread count, with the weight
preparation excluded (the accelerator-numerics model prepares each weight once).
"""
from __future__ import annotations

import argparse
import os
import platform
import time

SHAPES = {"q_proj / o_proj": (576, 576), "k_proj / v_proj": (192, 576),
          "gate_proj / up_proj": (1536, 576), "down_proj": (576, 1536)}


def main() -> None:
    import torch

    from ...golden import bitserial, quant
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, torch.get_num_threads()])
    args = ap.parse_args()
    gen = torch.Generator().manual_seed(0)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
          f"(shared; load average {os.getloadavg()[0]:.1f}), torch {torch.__version__}")
    print("| linear | T x K x N | torch threads | wall s (best) | CPU s (best) |\n"
          "|---|---|---|---|---|")
    for name, (n, k) in SHAPES.items():
        qw = quant.quantize(torch.randn(n, k, generator=gen) * 0.02, "bitmod", 4, group_size=64,
                            scale_mode="int")
        ew = bitserial.engine_weight(qw)
        x = torch.randn(args.tokens, k, generator=gen).half()
        bitserial.linear(x, ew)                       # builds the cached weight tables
        for threads in args.threads:
            torch.set_num_threads(threads)
            best, cpu = float("inf"), float("inf")
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                bitserial.linear(x, ew)
                best = min(best, time.perf_counter() - t0)
                cpu = min(cpu, time.process_time() - c0)
            print(f"| {name} | {args.tokens} x {k} x {n} | {threads} | {best:.3f} | {cpu:.3f} |")
