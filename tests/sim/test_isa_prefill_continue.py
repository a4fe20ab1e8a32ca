"""Prefill continuing an existing KV cache (a second user turn): prefill(a) then prefill(b) on the
ISA simulator gives golden's logits bit for bit, and the same rows as prefill(a + b)."""
from __future__ import annotations

import pytest
import torch

from bitflight.base import config
from bitflight.compiler import build, models, target as tg
from bitflight.golden.llm.accel import accelerator_model
from bitflight.golden.policy import load_policy
from bitflight.sim.isa.runtime import Session

MAX_LEN = 64


@pytest.fixture(scope="module")
def tiny():
    return models.load("tiny-golden")


def test_continuation_bucket_names():
    assert build.bucket_for("prefill", 7, 64, 16, 16, pos0=9) == "prefill:16@16"
    assert build.bucket_for("prefill", 27, 64, 16, 16, pos0=5) == "prefill:32@32"
    assert build.bucket_for("prefill", 3, 64, 16, 16, pos0=55) == "prefill:9@64"   # cache room
    assert build.parse_bucket("prefill:16@48") == ("prefill", 16, 48)
    assert build.parse_bucket("decode:32") == ("decode", 1, 32)
    with pytest.raises(ValueError, match="does not fit the maximum length 64"):
        build.bucket_for("prefill", 10, 64, 16, 16, pos0=60)
    with pytest.raises(ValueError, match="bad bucket name 'decode:3@4'"):
        build.parse_bucket("decode:3@4")


@pytest.mark.parametrize("policy_name,first,second", [("bitmod-w4", 9, 7), ("flightllm", 9, 7),
                                                      ("flightllm", 5, 27)])
def test_two_prefills_equal_golden_and_one_long_prefill(tiny, policy_name, first, second):
    policy = load_policy(policy_name)
    target = tg.build_target(tiny.graph, config.load("tiny"), policy, tiny.weights,
                             max_pos=MAX_LEN)
    cont = build.bucket_for("prefill", second, MAX_LEN, 16, 16, pos0=first)
    after = build.bucket_for("decode", first + second + 1, MAX_LEN, 16, 16)
    store, _ = build.compile_buckets(target, MAX_LEN, check=True, prefill_step=16,
                                     only=["prefill:16", cont, after])
    sess = Session(target, store, MAX_LEN)
    golden = accelerator_model(tiny.golden, policy)
    ids = torch.randint(0, 256, (first + second,), generator=torch.Generator().manual_seed(3))
    a, b = ids[:first], ids[first:]
    want_a, cache = golden.prefill(a[None])
    assert torch.equal(sess.prefill(a), want_a[0].float())
    want_b, cache = golden.prefill(b[None], cache)
    got_b = sess.prefill(b)
    assert torch.equal(got_b, want_b[0].float())
    whole, _ = golden.prefill(ids[None])
    assert torch.equal(got_b, whole[0, first:].float())           # = one prefill of a + b
    assert sess.length == first + second
    token = int(got_b[-1].argmax())
    assert torch.equal(sess.decode(token), golden.decode(torch.tensor([token]), cache)[0].float())
