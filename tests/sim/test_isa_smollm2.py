"""Acceptance (issue 6): SmolLM2-135M on the ISA simulator, 32-token prompt + 16 decoded tokens,
logits identical to the golden accelerator-numerics model under a BitMoD W4 and the FlightLLM
policy, hence identical greedy tokens. Minutes of CPU: marked slow."""
from __future__ import annotations

import pytest
import torch

from bitflight.base import config
from bitflight.compiler import build, models, target as tg
from bitflight.golden.llm.accel import accelerator_model
from bitflight.golden.policy import load_policy
from bitflight.sim.isa.lockstep import greedy_lockstep
from bitflight.sim.isa.runtime import Session

pytestmark = pytest.mark.slow
PROMPT, NEW = 32, 16


@pytest.fixture(scope="module")
def smollm2():
    return models.load("smollm2")


@pytest.mark.parametrize("policy_name, config_name", [("bitmod-w4", "bitmod-asic"),
                                                      ("flightllm", "u280")])
def test_smollm2_logits_identical(smollm2, policy_name, config_name):
    policy = load_policy(policy_name)
    max_len = PROMPT + NEW
    target = tg.build_target(smollm2.graph, config.load(config_name), policy, smollm2.weights,
                             max_pos=max_len)
    needed = {build.bucket_for("prefill", PROMPT, max_len)} | {
        build.bucket_for("decode", n, max_len) for n in range(PROMPT + 1, max_len + 1)}
    store, _ = build.compile_buckets(target, max_len, only=sorted(needed))
    sess = Session(target, store, max_len)
    golden = accelerator_model(smollm2.golden, policy)
    ids = torch.randint(0, smollm2.graph.dims.vocab, (PROMPT,),
                        generator=torch.Generator().manual_seed(0))
    result = greedy_lockstep(sess, golden, ids, NEW + 1)
    assert result.identical, f"logits differ from golden: {result.first_diff}"
