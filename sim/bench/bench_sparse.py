"""Timing of golden.sparse on a SmolLM2-135M MLP-sized matrix ([1536, 576]).

Usage: .venv/bin/python -m bitflight.sim.bench sparse [-- --repeat 5 --tokens 32]
Prints the best wall time of each step over --repeat runs (docs/sparsity.md quotes the results).
"""
from __future__ import annotations

import argparse
import platform

import numpy as np
import torch

from .timing import best


def main() -> None:
    from ...golden import sparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    w = torch.from_numpy(rng.standard_normal((1536, 576)).astype(np.float32))
    x = rng.integers(-128, 128, (args.tokens, 576)).astype(np.int8)
    sp = sparse.prune_nm(w, density=0.5)
    q = sp.quantize_int(4)
    data = q.pack()
    steps = {
        "prune_nm(n=4)": lambda: sparse.prune_nm(w, n=4),
        "prune_nm(density=0.5)": lambda: sparse.prune_nm(w, density=0.5),
        "quantize_int(4)": lambda: sp.quantize_int(4),
        "pack": q.pack,
        "unpack": lambda: sparse.NMSparse.unpack(data),
        "matmul (1 token, gather)": lambda: sparse.matmul(q, x[:1]),
        f"matmul ({args.tokens} tokens, gather)": lambda: sparse.matmul(q, x, method="gather"),
        f"matmul ({args.tokens} tokens, scatter)": lambda: sparse.matmul(q, x, method="scatter"),
        "to_dense": q.to_dense,
        "causal_block_mask(2048, 32 heads).dense()":
            lambda: sparse.causal_block_mask(2048, keep=sparse.BlockPattern(local=8, sink=1),
                                             heads=32).dense(),
    }
    print(f"# {platform.processor() or platform.machine()}, {platform.python_version()}, "
          f"numpy {np.__version__}, torch {torch.__version__}, best of {args.repeat}")
    for name, fn in steps.items():
        print(f"{name:45s} {best(fn, args.repeat) * 1e3:8.1f} ms")
    print(f"packed INT4 size at density 0.5: {len(data)} bytes "
          f"({8 * len(data) / w.numel():.3f} bits per dense weight)")


if __name__ == "__main__":
    main()
