"""End to end: the tiny random GQA LLaMA compiled for the tiny config runs on the ISA simulator
and its logits equal the golden accelerator-numerics model's exactly (prefill and decode)."""
from __future__ import annotations

import pytest
import torch

from bitflight.base import config
from bitflight.compiler import build, models, target as tg
from bitflight.compiler.lower import segments
from bitflight.golden.llm.accel import accelerator_model
from bitflight.golden.policy import load_policy
from bitflight.sim.isa.lockstep import greedy_lockstep
from bitflight.sim.isa.runtime import Session

MAX_LEN = 64


@pytest.fixture(scope="module")
def tiny():
    return models.load("tiny-golden")


@pytest.fixture(scope="module")
def tiny_hf():
    return models.load("tiny-llama")


def _session(tiny, policy_name):
    policy = load_policy(policy_name)
    target = tg.build_target(tiny.graph, config.load("tiny"), policy, tiny.weights,
                             max_pos=MAX_LEN)
    store, _ = build.compile_buckets(target, MAX_LEN, check=True, prefill_step=16,
                                     only=["prefill:16", "decode:16", "decode:32"])
    return Session(target, store, MAX_LEN), accelerator_model(tiny.golden,
                                                                                 policy)


@pytest.mark.parametrize("policy_name", ["bitmod-w4", "bitmod-w3", "flightllm", "bitmod-fp16"])
def test_logits_identical_to_golden_accelerator_numerics(tiny, policy_name):
    sess, golden = _session(tiny, policy_name)
    ids = torch.randint(0, 256, (13,), generator=torch.Generator().manual_seed(7))
    result = greedy_lockstep(sess, golden, ids, 6)  # 5 decodes cross from bucket 16 into 32
    assert result.identical, f"logits differ from golden: {result.first_diff}"
    assert sess.length == 18
    counters = sess.machine.counters
    assert counters.instructions["MV"] > 0 and counters.instructions["MM"] > 0
    engines = {"flightllm": {"DENSE", "SPARSE"}}.get(policy_name, {"BITMOD", "DENSE"})
    assert sum(counters.bytes_read.values()) > 0 and set(counters.macs) == engines


@pytest.mark.slow
def test_torch_exported_transformers_llama_matches_golden(tiny_hf):
    """The same check through the torch.export front end of a transformers LlamaForCausalLM."""
    sess, golden = _session(tiny_hf, "bitmod-w4")
    ids = torch.arange(3, 15)
    got = sess.prefill(ids)
    want, cache = golden.prefill(ids[None])
    assert torch.equal(got, want[0].float())
    token = int(got[-1].argmax())
    assert torch.equal(sess.decode(token), golden.decode(torch.tensor([token]), cache)[0].float())


def test_replayed_layers_run_exactly():
    """With 4 layers, layers 2 and 3 are relocated copies of layer 1 (compiler/relocate.py); the
    token checker still proves them and the logits stay identical to golden."""
    deep = models.load("tiny-golden:4")
    policy = load_policy("flightllm")
    target = tg.build_target(deep.graph, config.load("tiny"), policy, deep.weights,
                             max_pos=MAX_LEN)
    labels = [lbl for lbl, _, rep in segments(build.Step(deep.graph, target, "decode", 1, 16))
              if rep is not None]
    assert labels == ["decode:L2.pre", "decode:L2.attn", "decode:L2.post", "decode:L3.pre",
                      "decode:L3.attn", "decode:L3.post"]
    store, _ = build.compile_buckets(target, MAX_LEN, check=True, prefill_step=16,
                                     only=["prefill:16", "decode:16"])
    sess = Session(target, store, MAX_LEN)
    golden = accelerator_model(deep.golden, policy)
    ids = torch.arange(5, 14)
    want, cache = golden.prefill(ids[None])
    assert torch.equal(sess.prefill(ids), want[0].float())
    assert torch.equal(sess.decode(7), golden.decode(torch.tensor([7]), cache)[0].float())


def test_chunked_prefill_shares_chunks_and_stays_exact(tiny):
    """A 37-token prompt runs as three 16-row chunks of bucket prefill:48; the chunks are the same
    segments as in prefill:16 and prefill:32."""
    policy = load_policy("flightllm")
    target = tg.build_target(tiny.graph, config.load("tiny"), policy, tiny.weights,
                             max_pos=MAX_LEN)
    store, _ = build.compile_buckets(target, MAX_LEN, check=True, prefill_step=16,
                                     only=["prefill:16", "prefill:32", "prefill:48", "decode:48"])
    p16, p48 = store.programs["prefill:16"], store.programs["prefill:48"]
    assert p48[:len(p16) - 1] == p16[:-1] and p48[-1] == p16[-1]       # shared chunk 0 and END
    sess = Session(target, store, MAX_LEN)
    golden = accelerator_model(tiny.golden, policy)
    ids = torch.randint(0, 256, (37,), generator=torch.Generator().manual_seed(11))
    want, cache = golden.prefill(ids[None])
    assert torch.equal(sess.prefill(ids), want[0].float())
    assert torch.equal(sess.decode(3), golden.decode(torch.tensor([3]), cache)[0].float())
