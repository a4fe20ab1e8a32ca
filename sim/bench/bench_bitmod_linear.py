"""Speed of golden.bitserial.linear (the bit-accurate BitMoD engine model) at SmolLM2 shapes.

Usage: .venv/bin/python -m bitflight.sim.bench bitmod_linear [-- --tokens 32 --repeat 3]
Times ``linear(x [T, 576], W [N, 576])`` for the SmolLM2-135M projections (q/o 576x576, k/v
192x576 (GQA), gate/up 1536x576, down 576x1536) with 4-bit BitMoD weights, group 64, int scales:
wall time (best of ``repeat``) and process CPU time, with the weight preparation excluded (the
accelerator-numerics model prepares each weight once).
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
    args = ap.parse_args()
    gen = torch.Generator().manual_seed(0)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
          f"(shared; load average {os.getloadavg()[0]:.1f}), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print("| linear | T x K x N | wall s (best) | CPU s |\n|---|---|---|---|")
    for name, (n, k) in SHAPES.items():
        qw = quant.quantize(torch.randn(n, k, generator=gen) * 0.02, "bitmod", 4, group_size=64,
                            scale_mode="int")
        ew = bitserial.engine_weight(qw)
        x = torch.randn(args.tokens, k, generator=gen).half()
        best, cpu = float("inf"), 0.0
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            bitserial.linear(x, ew)
            best = min(best, time.perf_counter() - t0)
            cpu = time.process_time() - c0
        print(f"| {name} | {args.tokens} x {k} x {n} | {best:.3f} | {cpu:.3f} |")
