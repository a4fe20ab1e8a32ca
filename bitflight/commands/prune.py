"""``bitflight prune``: N:M-prune weight tensors from a file, report the result, pack it."""
from __future__ import annotations

from ..base.errors import ModelError, UsageError
from . import _tensor_file


def register(sub) -> None:
    p = sub.add_parser(
        "prune", help="N:M-prune a .pt/.npy/.safetensors weight tensor (FlightLLM, M = 16)",
        description="Prune 2-D weight tensors [N out, K in] to N:M sparsity in 16x16 blocks "
                    "(docs/sparsity.md) and print, per tensor: achieved density, the share of "
                    "blocks per N, the kept share of |w|, the relative Frobenius error and the "
                    "packed bits per weight. With -o the packed result is written: one tensor -> "
                    "the raw packed layout; several -> a safetensors file of uint8 blobs.")
    _tensor_file.add_input(p, "prune")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--n", type=int, metavar="N", help="the same N in every block")
    how.add_argument("--density", type=float, metavar="D",
                     help="kept fraction; N chosen per block (greedy, docs/sparsity.md §2)")
    p.add_argument("--bits", type=int, choices=(4, 8),
                   help="store INT4/INT8 values with per-row scales (default: float32 values)")
    p.add_argument("--config", metavar="CFG",
                   help="take M and the allowed N from this hardware config's csd engine")
    p.add_argument("--n-options", metavar="LIST",
                   help="comma-separated allowed N for --density (default 2,4,8,16)")
    _tensor_file.add_output(p)
    p.add_argument("--plot", metavar="PNG", help="save a heat map of the per-block N")
    p.set_defaults(func=run)


def _options(args) -> tuple[int, tuple[int, ...]]:
    m, n_options = 16, (2, 4, 8, 16)
    if args.config:
        from ..base import config
        cfg = config.load(args.config)
        if cfg.csd is None:
            raise UsageError(f"--config: '{args.config}' has no csd engine (no N:M sparsity)")
        m, n_options = cfg.csd.m, tuple(cfg.csd.n_options)
    if args.n_options:
        try:
            n_options = tuple(int(t) for t in args.n_options.split(",") if t.strip())
        except ValueError:
            raise UsageError(f"--n-options: expected integers, got '{args.n_options}'") from None
    return m, n_options


def _report(name, w, sp, stored) -> str:
    import numpy as np
    import torch

    w = w.float()
    pruned = sp.to_dense()
    err = stored.dequantize() if stored.bits else pruned
    norm = float(torch.linalg.norm(w)) or 1.0
    kept = float(pruned.abs().sum()) / (float(w.abs().sum()) or 1.0)
    n_vals, counts = np.unique(sp.block_n, return_counts=True)
    share = "  ".join(f"{int(n)}:{100 * c / sp.block_n.size:.1f}%" for n, c in zip(n_vals, counts))
    kind = f"int{stored.bits}" if stored.bits else "float32"
    bits = 8 * len(stored.pack()) / w.numel()
    rel = float(torch.linalg.norm(w - err)) / norm
    return (f"{name} {list(w.shape)} density {sp.density:.4f}  blocks by N: {share}  "
            f"kept |w| {100 * kept:.2f}%  rel. error {rel:.4f} ({kind})  {bits:.3f} bits/weight")


def _plot(path: str, maps: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ..base.atomic_file import save_figure

    names = list(maps)[:12]
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 4 * rows), squeeze=False)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    for ax, name in zip(axes.ravel(), names):
        img = ax.imshow(np.log2(np.maximum(maps[name], 1)), cmap="viridis", vmin=0, vmax=4,
                        aspect="auto", interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("input-channel block (16)")
        ax.set_ylabel("output-row block (16)")
    bar = fig.colorbar(img, ax=axes.ravel().tolist(), ticks=range(5))
    bar.ax.set_yticklabels(["1 (or 0)", "2", "4", "8", "16"])
    bar.set_label("N kept of 16")
    save_figure(fig, path)
    plt.close(fig)


def run(args) -> int:
    from tqdm import tqdm

    from ..golden import sparse
    from ..golden.llm import tensor_io

    m, n_options = _options(args)
    tensors = tensor_io.select(tensor_io.load_tensors(args.file), args.file, args.tensor)
    blobs, maps = {}, {}
    for name, w in tqdm(tensors.items(), disable=len(tensors) < 4, desc="prune", unit="tensor"):
        try:
            sp = sparse.prune_nm(w, n=args.n, density=args.density, m=m, n_options=n_options)
        except ValueError as exc:
            raise ModelError(f"{args.file}: tensor '{name}': {exc}") from None
        stored = sp.quantize_int(args.bits) if args.bits else sp
        print(_report(name, w, sp, stored))
        maps[name] = sp.block_n
        if args.output:
            blobs[name] = stored.pack()
    if args.output:
        _tensor_file.write_packed(args.output, blobs)
    if args.plot:
        _plot(args.plot, maps)
        print(f"wrote {args.plot}")
    return 0
