"""Timing of golden.quant on a SmolLM2-135M MLP-sized matrix ([1536, 576], group 128 padded).

Usage: .venv/bin/python -m bitflight.sim.bench quant [-- --repeat 5]
Prints the best wall time of quantize / pack / unpack / dequantize per scheme over --repeat runs
(docs/formats.md quotes the results). One torch thread, seeded gaussian weights (x 0.02).
"""
from __future__ import annotations

import argparse
import platform

import numpy as np
import torch

from .timing import best

CASES = [("bitmod", 4, "fp16"), ("bitmod", 3, "fp16"), ("bitmod", 4, "int"),
         ("int_sym", 4, "fp16"), ("int_asym", 4, "fp16"), ("fp", 4, "fp16"), ("ant", 4, "fp16"),
         ("mx", 4, "fp16"), ("nf4", 4, "fp16")]


def main() -> None:
    from ...golden import quant

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    w = torch.from_numpy((rng.standard_normal((1536, 576)) * 0.02).astype(np.float32))
    print(f"# {platform.processor() or platform.machine()}, {platform.python_version()}, "
          f"numpy {np.__version__}, torch {torch.__version__}, best of {args.repeat}, "
          f"[1536, 576] float32")
    print(f"{'scheme':22s} {'quantize':>9s} {'pack':>7s} {'unpack':>7s} {'dequant':>8s}  (ms)")
    for scheme, bits, mode in CASES:
        group = None if scheme == "mx" else 128

        def run():
            return quant.quantize(w, scheme, bits, group_size=group, scale_mode=mode, pad=True)

        qw = run()
        blob = qw.pack()
        times = [best(run, args.repeat), best(qw.pack, args.repeat),
                 best(lambda: quant.QuantizedWeight.unpack(blob), args.repeat),
                 best(qw.dequantize, args.repeat)]
        label = f"{scheme} {bits}-bit {mode}"
        print(f"{label:22s} " + " ".join(f"{t * 1e3:8.1f}" for t in times))
