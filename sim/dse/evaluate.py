"""What a worker computes: one task per point (perf model, memory fit, compiler check), per
engine synthesis, per perplexity. Every task enters through :func:`run_task`, which never raises:
its result says ``ok``, ``invalid`` (a one-line reason from a schema, the perf model, the
compiler or a tool) or ``error`` (an unexpected exception, as ``Type: message``).

Payloads carry resolved objects (configs, policies, shapes, Verilog text), so a worker on another
machine needs the bitflight package but none of the spec's files.
"""
from __future__ import annotations

import hashlib
import json
import time
from typing import Any, NamedTuple

from ...base.errors import BitflightError
from . import area
from .points import PROVENANCE, Point

PERPLEXITY_VERSION = 1


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run_task(kind: str, payload: Any) -> dict:
    """Run one task of ``kind`` (point, synth, perplexity); see the module docstring."""
    start = time.perf_counter()
    try:
        out = {"status": "ok", **TASKS[kind](payload)}
    except (ValueError, BitflightError) as exc:
        out = {"status": "invalid", "reason": one_line(exc)}
    except Exception as exc:              # a bug or a tool crash: recorded, the sweep goes on
        out = {"status": "error", "reason": f"{type(exc).__name__}: {one_line(exc)}"}
    out["seconds"] = time.perf_counter() - start
    return out


# -- points -------------------------------------------------------------------------------------
_COMPILED: dict[str, str | None] = {}       # compile key -> None (accepted) or the refusal


def _compile_key(p: Point) -> str:
    """What the compiler reads: engines, buffers, HBM channels and capacity (not the clock or
    the sustained bandwidth), the policy, the model and the lengths."""
    cfg = p.cfg.model_dump(mode="json", include={"bitmod", "csd", "buffers"})
    mem = (p.cfg.memory.channels, p.cfg.memory.capacity_gb)
    doc = [cfg, mem, p.project.model_dump(mode="json", exclude=PROVENANCE),
           p.shape.model_dump(mode="json", exclude=PROVENANCE), p.prompt_len, p.gen_len]
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def compile_check(p: Point) -> None:
    """ValueError unless the compiler builds the point's target (tiles, HBM layout), its prefill
    of ``prompt_len`` tokens and its last decode step (K/V of ``prompt_len + gen_len``)."""
    key = _compile_key(p)
    if key not in _COMPILED:
        from ...compiler import build, llama_ir, target
        try:
            graph = llama_ir.build(llama_ir.dims_from_shape(p.shape))
            t = target.build_target(graph, p.cfg, p.project, None,
                                    max_pos=p.prompt_len + p.gen_len, max_prefill=p.prompt_len)
            build.compile_step(t, "prefill", p.prompt_len, p.prompt_len)
            if p.gen_len:
                build.compile_step(t, "decode", 1, p.prompt_len + p.gen_len)
            _COMPILED[key] = None
        except (ValueError, BitflightError) as exc:
            _COMPILED[key] = f"compiler: {one_line(exc)}"
    if _COMPILED[key] is not None:
        raise ValueError(_COMPILED[key])


def evaluate_point(p: Point) -> dict:
    from ..perf.point import point_metrics
    metrics = point_metrics(p.shape, p.cfg, p.policy, p.prompt_len, p.gen_len)
    if not metrics["fits_memory"]:
        raise ValueError(f"memory: off-chip footprint {metrics['footprint_gb']:.3f} GB exceeds "
                         f"memory.capacity_gb {p.cfg.memory.capacity_gb:g}")
    if p.compile:
        compile_check(p)
    return {"metrics": metrics}


# -- perplexity ---------------------------------------------------------------------------------
class PerplexityJob(NamedTuple):
    key: str
    model: str
    policy: Any            # golden.policy.Policy
    tokens: int
    seq_len: int
    linear: str
    threads: int


_MODEL_IDS: dict[str, str] = {}


def model_identity(model: str) -> str:
    """The content of a quality model for cache keys: the SHA-256 of its GGUF file (or of a
    Hugging Face folder's files), memoized per process."""
    if model not in _MODEL_IDS:
        from pathlib import Path

        from ...golden.llm.loader import resolve
        kind, where = resolve(model)
        if kind == "shape":
            raise ValueError(f"perplexity: {model} is a shape-only model (no weights, no "
                             "tokenizer); give smollm2, a .gguf file or a Hugging Face folder")
        files = [where] if kind == "gguf" else sorted(p for p in Path(where).rglob("*")
                                                      if p.is_file())
        h = hashlib.sha256()
        for f in files:
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        _MODEL_IDS[model] = h.hexdigest()
    return _MODEL_IDS[model]


def perplexity_job(policy, spec) -> PerplexityJob:
    """The job measuring ``policy`` (a golden.policy.Policy) under ``spec`` (PerplexitySpec)."""
    doc = [PERPLEXITY_VERSION, model_identity(spec.model),
           policy.model_dump(mode="json", exclude=PROVENANCE), spec.tokens, spec.seq_len,
           spec.linear]
    key = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    return PerplexityJob(key, spec.model, policy, spec.tokens, spec.seq_len, spec.linear,
                         spec.threads)


def measure_perplexity(job: PerplexityJob) -> dict:
    """Perplexity of the quality model under the policy's golden accelerator numerics
    (``golden.llm.accel``) on the first ``tokens`` corpus tokens in windows of ``seq_len``."""
    import torch

    from ...golden.llm import load_model, load_tokenizer
    from ...golden.llm.accel import accelerator_model
    from ...golden.llm.corpus import corpus_tokens
    from ...golden.llm.perplexity import perplexity
    torch.set_num_threads(job.threads)     # the same on every executor: same float sums
    model = load_model(job.model)
    tokens = corpus_tokens(load_tokenizer(job.model), job.tokens)
    accel = accelerator_model(model, job.policy, linear=job.linear)
    return {"perplexity": perplexity(accel, tokens, job.seq_len)}


def synthesize(job: area.SynthJob) -> dict:
    return {"resources": area.synthesize(job)}


TASKS = {"point": evaluate_point, "synth": synthesize, "perplexity": measure_perplexity}
