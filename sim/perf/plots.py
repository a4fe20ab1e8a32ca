"""Plots of the performance model (matplotlib, Agg backend, written atomically)."""
from __future__ import annotations

import math
from pathlib import Path

from ...base.atomic_file import save_figure
from .roofline import Roof, RooflinePoint


def _figure(width: float = 7.5, height: float = 5.0):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt, plt.subplots(figsize=(width, height))


def _save(fig, plt, path: str | Path, tight: bool = True) -> Path:
    if tight:
        fig.tight_layout()
    try:
        return save_figure(fig, path, dpi=130)
    finally:
        plt.close(fig)


def roofline(points: list[RooflinePoint], roofs: list[Roof], path: str | Path,
             title: str) -> Path:
    """Log-log roofline: one roof per mode, one marker per operation (o prefill, ^ decode)."""
    plt, (fig, ax) = _figure()
    lo = min(min(p.intensity for p in points) / 2, min(r.ridge for r in roofs) / 10)
    hi = max(max(p.intensity for p in points) * 2, max(r.ridge for r in roofs) * 10)
    for roof, style in zip(roofs, ("-", "--", ":")):
        xs = [lo, roof.ridge, hi]
        ax.plot(xs, [min(roof.peak_ops, x * roof.bandwidth) for x in xs], style, color="black",
                label=f"{roof.name}: {roof.peak_ops / 1e12:.3g} TOP/s, "
                      f"{roof.bandwidth / 1e9:.0f} GB/s")
    for stage, marker in (("prefill", "o"), ("decode", "^")):
        pts = [p for p in points if p.stage == stage]
        clusters: dict[tuple[int, int], list[RooflinePoint]] = {}
        for p in pts:   # operations within ~5% of each other share one label
            key = (round(math.log(p.intensity) * 20), round(math.log(p.attainable) * 20))
            clusters.setdefault(key, []).append(p)
        for i, group in enumerate(clusters.values()):
            p = group[0]
            ax.scatter(p.intensity, p.attainable, marker=marker, s=30)
            ax.annotate(", ".join(dict.fromkeys(q.name for q in group)),
                        (p.intensity, p.attainable), fontsize=6,
                        xytext=(4, -10 if i % 2 else 4), textcoords="offset points")
        if pts:
            ax.scatter([], [], marker=marker, color="gray", label=stage)
    ax.set(xscale="log", yscale="log", xlabel="arithmetic intensity (OP/B, 2 OPs per MAC)",
           ylabel="attainable OP/s", title=title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, plt, path)


def reproduction(rows, path: str | Path, title: str) -> Path:
    """Ours / paper per published number, with each row's tolerance band."""
    plt, (fig, ax) = _figure(10.0, 0.28 * len(rows) + 1.5)
    ys = range(len(rows))
    ratios = [r.ours / r.paper for r in rows]
    colors = ["tab:orange" if r.note == "fitted" else ("tab:green" if r.ok else "tab:red")
              for r in rows]
    ax.barh(list(ys), [x - 1 for x in ratios], left=1, color=colors)
    for y, r in zip(ys, rows):
        ax.plot([1 - r.tolerance, 1 + r.tolerance], [y, y], "|", color="gray")
    ax.axvline(1, color="black", lw=0.8)
    ax.set_yticks(list(ys), [r.name for r in rows], fontsize=6)
    ax.invert_yaxis()
    ax.set(xlabel="ours / published   (orange: fitted on it;  | : tolerance)", title=title)
    fig.subplots_adjust(left=0.42, right=0.97, top=1 - 0.5 / fig.get_figheight(),
                        bottom=0.7 / fig.get_figheight())
    return _save(fig, plt, path, tight=False)


def designs(rows, path: str | Path, title: str) -> Path:
    """Decode tokens/s per design, next to its HBM roofline."""
    plt, (fig, ax) = _figure(8.0, 4.5)
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r.tokens_per_s for r in rows], 0.4, label="modelled")
    ax.bar([x + 0.2 for x in xs], [r.roofline_tokens_per_s for r in rows], 0.4,
           label="HBM roofline (peak 460 GB/s)", color="lightgray")
    for x, r in zip(xs, rows):
        ax.annotate(f"{r.tokens_per_s:.0f}\n({r.roofline_fraction:.0%}, {r.limiting_unit})",
                    (x - 0.2, r.tokens_per_s), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(xs), [r.design for r in rows], fontsize=7, rotation=15)
    ax.set(ylabel="decode tokens/s (batch 1)", title=title)
    ax.legend(fontsize=8)
    return _save(fig, plt, path)
