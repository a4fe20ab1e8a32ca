"""A figure of quantization error per tensor and scheme (``bitflight quantize --plot``)."""
from __future__ import annotations

import os

import numpy as np

from ...base.atomic_file import save_figure
from .stats import ErrorStats


def plot_stats(results: list[tuple[str, str, int, ErrorStats]], path: str | os.PathLike) -> None:
    """SNR per tensor and scheme (left) and the datatype shares of mixed schemes (right)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tensors = list(dict.fromkeys(r[0] for r in results))
    schemes = list(dict.fromkeys(f"{r[1]} {r[2]}-bit" for r in results))
    mixed = [r for r in results if len(r[3].datatypes) > 1]
    short = _short_names(tensors)
    wide = 6 + 0.3 * (len(tensors) * len(schemes) + len(mixed))
    fig, axes = plt.subplots(1, 2 if mixed else 1, figsize=(max(wide, 7), 5), squeeze=False)
    ax = axes[0, 0]
    width = 0.8 / len(schemes)
    x = np.arange(len(tensors))
    for i, label in enumerate(schemes):
        snr = [next((r[3].snr_db for r in results if r[0] == t and f"{r[1]} {r[2]}-bit" == label),
                    np.nan) for t in tensors]
        ax.bar(x + i * width, snr, width, label=label)
    ax.set_xticks(x + 0.4 - width / 2, [short[t] for t in tensors], rotation=45, ha="right",
                  fontsize=7)
    ax.set_ylabel("SNR (dB)")
    ax.set_title("quantization SNR (higher is better)")
    finite = [r[3].snr_db for r in results if np.isfinite(r[3].snr_db)]
    ax.set_ylim(min(finite + [0.0]), 1.25 * max(finite + [1.0]))   # headroom for the legend
    ax.legend(fontsize=7, loc="upper center", ncol=min(len(schemes), 4))
    if mixed:
        ax = axes[0, 1]
        labels = [f"{short[r[0]]} {r[1]}" for r in mixed]
        bottom = np.zeros(len(mixed))
        for fmt in dict.fromkeys(f for r in mixed for f in r[3].datatypes):
            share = np.array([100 * r[3].datatypes.get(fmt, (0.0, 0.0))[0] for r in mixed])
            ax.bar(np.arange(len(mixed)), share, bottom=bottom, label=fmt)
            bottom += share
        ax.set_xticks(np.arange(len(mixed)), labels, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("% of groups")
        ax.set_title("chosen datatype per group")
        ax.set_ylim(0, 125)
        ax.legend(fontsize=7, loc="upper center", ncol=4)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def _short_names(names: list[str]) -> dict[str, str]:
    """Tensor names without their common dotted prefix (``blk.0.`` of every label)."""
    if len(names) < 2:
        return {n: n for n in names}
    parts = [n.split(".") for n in names]
    common = 0
    while all(len(p) > common + 1 and p[common] == parts[0][common] for p in parts):
        common += 1
    return {n: ".".join(p[common:]) for n, p in zip(names, parts)}
