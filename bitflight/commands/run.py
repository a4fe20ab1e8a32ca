"""``bitflight run``: compile, then generate on the ISA simulator (optionally checked)."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="generate text on the ISA simulator (compiles the needed buckets)",
        description="Compile MODEL for CONFIG under POLICY (only the buckets the run needs), run "
                    "prefill and greedy decode on the ISA simulator and print the result. With "
                    "--check the golden accelerator-numerics model runs alongside: every logit "
                    "must be identical (exit status 1 otherwise); the float model's tokens are "
                    "printed for comparison.")
    parser.add_argument("--model", required=True,
                        help="smollm2, tiny-llama, tiny-golden, a .gguf or HF folder")
    parser.add_argument("--config", required=True, help="hardware config name or YAML path")
    parser.add_argument("--policy", required=True, help="policy name (configs/policies) or path")
    prompt = parser.add_mutually_exclusive_group(required=True)
    prompt.add_argument("--prompt", help="prompt text (needs the model's tokenizer)")
    prompt.add_argument("--ids", help="prompt as comma-separated token ids")
    parser.add_argument("--tokens", type=int, default=16, help="tokens to generate (16)")
    parser.add_argument("--max-len", type=int, default=None,
                        help="context the compiled buckets cover (default: prompt + tokens)")
    parser.add_argument("--check", action="store_true",
                        help="compare every logit with the golden accelerator-numerics model")
    parser.add_argument("--stats", action="store_true", help="print simulator counters")
    parser.set_defaults(func=handler)


def _prompt_ids(args):
    import torch
    if args.ids is not None:
        try:
            ids = [int(t) for t in args.ids.split(",") if t.strip()]
        except ValueError:
            raise ValueError(f"--ids: expected comma-separated integers, got '{args.ids}'") \
                from None
        return torch.tensor(ids), None
    if args.model.startswith("tiny-"):
        raise ValueError(f"--prompt: model {args.model} has no tokenizer; use --ids")
    from ..golden.llm import load_tokenizer
    tok = load_tokenizer(args.model)
    return torch.tensor(tok(args.prompt)["input_ids"]), tok


def handler(args: argparse.Namespace) -> int:
    import torch

    from .. import config
    from ..compiler import build, models, target as tg
    from ..golden.llm.accel import accelerator_model
    from ..golden.policy import load_policy
    from ..sim.isa.runtime import Session

    cfg = config.load(args.config)
    policy = load_policy(args.policy)
    source = models.load(args.model)
    ids, tok = _prompt_ids(args)
    n = ids.numel()
    if n == 0 or args.tokens < 0:
        raise ValueError("need a non-empty prompt and --tokens >= 0")
    max_len = args.max_len or n + args.tokens
    target = tg.build_target(source.graph, cfg, policy, source.weights, max_pos=max_len)
    needed = [build.bucket_for("prefill", n, max_len)] + [
        build.bucket_for("decode", length, max_len) for length in range(n + 1, n + args.tokens)]
    store, _ = build.compile_buckets(target, max_len, only=sorted(set(needed)))
    sess = Session(target, store, max_len)
    golden = accelerator_model(source.golden, policy) if args.check else None
    logits = sess.prefill(ids)
    want, cache = golden.prefill(ids[None]) if golden else (None, None)
    identical, first_diff = True, None

    def compare(got, ref, step):
        nonlocal identical, first_diff
        if ref is not None and not torch.equal(got, ref[0].float()):
            identical = False
            first_diff = first_diff or (step, float((got - ref[0].float()).abs().max()))
    compare(logits, want, 0)
    out = []
    for step in range(args.tokens):
        token = int(logits[-1].argmax())
        out.append(token)
        if step == args.tokens - 1:
            break
        logits = sess.decode(token)
        if golden:
            want = golden.decode(torch.tensor([token]), cache)
        compare(logits, want, step + 1)
    text = tok.decode(out) if tok is not None else " ".join(map(str, out))
    print(f"prompt: {args.prompt if args.prompt is not None else args.ids}")
    print(f"generated ({len(out)} tokens): {text}")
    if args.stats:
        print(f"simulator: {sess.machine.counters.as_dict()}")
    if golden:
        float_logits, fcache = source.golden.prefill(ids[None])
        ftoks = []
        for step in range(args.tokens):
            t = int(float_logits[0, -1].argmax())
            ftoks.append(t)
            if step < args.tokens - 1:
                float_logits = source.golden.decode(torch.tensor([t]), fcache)
        ftext = tok.decode(ftoks) if tok is not None else " ".join(map(str, ftoks))
        print(f"float model ({len(ftoks)} tokens): {ftext}")
        if identical:
            print("check: every logit identical to the golden accelerator-numerics model")
        else:
            print(f"check: FAILED, logits differ from golden at step {first_diff[0]} "
                  f"(max |diff| {first_diff[1]:.3g})")
            return 1
    return 0
