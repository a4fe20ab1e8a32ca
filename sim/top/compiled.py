"""Compiled programs as RTL jobs: a model's prefill and decode steps with the host's input
writes, and which of their instructions the top executes today."""
from __future__ import annotations

import torch

from ...compiler import build, isa, models, target as tg
from ...golden.policy import load_policy
from ..isa.runtime import Session
from .job import Step


def steps_for(model, cfg, policy: str, prompt: list[int], decode: list[int]):
    """(memory image, channel sizes, [(decoded program, Step)]): a prefill of ``prompt``, then
    one decode step per id of ``decode``, each in its bucket, compiled for ``cfg``; ``model``:
    a spec of ``compiler.models.load`` or a ``ModelSource``."""
    source = models.load(model) if isinstance(model, str) else model
    max_len = len(prompt) + len(decode) + 1
    target = tg.build_target(source.graph, cfg, load_policy(policy), source.weights,
                             max_pos=max_len)
    pre = build.bucket_for("prefill", len(prompt), max_len)
    decs = [build.bucket_for("decode", len(prompt) + 1 + k, max_len) for k in range(len(decode))]
    store, _ = build.compile_buckets(target, max_len, only=sorted({pre, *decs}))
    sess = Session(target, store, max_len)
    region = target.layout.regions["input"]
    padded = torch.zeros(build.parse_bucket(pre)[1], dtype=torch.long)
    padded[:len(prompt)] = torch.tensor(prompt)
    launches = [(pre, padded, 0, len(prompt))] + [
        (bucket, torch.tensor([token]), len(prompt) + k, 1)
        for k, (bucket, token) in enumerate(zip(decs, decode))]
    out = []
    for bucket, ids, pos0, ntok in launches:
        data = tg.input_ids(target, ids)
        out.append((sess._program(bucket), Step(
            words=store.program_words(bucket), pos0=pos0, ntok=ntok,
            writes=[(region.channel, region.addr, data)])))
    hbm = target.layout.hbm
    sizes = {ch: hbm.used[ch] for ch in range(hbm.channels) if hbm.used[ch]}
    return target.image(), sizes, out


def has_engine(instr: isa.Instr) -> bool:
    """Executed by an engine of the top today; with MODE skip_missing the rest completes
    without touching memory. MISC: COPY on the CopyEngine, every other op on the SfuEngine."""
    from ...rtl.top.csd_engine import executes
    if instr.kind in ("LD", "ST", "SYS", "MISC"):
        return True
    return attention_product(instr) or bool(executes(instr)) or bitmod_product(instr)


def bitmod_product(instr: isa.Instr) -> bool:
    """An MM/MV the BITMOD engine takes (rtl/top/bitmod/engine.py ``accepts``) with fp16 A."""
    return (instr.kind in ("MM", "MV") and instr["engine"] == isa.Engine.BITMOD
            and not instr["skip_pad"] and instr["b_dt"] != isa.DType.FP16
            and instr["a_dt"] == isa.DType.FP16)


def attention_product(instr: isa.Instr) -> bool:
    """An MM/MV the attention engine takes (rtl/top/attention: ``skip_pad`` with FP16/INT8 B)."""
    return (instr.kind in ("MM", "MV") and bool(instr["skip_pad"])
            and instr["b_dt"] in (isa.DType.FP16, isa.DType.INT8))
