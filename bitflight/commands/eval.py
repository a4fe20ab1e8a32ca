"""``bitflight eval``: perplexity of a model under every weight format (weight-only fake quant)."""
from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from ..base.errors import UsageError
from ..golden.quant.names import SCHEME_NAMES, UNQUANTIZED

DEFAULT_SCHEMES = ",".join((UNQUANTIZED,) + SCHEME_NAMES)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help="perplexity of a model under each weight quantization scheme",
        description="Weight-only fake quantization of every linear layer (lm_head included, "
                    "float activations, BitMoD's protocol) and perplexity on the shipped English "
                    "corpus. Writes quantization.md (table), .json and .png (plot) to --out.")
    p.add_argument("--model", default="smollm2",
                   help="smollm2, a .gguf file or a Hugging Face folder (default: smollm2)")
    p.add_argument("--schemes", default=DEFAULT_SCHEMES,
                   help=f"comma-separated schemes (default: {DEFAULT_SCHEMES})")
    p.add_argument("--bits", default="3,4", help="comma-separated weight widths (default: 3,4)")
    p.add_argument("--group-size", type=int, default=128,
                   help="weights per group along K (default 128; mx always uses 32)")
    p.add_argument("--tokens", type=int, default=16384,
                   help="corpus tokens to evaluate (default 16384)")
    p.add_argument("--seq-len", type=int, default=1024, help="window length (default 1024)")
    p.add_argument("--out", type=Path, default=Path("results/eval"),
                   help="output folder (default results/eval)")
    p.set_defaults(func=handler)


def _parse_list(text: str, what: str, cast=str) -> list:
    try:
        items = [cast(t.strip()) for t in text.split(",") if t.strip()]
    except ValueError:
        raise UsageError(f"--{what}: cannot parse '{text}'") from None
    if not items:
        raise UsageError(f"--{what}: empty list")
    return items


def handler(args) -> int:
    from bitflight.golden import quant
    from bitflight.golden.llm import load_model, load_tokenizer
    from bitflight.golden.llm.corpus import CORPUS_NAME, corpus_tokens
    from bitflight.golden.llm.perplexity import fake_quantize, perplexity
    from bitflight.golden.llm.quality_report import write_report

    schemes = _parse_list(args.schemes, "schemes")
    bits = _parse_list(args.bits, "bits", int)
    for s in schemes:
        if s != UNQUANTIZED and s not in SCHEME_NAMES:
            raise UsageError(f"--schemes: unknown scheme '{s}' (known: {UNQUANTIZED}, "
                             f"{', '.join(SCHEME_NAMES)})")
    if args.tokens < 2 or args.seq_len < 2:
        raise UsageError("--tokens and --seq-len must be at least 2")
    runs = []
    for s in schemes:
        if s == "fp16":
            runs.append((s, 16))
            continue
        for b in bits:
            if b in quant.SCHEMES[s].bits:
                runs.append((s, b))
            else:
                print(f"note: {s} has no {b}-bit variant (supports "
                      f"{', '.join(map(str, quant.SCHEMES[s].bits))}); skipped", file=sys.stderr)
    model = load_model(args.model, progress=True)
    tokens = corpus_tokens(load_tokenizer(args.model), args.tokens)
    meta = {"model": str(args.model), "corpus": CORPUS_NAME, "tokens": len(tokens),
            "seq_len": args.seq_len, "group_size": args.group_size,
            "command": "bitflight eval " + shlex.join(sys.argv[2:] if sys.argv[1:2] == ["eval"]
                                                      else sys.argv[1:])}
    from tqdm import tqdm
    results = []
    for scheme, b in tqdm(runs, desc="schemes", unit="scheme"):
        t0 = time.time()
        fq = fake_quantize(model, scheme, b, args.group_size, progress=True)
        ppl = perplexity(fq.model, tokens, args.seq_len, progress=True, desc=f"{scheme} w{b}")
        results.append({"scheme": scheme, "bits": b,
                        "group_size": None if scheme == "fp16" else
                        (32 if scheme == "mx" else args.group_size),
                        "bits_per_weight": fq.bits_per_weight, "perplexity": ppl,
                        "mse_by_type": fq.mse_by_type, "seconds": round(time.time() - t0, 1)})
        tqdm.write(f"{scheme:9s} w{b:<2d} bits/weight {fq.bits_per_weight:6.3f}  "
                   f"perplexity {ppl:9.3f}")
        paths = write_report(results, args.out, meta)    # partial results survive a stop
    print(f"wrote {paths['md']}, {paths['png']}, {paths['json']}")
    return 0
