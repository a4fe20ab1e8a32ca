"""``bitflight run``: compile, then generate on the ISA simulator or the RTL top (optionally
checked)."""
from __future__ import annotations

import argparse
from ..base.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="generate text on the ISA simulator (compiles the needed buckets)",
        description="Compile MODEL for CONFIG under POLICY (only the buckets the run needs), run "
                    "prefill and greedy decode on the ISA simulator and print the result. With "
                    "--check the golden accelerator-numerics model runs alongside: every logit "
                    "must be identical, and the float golden model must match transformers' "
                    "LlamaForCausalLM on the same tokens within float32 round-off (exit status "
                    "1 otherwise); the float model's tokens are printed for comparison. "
                    "Progress goes to stderr, one line per stage.")
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
                        help="compare every logit with the golden accelerator-numerics model, "
                        "and the float golden model with transformers")
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
            raise UsageError(f"--ids: expected comma-separated integers, got '{args.ids}'") \
                from None
        return torch.tensor(ids), None
    if args.model.startswith("tiny-"):
        raise UsageError(f"--prompt: model {args.model} has no tokenizer (random weights); "
                         "give the prompt as token ids with --ids 1,2,3")
    from ..golden.llm import load_tokenizer
    try:
        tok = load_tokenizer(args.model)
    except ValueError as exc:
        raise UsageError(f"--prompt: {exc}; give the prompt as token ids with --ids 1,2,3") \
            from None
    return torch.tensor(tok(args.prompt)["input_ids"]), tok


class _Log:
    """One line per stage on stderr, flushed, whether or not stderr is a terminal."""

    def __init__(self) -> None:
        import time
        self.clock, self.start = time.perf_counter, time.perf_counter()

    def __call__(self, message: str) -> None:
        import sys
        print(f"bitflight run [{self.clock() - self.start:7.1f} s] {message}", file=sys.stderr,
              flush=True)


def _reference_check(source, ids, log):
    """(golden.llm.reference.ReferenceCheck or None, why it was skipped)."""
    from ..golden.llm import reference
    hf, what = source.hf, "the transformers model tiny-llama was built from"
    if hf is None and not source.name.startswith("tiny-golden"):
        log("loading the model in transformers for the reference check")
        hf, what = reference.load_transformers(source.name)
        if hf is None and what != reference.SHAPE_ONLY:
            return None, what
    if hf is None:
        hf, what = reference.from_golden(source.golden), "built from the golden config and weights"
    log("reference logits (transformers)")
    return reference.compare(source.golden, hf, ids, what), ""


def handler(args: argparse.Namespace) -> int:
    import torch

    from ..base import config
    from ..compiler import build, models, target as tg
    from ..golden.llm.accel import accelerator_model
    from ..golden.llm.generate import greedy
    from ..golden.policy import load_policy
    from ..sim.isa.lockstep import greedy_lockstep
    from ..sim.isa.runtime import Session

    log = _Log()
    cfg = config.load(args.config)
    policy = load_policy(args.policy)
    ids, tok = _prompt_ids(args)
    log(f"loading model {args.model}")
    source = models.load(args.model)
    n = ids.numel()
    if n == 0 or args.tokens < 0:
        raise UsageError("need a non-empty prompt and --tokens >= 0")
    max_len = args.max_len or n + args.tokens
    target = tg.build_target(source.graph, cfg, policy, source.weights, max_pos=max_len)
    needed = sorted(set([build.bucket_for("prefill", n, max_len)] + [
        build.bucket_for("decode", length, max_len) for length in range(n + 1, n + args.tokens)]))
    log(f"compiling {len(needed)} bucket programs ({', '.join(needed)}) for {cfg.name}")
    store, _ = build.compile_buckets(target, max_len, only=needed)
    if args.engine == "rtl":
        from ..sim.top.machine import RtlSession
        log("building the RTL top (Verilator, cached per config)")
        sess = RtlSession(target, store, max_len)
    else:
        sess = Session(target, store, max_len)
    golden = accelerator_model(source.golden, policy) if args.check else None

    def step(i: int) -> None:
        log(f"prefill of {n} tokens, token 1 of {args.tokens}" if i == 0
            else f"token {i + 1} of {args.tokens}")

    result = greedy_lockstep(sess, golden, ids, args.tokens, on_step=step)
    out = result.tokens
    text = tok.decode(out) if tok is not None else " ".join(map(str, out))
    print(f"prompt: {args.prompt if args.prompt is not None else args.ids}")
    print(f"generated ({len(out)} tokens): {text}")
    if args.stats and args.engine == "rtl":
        print("rtl cycles per step: " + ", ".join(str(s.cycles) for s in sess.machine.steps))
    elif args.stats:
        print(f"simulator: {sess.machine.counters.as_dict()}")
    if not golden:
        return 0
    log("float golden model")
    ftoks = greedy(source.golden, ids.tolist(), args.tokens)
    ftext = tok.decode(ftoks) if tok is not None else " ".join(map(str, ftoks))
    print(f"float model ({len(ftoks)} tokens): {ftext}")
    failed = False
    if result.identical:
        print("check: every logit identical to the golden accelerator-numerics model")
    else:
        step_at, diff = result.first_diff
        print(f"check: FAILED, logits differ from golden at step {step_at} "
              f"(max |diff| {diff:.3g})")
        failed = True
    context = torch.cat((ids.long(), torch.tensor(out[:-1], dtype=torch.long)))
    ref, what = _reference_check(source, context, log)
    if ref is None:
        print(f"reference: skipped ({what})")
    elif ref.ok:
        print(f"reference: {ref.line()}")
    else:
        print(f"check: FAILED, {ref.line()}: the golden model computes this model wrongly")
        failed = True
    return 1 if failed else 0
