"""``bitflight quantize``: quantize weight tensors from a file and report the error."""
from __future__ import annotations

from ..base.errors import ModelError, UsageError
from ..golden.quant.names import SCHEME_NAMES
from . import _tensor_file


def register(sub) -> None:
    p = sub.add_parser(
        "quantize", help="quantize a .pt/.npy/.safetensors weight tensor and report the error",
        description="Quantize 2-D weight tensors [N out, K in] per group along K and print, per "
                    "tensor and scheme: MSE, max |error|, SNR, stored bits per weight and (for "
                    "bitmod/ant) the share and MSE of each chosen datatype. With -o the packed "
                    "result is written (docs/formats.md): one tensor -> the raw packed layout; "
                    "several -> a safetensors file of uint8 blobs, one per tensor name.")
    _tensor_file.add_input(p, "quantize")
    p.add_argument("--scheme", required=True, metavar="S",
                   help=f"scheme, or a comma-separated list to compare: {', '.join(SCHEME_NAMES)}")
    p.add_argument("--bits", required=True, type=int, metavar="B", help="bits per weight code")
    p.add_argument("--group-size", type=int, metavar="G",
                   help="weights per group along K (default 128; mx: 32)")
    p.add_argument("--scale-mode", default="fp16", choices=("fp16", "int"),
                   help="fp16 per-group scales, or 8-bit per-group x fp16 per-row (hardware)")
    p.add_argument("--pad", action="store_true",
                   help="zero-pad K to a multiple of the group size instead of failing")
    _tensor_file.add_output(p)
    p.add_argument("--layout", default="rows", metavar="L",
                   help="packed layout with -o: 'rows' (version 1, row by row), 'B,L' (version "
                        "2: blocks of B rows, chunks of L columns), 'B,L,full' (the last block "
                        "stored whole) or a config name or file (the layout its BitMoD engine "
                        "reads)")
    p.add_argument("--plot", metavar="PNG",
                   help="save a figure of SNR per tensor/scheme and the chosen datatypes")
    p.set_defaults(func=run)


def _schemes(text: str) -> list[str]:
    schemes = [s.strip() for s in text.split(",") if s.strip()]
    for s in schemes:
        if s not in SCHEME_NAMES:
            raise UsageError(f"--scheme: unknown '{s}' (known: {', '.join(SCHEME_NAMES)})")
    if not schemes:
        raise UsageError("--scheme: empty")
    return schemes


def _layout(text: str) -> tuple[int, int | None, bool, int]:
    """(block, chunk, full, align) of ``--layout``: rows, B,L (B,L,full: the last block stored
    whole) or a config's BitMoD array layout."""
    if text == "rows":
        return 1, None, False, 8
    parts = [p.strip() for p in text.split(",")]
    if len(parts) in (2, 3) and all(p.isdigit() for p in parts[:2]) \
            and parts[2:] in ([], ["full"]):
        return int(parts[0]), int(parts[1]), len(parts) == 3, 8
    from ..base import config
    from ..compiler.passes.packing import array_layout
    cfg = config.load(text)
    if cfg.bitmod is None:
        raise UsageError(f"--layout: config '{cfg.name}' has no BitMoD engine")
    return array_layout(cfg)


def _report(name, shape, scheme, bits, st) -> None:
    print(f"{name} {list(shape)} {scheme} {bits}-bit: mse {st.mse:.4e}  max|err| {st.max_abs:.4e}  "
          f"snr {st.snr_db:.2f} dB  {st.bits_per_weight:.4f} bits/weight")
    if len(st.datatypes) > 1:
        for fmt, (share, mse) in st.datatypes.items():
            print(f"    {fmt:12s} {100 * share:6.2f}% of groups  mse {mse:.4e}")


def run(args) -> int:
    from tqdm import tqdm

    from ..golden import quant
    from ..golden.llm import tensor_io
    from ..golden.quant import stats
    from ..golden.quant.plot import plot_stats

    schemes = _schemes(args.scheme)
    if args.output and len(schemes) > 1:
        raise UsageError("-o: give a single --scheme to write a packed result")
    if "mx" in schemes and args.scale_mode == "int":
        raise UsageError("--scale-mode: mx stores E8M0 block scales, not 'int'")
    layout = _layout(args.layout)
    tensors = tensor_io.select(tensor_io.load_tensors(args.file), args.file, args.tensor)
    blobs, results = {}, []
    for name, w in tqdm(tensors.items(), disable=len(tensors) < 4, desc="quantize", unit="tensor"):
        for scheme in schemes:
            mode = "e8m0" if scheme == "mx" else args.scale_mode
            try:
                qw = quant.quantize(w, scheme, args.bits, group_size=args.group_size,
                                    scale_mode=mode, pad=args.pad)
            except ValueError as exc:
                raise ModelError(f"{args.file}: tensor '{name}': {exc}") from None
            st = stats.error_stats(w, qw)
            results.append((name, scheme, args.bits, st))
            _report(name, tuple(w.shape), scheme, args.bits, st)
            if args.output:
                try:
                    blobs[name] = qw.pack(*layout)
                except ValueError as exc:
                    raise UsageError(f"--layout: {exc}") from None
    if args.output:
        _tensor_file.write_packed(args.output, blobs)
    if args.plot:
        plot_stats(results, args.plot)
        print(f"wrote {args.plot}")
    return 0
