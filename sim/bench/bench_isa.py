"""ISA simulator speed: one decode step on the simulator vs the same step in the golden
accelerator-numerics model (PyTorch), after a prefill of ``--prompt-len`` tokens.

    python -m bitflight.sim.bench isa -- --model smollm2 --config u280 --policy flightllm

Prints seconds per decode step for both, their ratio (goal: within 3x), and whether the step's
logits were identical.
"""
from __future__ import annotations

import argparse
import time


def main() -> None:
    import torch

    from bitflight.base import config
    from bitflight.compiler import build, models, target as tg
    from bitflight.golden.llm.accel import accelerator_model
    from bitflight.golden.policy import load_policy
    from bitflight.sim.isa.runtime import Session

    parser = argparse.ArgumentParser(prog="bench_isa")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--config", default="u280")
    parser.add_argument("--policy", default="flightllm")
    parser.add_argument("--prompt-len", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()

    policy = load_policy(args.policy)
    source = models.load(args.model)
    max_len = args.prompt_len + args.steps + 1
    target = tg.build_target(source.graph, config.load(args.config), policy, source.weights,
                             max_pos=max_len)
    n = args.prompt_len
    needed = {build.bucket_for("prefill", n, max_len)} | {
        build.bucket_for("decode", n + 1 + s, max_len) for s in range(args.steps)}
    store, seconds = build.compile_buckets(target, max_len, only=sorted(needed))
    print(f"compiled {len(needed)} buckets in {seconds:.1f} s")
    sess = Session(target, store, max_len)
    golden = accelerator_model(source.golden, policy)
    ids = torch.randint(0, source.graph.dims.vocab, (n,), generator=torch.Generator()
                        .manual_seed(0))
    sess.prefill(ids)
    _, cache = golden.prefill(ids[None])
    sim_t, gold_t, same = [], [], True
    for step in range(args.steps):
        token = 17 + step
        start = time.perf_counter()
        got = sess.decode(token)
        sim_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        want = golden.decode(torch.tensor([token]), cache)
        gold_t.append(time.perf_counter() - start)
        same &= torch.equal(got, want[0].float())
    sim_s, gold_s = min(sim_t), min(gold_t)
    print(f"{args.model} {args.policy} on {args.config}, KV {n}: ISA simulator "
          f"{sim_s * 1e3:.1f} ms/step, golden {gold_s * 1e3:.1f} ms/step, ratio "
          f"{sim_s / gold_s:.2f}x, logits identical: {same}")


if __name__ == "__main__":
    main()
