"""``bitflight run``: compile, then generate on the ISA simulator or the RTL top (optionally
checked)."""
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
    parser.add_argument("--engine", choices=("isa", "rtl"), default="isa",
                        help="isa: the ISA simulator (default); rtl: the accelerator top "
                             "(rtl/top) in Verilator, one cocotb run per step "
                             "(docs/rtl/top.md)")
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
    from .. import config
    from ..compiler import build, models, target as tg
    from ..golden.llm.accel import accelerator_model
    from ..golden.llm.generate import greedy
    from ..golden.policy import load_policy
    from ..sim.isa.lockstep import greedy_lockstep
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
    if args.engine == "rtl":
        from ..sim.top.machine import RtlSession
        sess = RtlSession(target, store, max_len)
    else:
        sess = Session(target, store, max_len)
    golden = accelerator_model(source.golden, policy) if args.check else None
    result = greedy_lockstep(sess, golden, ids, args.tokens)
    out = result.tokens
    text = tok.decode(out) if tok is not None else " ".join(map(str, out))
    print(f"prompt: {args.prompt if args.prompt is not None else args.ids}")
    print(f"generated ({len(out)} tokens): {text}")
    if args.stats and args.engine == "rtl":
        print("rtl cycles per step: " + ", ".join(str(s.cycles) for s in sess.machine.steps))
    elif args.stats:
        print(f"simulator: {sess.machine.counters.as_dict()}")
    if golden:
        ftoks = greedy(source.golden, ids.tolist(), args.tokens)
        ftext = tok.decode(ftoks) if tok is not None else " ".join(map(str, ftoks))
        print(f"float model ({len(ftoks)} tokens): {ftext}")
        if result.identical:
            print("check: every logit identical to the golden accelerator-numerics model")
        else:
            step, diff = result.first_diff
            print(f"check: FAILED, logits differ from golden at step {step} (max |diff| {diff:.3g})")
            return 1
    return 0
