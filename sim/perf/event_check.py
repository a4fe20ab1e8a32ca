"""The analytical mode against the event-level model on compiled programs (docs/perf.md table).

Both sides use the same project policy (``configs/policies``, ``bitmod-w4`` unless given): the
compiler builds the program with it, and the analytical mode reads it through
``policy_loader.load_policy(name, shape)``.
Run ``python -m bitflight.sim.perf.event_check`` to print the table's rows.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...golden.model_shapes import ModelShape

POLICY = "bitmod-w4"
TINY_LLAMA = ModelShape(name="tiny-llama", arch="llama", layers=2, hidden=64, heads=4,
                        kv_heads=2, head_dim=16, intermediate=128, vocab=256, max_position=512,
                        positional="rope", rope_theta=10000.0, tied_embeddings=False,
                        norm="rmsnorm", norm_eps=1e-6, activation="silu", gated_mlp=True,
                        source="compiler/models.py tiny_llama_hf")


@dataclass(frozen=True)
class Check:
    model: str
    config: str
    policy: str
    mode: str
    tokens: int
    kv_len: int
    analytical: float
    event: float

    @property
    def difference(self) -> float:
        """(analytical - event) / event."""
        return (self.analytical - self.event) / self.event

    def __str__(self) -> str:
        return (f"{self.model} on {self.config}, {self.policy}, {self.mode} ({self.tokens} "
                f"tokens, KV {self.kv_len}): analytical {self.analytical:,.0f} event "
                f"{self.event:,.0f} cycles ({100 * self.difference:+.1f}%)")


def target_for(shape: ModelShape, cfg, max_pos: int, policy: str = POLICY):
    """The compiled target of a shape-only LLaMA model, without weights: timing reads only the
    instructions, and the IR built from the shape is the one the front end lifts (a compiler
    test compares them op by op)."""
    from ...compiler import llama_ir, target as tg
    from ...golden.policy import load_policy
    graph = llama_ir.build(llama_ir.dims_from_shape(shape))
    return tg.build_target(graph, cfg, load_policy(policy), None, max_pos=max_pos)


def check(target, cfg, shape: ModelShape, mode: str, tokens: int, kv_len: int,
          segments: list | None = None, policy: str = POLICY) -> Check:
    """Event cycles of the compiled pass and analytical cycles of the same pass and policy."""
    from ...compiler import build
    from . import analyze, workload
    from .events import simulate
    from .policy_loader import load_policy
    if segments is None:
        segments = build.compile_step(target, mode, tokens, kv_len)
    event = simulate([i for _, seg in segments for i in seg], cfg)
    p = workload.decode_step(shape, kv_len) if mode == "decode" else workload.prefill(shape, tokens)
    ana = analyze.time_pass(p, cfg, load_policy(policy, shape))
    return Check(shape.name, cfg.name, policy, mode, tokens, kv_len, ana.cycles, event.cycles)


def main() -> None:
    from ...base.config import load
    from ...golden.model_shapes import load_shape
    tiny = load("tiny")
    t = target_for(TINY_LLAMA, tiny, 64)
    print(check(t, tiny, TINY_LLAMA, "decode", 1, 16))
    print(check(t, tiny, TINY_LLAMA, "prefill", 16, 16))
    t = target_for(TINY_LLAMA, tiny, 64, "flightllm")
    for mode, tokens in (("decode", 1), ("prefill", 16)):
        print(check(t, tiny, TINY_LLAMA, mode, tokens, 16, policy="flightllm"))
    asic = load("bitmod-asic")
    smol = load_shape("smollm2-135m")
    print(check(target_for(smol, asic, 256), asic, smol, "decode", 1, 128))


if __name__ == "__main__":
    main()
