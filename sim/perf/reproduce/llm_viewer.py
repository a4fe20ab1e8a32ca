"""LLM-Viewer's LLaMA-2-7B roofline rows on an A6000 (docs/references.md#peers-3.3), as a check of
the roofline.

Device: ``configs/devices/a6000.yaml`` (LLM-Viewer's own parameters). Numerics W16A16 (``fp16``
policy), batch 1, sequence 2048: prefill of 2048 tokens; decode of one token. Conventions (both
tools): 2 OPs per MAC; bytes = weights + input activations + output activations, decimal MB;
time = max(OPs / peak, bytes / bandwidth) with peak values, no efficiency.
"""
from __future__ import annotations

from ....golden.model_shapes import load_shape
from ..devices import load_device
from ..policy import PRESETS
from ..roofline import device_roof, points
from ..workload import decode_step, prefill
from . import Row

TOLERANCE = 0.005               # the published rows are rounded to 4 significant digits
SEQ = 2048
# (op, stage) -> (OPs, bytes, intensity OP/B, time us) from docs/references.md#peers-3.3.
PUBLISHED = {("q_proj", "decode"): (33.55e6, 33.57e6, 0.9995, 43.71),
             ("q_proj", "prefill"): (68.72e9, 67.11e6, 1024, 443.8),
             ("gate_proj", "decode"): (90.18e6, 90.21e6, 0.9997, 117.5),
             ("gate_proj", "prefill"): (184.7e9, 152.0e6, 1215, 1193)}


def rows() -> list[Row]:
    shape, policy = load_shape("llama2-7b"), PRESETS["fp16"]
    roof = device_roof(load_device("a6000"), "fp16")
    pts = {(pt.name, pt.stage): pt
           for p in (prefill(shape, SEQ), decode_step(shape, SEQ))
           for pt in points(p, policy, roof)}
    out = []
    for (op, stage), (ops, nbytes, ai, us) in PUBLISHED.items():
        pt = pts[(op, stage)]
        label = f"A6000 LLaMA-2-7B {op} {stage}"
        out += [Row(f"{label} OPs", pt.ops, ops, "OPs", TOLERANCE),
                Row(f"{label} bytes", pt.bytes, nbytes, "B", TOLERANCE),
                Row(f"{label} intensity", pt.intensity, ai, "OP/B", TOLERANCE),
                Row(f"{label} time ({pt.bound}-bound)", pt.seconds * 1e6, us, "us", TOLERANCE)]
    return out
