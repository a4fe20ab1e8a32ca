"""``bitflight generate``: greedy text from the accelerator-numerics model next to the float one."""
from __future__ import annotations

import sys
from ..base.errors import UsageError

BITMOD_ENGINE = ("bitmod", "fp", "int_sym")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "generate", help="greedy text: accelerator numerics vs float, side by side",
        description="Greedy decoding (KV cache) of a prompt with the float32 reference model and "
                    "with the model computed as an accelerator engine computes it: quantized "
                    "weights per --scheme/--bits (BitMoD engine: fp16 activations) or per a "
                    "--policy (configs/policies: bitmod-w4, bitmod-w3, flightllm).")
    p.add_argument("--model", default="smollm2", help="smollm2, a .gguf file or an HF folder")
    p.add_argument("--prompt", default="The capital of France is", help="prompt text")
    p.add_argument("--tokens", type=int, default=32, help="tokens to generate (default 32)")
    p.add_argument("--scheme", default="bitmod", choices=BITMOD_ENGINE,
                   help="weight scheme on the BitMoD engine (default bitmod)")
    p.add_argument("--bits", type=int, default=4, help="weight bits (default 4)")
    p.add_argument("--group-size", type=int, default=128,
                   help="weights per group (default 128, the BitMoD paper's; a width that is not "
                        "a multiple, as SmolLM2's 576, ends each row with a zero-padded group)")
    p.add_argument("--policy", default=None,
                   help="a policy name or YAML path; overrides --scheme/--bits/--group-size")
    p.add_argument("--linear", choices=("dequant", "bitserial"), default="bitserial",
                   help="BitMoD linears: 'bitserial' (default) runs golden.bitserial.linear "
                        "bit-accurately (about 1 s of linears per SmolLM2 token on one core); "
                        "'dequant' uses the fp16-rounded exact product with the dequantized "
                        "weights (ops.bitmod_linear.reference), faster but approximate")
    p.add_argument("--chat", action="store_true",
                   help="wrap the prompt in the model's chat template (instruct models)")
    p.add_argument("--width", type=int, default=100, help="output width (default 100)")
    p.set_defaults(func=handler)


def _policy(args):
    from bitflight.golden.policy import Policy, load_policy
    if args.policy:
        return load_policy(args.policy)
    return Policy.model_validate({
        "name": f"{args.scheme}-w{args.bits}-g{args.group_size}", "engine": "bitmod",
        "activations": "fp16", "kv_cache": "fp16",
        "default": {"scheme": args.scheme, "bits": args.bits, "group_size": args.group_size}})


def handler(args) -> int:
    from pydantic import ValidationError

    from bitflight.golden.llm import load_model, load_tokenizer
    from bitflight.golden.llm.accel import accelerator_model
    from bitflight.golden.llm.generate import compare_generation, side_by_side

    if args.tokens < 1:
        raise UsageError("--tokens must be at least 1")
    try:
        policy = _policy(args)
    except ValidationError as err:
        raise UsageError(f"--scheme/--bits: {err.errors()[0]['msg']}") from None
    model = load_model(args.model, progress=True)
    tok = load_tokenizer(args.model)
    prompt = args.prompt
    if args.chat:
        prompt = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                         add_generation_prompt=True)
    acc = accelerator_model(model, policy, linear=args.linear, progress=True)
    r = compare_generation(model, acc, tok, prompt, args.tokens)
    shown = args.prompt if args.chat else prompt
    print(side_by_side("float32 reference", shown + r["float_text"],
                       f"accelerator: {policy.name}"
                       + (f" ({args.linear})" if policy.engine == "bitmod" else ""),
                       shown + r["accel_text"], args.width))
    print(f"identical greedy tokens: {r['same_prefix']}/{len(r['float_ids'])}; "
          f"time float {r['float_s']:.1f} s, accelerator {r['accel_s']:.1f} s", file=sys.stderr)
    return 0
