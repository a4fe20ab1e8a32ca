"""The sweep report: Pareto plots (matplotlib), ``report.md`` (fronts, chosen design, invalid
points) and ``points.csv`` (every point), all written atomically into the results folder and
redrawn from the store alone by ``bitflight sweep --report RESULTS``.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from ...base.atomic_file import save_figure, write_atomic
from . import pareto
from .metrics import METRICS, within

NAME_COLUMNS = ("config", "policy", "model", "engine", "prompt_len", "gen_len")
TABLE_METRICS = ("decode_tokens_per_s", "prefill_tokens_per_s", "lut", "dsp", "perplexity",
                 "energy_per_token_j", "decode_tokens_per_s_per_klut")


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")         # a table cell cannot hold a bare bar


def varying_params(records: list[dict]) -> list[str]:
    """Parameter keys whose value differs between points (the ones worth a column)."""
    values: dict[str, set] = {}
    for r in records:
        for k, v in r["params"].items():
            values.setdefault(k, set()).add(repr(v))
    keys = [k for k, vs in values.items() if len(vs) > 1 or any(k not in r["params"]
                                                                for r in records)]
    return sorted(keys)


def _design(r: dict, keys: list[str]) -> str:
    """The point's varying parameters, except those with a column of their own."""
    return ", ".join(f"{k}={_fmt(r['params'].get(k))}" for k in keys
                     if k in r["params"] and k not in NAME_COLUMNS)


def plot_front(usable: list, best: list, x: str, y: str, chosen: dict | None, infeasible: list,
               path: Path, title: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    try:
        for space in sorted({r["space"] for r in usable}):
            pts = [r for r in usable if r["space"] == space]
            ax.scatter([r[x] for r in pts], [r[y] for r in pts], s=14, alpha=0.6, label=space)
        if infeasible:
            ax.scatter([r[x] for r in infeasible], [r[y] for r in infeasible], s=14, marker="x",
                       color="0.6", label="outside constraints")
        ax.plot([r[x] for r in best], [r[y] for r in best], "-o", color="black", ms=4,
                label=f"Pareto front ({len(best)})")
        if chosen is not None and chosen.get(x) is not None and chosen.get(y) is not None:
            ax.scatter([chosen[x]], [chosen[y]], marker="*", s=220, color="red", zorder=5,
                       label="chosen design")
        xs = [r[x] for r in usable + infeasible if r[x] > 0]
        if xs and max(xs) / min(xs) > 50:
            ax.set_xscale("log")
        ax.set_xlabel(f"{x} ({METRICS[x].unit}, {METRICS[x].goal} is better)")
        ax.set_ylabel(f"{y} ({METRICS[y].unit}, {METRICS[y].goal} is better)")
        ax.set_title(title, fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        return save_figure(fig, path, dpi=130)
    finally:
        plt.close(fig)


def _table(rows: list[dict], keys: list[str], extra: tuple[str, ...]) -> list[str]:
    cols = [m for m in TABLE_METRICS + extra if any(r.get(m) is not None for r in rows)]
    cols = list(dict.fromkeys(cols))
    lines = ["| space | policy | design | " + " | ".join(cols) + " |",
             "|---|---|---|" + "---|" * len(cols)]
    for r in rows:
        lines.append(f"| {r['space']} | {r['policy']} | {_design(r, keys)} | "
                     + " | ".join(_fmt(r.get(c)) for c in cols) + " |")
    return lines


def write_csv(records: list[dict], path: Path) -> Path:
    params = sorted({k for r in records for k in r["params"]})
    metrics = [m for m in METRICS if any(r.get(m) is not None for r in records)]
    head = ["key", "space", "status", "reason", *NAME_COLUMNS, *(f"param:{p}" for p in params),
            *metrics, "area_note", "perplexity_note", "seconds"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)
    for r in records:
        w.writerow([r.get("key"), r.get("space"), r.get("status"), r.get("reason"),
                    *(r.get(c) for c in NAME_COLUMNS), *(r["params"].get(p) for p in params),
                    *(r.get(m) for m in metrics), r.get("area_note"), r.get("perplexity_note"),
                    r.get("seconds")])
    return write_atomic(path, buf.getvalue())


def write_report(store, spec, folder: Path, wall_s: float | None = None) -> list[Path]:
    """Plots, report.md and points.csv for every point in ``store`` under ``spec``'s fronts,
    constraints and choice rule; returns the files written."""
    folder = Path(folder)
    records = store.records()
    ok = [r for r in records if r["status"] == "ok"]
    keys = varying_params(records)
    chosen, how = (pareto.choose(ok, spec.choose, spec.constraints) if spec.choose
                   else (None, "no choose rule in the spec"))
    counts = Counter(r["status"] for r in records)
    lines = [f"# Sweep `{spec.name}`", "", spec.description or "", "",
             f"{len(records)} points: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
             + f"; {store.counts()['synth_cache']} syntheses and "
             f"{store.counts()['perplexity_cache']} perplexity runs in the store."]
    if wall_s is not None:
        lines.append(f"Wall time of the run that wrote this report: {wall_s:.1f} s.")
    lines += ["", "## Chosen design", "", f"Rule: {how}.", ""]
    if chosen is not None:
        lines += ["| field | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(chosen.get(k))} |" for k in NAME_COLUMNS]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in sorted(chosen["params"].items())
                  if k not in NAME_COLUMNS]
        lines += [f"| {m} | {_fmt(chosen.get(m))} |" for m in METRICS
                  if chosen.get(m) is not None]
        lines += [f"| area basis | {chosen.get('area_note', '-')} |", f"| key | {chosen['key']} |"]
    written = []
    lines += ["", "## Pareto fronts", ""]
    for f in spec.report.fronts:
        usable, best = pareto.front_records(ok, f.x, f.y, spec.constraints)
        infeasible = [r for r in ok if r.get(f.x) is not None and r.get(f.y) is not None
                      and not within(r, spec.constraints)[0]]
        lines += [f"### {f.y} against {f.x}", ""]
        if not usable:
            lines += [f"No point has both {f.x} and {f.y}" + (" within the constraints"
                      if infeasible else "") + ".", ""]
            continue
        png = folder / f"pareto-{f.x}-{f.y}.png"
        written.append(plot_front(usable, best, f.x, f.y, chosen, infeasible, png,
                                  f"{spec.name}: {f.y} vs {f.x}"))
        lines += [f"![{f.y} against {f.x}]({png.name})", "",
                  f"{len(best)} of {len(usable)} points on the front:", ""]
        lines += _table(best, keys, (f.x, f.y)) + [""]
    bad = Counter(r["reason"] for r in records if r["status"] != "ok")
    if bad:
        lines += ["## Points not evaluated", "", "| points | reason |", "|---|---|"]
        lines += [f"| {n} | {_fmt(reason)} |" for reason, n in bad.most_common()]
    written.append(write_atomic(folder / "report.md", "\n".join(lines) + "\n"))
    written.append(write_csv(records, folder / "points.csv"))
    return written
