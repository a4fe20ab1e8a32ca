"""Markdown table, JSON and plot of a quantization-quality sweep (``bitflight eval``)."""
from __future__ import annotations

import json
from pathlib import Path

from ...base.atomic_file import save_figure, write_atomic

LAYER_TYPES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
               "lm_head")


def markdown_table(results: list[dict]) -> str:
    base = next((r["perplexity"] for r in results if r["scheme"] == "fp16"), None)
    head = ("| scheme | bits | group | bits/weight | perplexity | vs fp16 | "
            + " | ".join(f"MSE {t}" for t in LAYER_TYPES) + " |")
    lines = [head, "|" + "---|" * (6 + len(LAYER_TYPES))]
    for r in results:
        delta = f"{r['perplexity'] - base:+.3f}" if base is not None else "-"
        mse = " | ".join(f"{r['mse_by_type'].get(t, float('nan')):.2e}" for t in LAYER_TYPES)
        lines.append(f"| {r['scheme']} | {r['bits']} | {r['group_size'] or '-'} | "
                     f"{r['bits_per_weight']:.3f} | {r['perplexity']:.3f} | {delta} | {mse} |")
    return "\n".join(lines) + "\n"


def plot(results: list[dict], path: Path, title: str) -> None:
    """One panel per weight width: perplexity (log) vs effective bits/weight, fp16 dashed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    base = next((r for r in results if r["scheme"] == "fp16"), None)
    widths = sorted({r["bits"] for r in results if r["scheme"] != "fp16"})
    fig, axes = plt.subplots(1, max(len(widths), 1), figsize=(max(7.0, 5.5 * len(widths)), 4.5),
                             squeeze=False)
    for ax, bits in zip(axes[0], widths):
        rows = sorted((r for r in results if r["bits"] == bits and r["scheme"] != "fp16"),
                      key=lambda r: r["perplexity"])
        for i, r in enumerate(rows):
            ax.scatter(r["bits_per_weight"], r["perplexity"], s=40,
                       color="C3" if r["scheme"] == "bitmod" else "C0")
            ax.annotate(r["scheme"], (r["bits_per_weight"], r["perplexity"]),
                        textcoords="offset points", xytext=(6, -3 + 7 * (i % 2)), fontsize=8)
        if base is not None:
            ax.axhline(base["perplexity"], color="gray", ls="--", lw=1)
            ax.annotate(f"fp16 {base['perplexity']:.2f}", (0.02, base["perplexity"]),
                        xycoords=("axes fraction", "data"), va="bottom", color="gray", fontsize=8)
        xs = [r["bits_per_weight"] for r in rows]
        ax.set_xlim(min(xs) - 0.1, max(xs) + 0.2)
        ax.set_yscale("log")
        ax.set_title(f"W{bits}", fontsize=10)
        ax.set_xlabel("effective bits per weight (codes + scales + ids)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("perplexity (log scale)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def write_report(results: list[dict], out_dir: Path, meta: dict) -> dict[str, Path]:
    """quantization.{md,json,png} under ``out_dir``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / f"quantization.{k}" for k in ("md", "json", "png")}
    write_atomic(paths["json"], json.dumps({"meta": meta, "results": results}, indent=1))
    md = (f"# Weight-only quantization quality: {meta['model']}\n\n"
          f"Command: `{meta['command']}`\n\n"
          f"Corpus: {meta['corpus']}; {meta['tokens']} tokens in windows of {meta['seq_len']}.\n"
          "Perplexity with weight-only fake quantization of every linear layer incl. lm_head, "
          "float32 activations. MSE: mean squared weight error per layer type.\n\n"
          + markdown_table(results) + f"\n![perplexity vs bits per weight]({paths['png'].name})\n")
    write_atomic(paths["md"], md)
    if results:
        plot(results, paths["png"], f"{meta['model']}: perplexity vs bits/weight "
                                    f"({meta['tokens']} tokens)")
    return paths
