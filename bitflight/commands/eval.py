"""``bitflight eval``: perplexity of a model under every weight format (weight-only fake quant),
or under the accelerator numerics of whole policies (``--numerics accel``)."""
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
                    "corpus. Writes quantization.md (table), .json and .png (plot) to --out. "
                    "With --numerics accel: perplexity and the greedy tokens of --prompt under "
                    "the accelerator numerics of each of --policies (golden.llm.accel: every "
                    "activation op as the engine computes it); writes accel.md and accel.json.")
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
    p.add_argument("--numerics", choices=("fake-quant", "accel"), default="fake-quant",
                   help="fake-quant (default): float model with quantized-dequantized weights; "
                        "accel: the golden accelerator-numerics model of each --policies entry")
    p.add_argument("--policies", default="bitmod-fp16,bitmod-w4",
                   help="--numerics accel: comma-separated policy names or YAML paths "
                        "(default bitmod-fp16,bitmod-w4)")
    p.add_argument("--linear", choices=("dequant", "bitserial"), default="dequant",
                   help="--numerics accel, BitMoD linears: 'dequant' (default; fp16 of the exact "
                        "product with the dequantized weights, fast) or 'bitserial' (the "
                        "bit-accurate datapath, about 100x slower)")
    p.add_argument("--prompt", default="The capital of France is",
                   help="--numerics accel: prompt of the greedy-token check")
    p.add_argument("--gen-tokens", type=int, default=12,
                   help="--numerics accel: greedy tokens generated from --prompt (default 12)")
    p.set_defaults(func=handler)


def _parse_list(text: str, what: str, cast=str) -> list:
    try:
        items = [cast(t.strip()) for t in text.split(",") if t.strip()]
    except ValueError:
        raise UsageError(f"--{what}: cannot parse '{text}'") from None
    if not items:
        raise UsageError(f"--{what}: empty list")
    return items


def _command() -> str:
    return "bitflight eval " + shlex.join(sys.argv[2:] if sys.argv[1:2] == ["eval"]
                                          else sys.argv[1:])


def handler(args) -> int:
    if args.tokens < 2 or args.seq_len < 2:
        raise UsageError("--tokens and --seq-len must be at least 2")
    if args.numerics == "accel":
        return _accel(args)
    return _fake_quant(args)


def _accel(args) -> int:
    """Perplexity and greedy tokens under each policy's accelerator numerics."""
    import json

    from bitflight.base.atomic_file import write_atomic
    from bitflight.golden.llm import load_model, load_tokenizer
    from bitflight.golden.llm.accel import accelerator_model
    from bitflight.golden.llm.corpus import CORPUS_NAME, corpus_tokens
    from bitflight.golden.llm.generate import greedy
    from bitflight.golden.llm.perplexity import perplexity
    from bitflight.golden.policy import load_policy

    policies = [load_policy(p) for p in _parse_list(args.policies, "policies")]
    if args.gen_tokens < 0:
        raise UsageError("--gen-tokens must be at least 0")
    model = load_model(args.model, progress=True)
    tok = load_tokenizer(args.model)
    tokens = corpus_tokens(tok, args.tokens)
    prompt_ids = tok(args.prompt)["input_ids"]
    meta = {"model": str(args.model), "corpus": CORPUS_NAME, "tokens": len(tokens),
            "seq_len": args.seq_len, "linear": args.linear, "prompt": args.prompt,
            "command": _command()}
    results = []
    for policy in policies:
        t0 = time.time()
        acc = accelerator_model(model, policy, linear=args.linear, progress=True)
        ppl = perplexity(acc, tokens, args.seq_len, progress=True, desc=policy.name)
        ids = greedy(acc, prompt_ids, args.gen_tokens, model.config.eos_token_id) \
            if args.gen_tokens else []
        results.append({"policy": policy.name, "perplexity": ppl, "greedy_ids": ids,
                        "greedy_text": tok.decode(ids), "seconds": round(time.time() - t0, 1)})
        print(f"{policy.name}: perplexity {ppl:.4f}, greedy {ids}", file=sys.stderr)
        rows = "".join(f"| {r['policy']} | {r['perplexity']:.4f} | {r['greedy_ids']} | "
                       f"{json.dumps(r['greedy_text'])} |\n" for r in results)
        write_atomic(args.out / "accel.json", json.dumps({**meta, "results": results}, indent=1))
        write_atomic(args.out / "accel.md",         # partial results survive a stop
                     f"`{meta['command']}` ({len(tokens)} tokens, windows of {args.seq_len}, "
                     f"{args.linear} linears)\n\n| policy | perplexity | greedy ids of "
                     f"{json.dumps(args.prompt)} | text |\n|---|---|---|---|\n" + rows)
    print(f"wrote {args.out / 'accel.md'}, {args.out / 'accel.json'}")
    return 0


def _fake_quant(args) -> int:
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
            "command": _command()}
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
