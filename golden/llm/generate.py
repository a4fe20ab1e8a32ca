"""Greedy generation with the KV cache, float vs accelerator side by side, and the demo summary."""
from __future__ import annotations

import textwrap
import time

import torch
from ...base.errors import UsageError


@torch.no_grad()
def greedy(model, prompt_ids: list[int], n_tokens: int, eos_id: int | None = None) -> list[int]:
    """Greedy continuation (prefill once, then one decode step per token); stops at ``eos_id``."""
    if not prompt_ids:
        raise UsageError("prompt: empty after tokenization")
    logits, cache = model.prefill(torch.tensor([prompt_ids]))
    out = []
    for _ in range(n_tokens):
        nxt = int(logits[0, -1].argmax())
        out.append(nxt)
        if nxt == eos_id:
            break
        logits = model.decode(torch.tensor([nxt]), cache)
    return out


def side_by_side(left_title: str, left: str, right_title: str, right: str, width: int = 100) -> str:
    """Two wrapped text columns."""
    col = (width - 3) // 2
    lw = textwrap.wrap(left, col) or [""]
    rw = textwrap.wrap(right, col) or [""]
    rows = [f"{left_title[:col]:<{col}} | {right_title[:col]}", f"{'-' * col}-+-{'-' * col}"]
    for i in range(max(len(lw), len(rw))):
        a = lw[i] if i < len(lw) else ""
        b = rw[i] if i < len(rw) else ""
        rows.append(f"{a:<{col}} | {b}")
    return "\n".join(rows)


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def compare_generation(model, acc_model, tokenizer, prompt: str, n_tokens: int) -> dict:
    """Greedy text of the float and the accelerator model from one prompt."""
    ids = tokenizer(prompt)["input_ids"]
    eos = model.config.eos_token_id
    t0 = time.time()
    f = greedy(model, ids, n_tokens, eos)
    t1 = time.time()
    a = greedy(acc_model, ids, n_tokens, eos)
    t2 = time.time()
    return {"prompt": prompt, "float_ids": f, "accel_ids": a,
            "float_text": tokenizer.decode(f), "accel_text": tokenizer.decode(a),
            "same_prefix": common_prefix(f, a), "float_s": t1 - t0, "accel_s": t2 - t1}


def demo_summary(prompt: str = "The capital of France is", tokens: int = 12,
                 policy: str = "bitmod-w4", ppl_tokens: int = 256) -> str:
    """The short golden-model demo for ``make demo``: SmolLM2 greedy text in float and under
    ``policy`` (BitMoD engine numerics, dequant linears for speed), and perplexity of both on the
    first ``ppl_tokens`` corpus tokens. Returns printable text. Quantizing SmolLM2 for the policy
    dominates the run time (~1-3 min on 2 cores)."""
    from .accel import accelerator_model
    from .corpus import corpus_tokens
    from .loader import load_model, load_tokenizer
    from .perplexity import perplexity
    model = load_model("smollm2")
    tok = load_tokenizer("smollm2")
    acc = accelerator_model(model, policy, linear="dequant", progress=True)
    r = compare_generation(model, acc, tok, prompt, tokens)
    ids = corpus_tokens(tok, ppl_tokens)
    pf, pa = perplexity(model, ids, ppl_tokens), perplexity(acc, ids, ppl_tokens)
    return "\n".join([
        side_by_side("float32 (reference)", prompt + r["float_text"],
                      f"accelerator ({policy})", prompt + r["accel_text"]),
        f"identical greedy tokens: {r['same_prefix']}/{len(r['float_ids'])}",
        f"perplexity on {len(ids)} corpus tokens: float {pf:.3f}, {policy} {pa:.3f}"])
