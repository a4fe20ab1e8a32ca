"""Compiled tiny-model programs on the top: prefill then decode of the GQA LLaMA, with MM/MV/MISC
as token-only stand-ins (their engines arrive in later phases). Every LD/ST/SYS of the real
programs runs with the real tokens; HBM and buffers must equal sim.isa's with the same
instructions made token-only, bit for bit."""
import pytest
import torch

from bitflight.compiler import build, models, target as tg
from bitflight.golden.policy import load_policy
from bitflight.rtl.top.sys_unit import TokenOnly
from bitflight.sim.isa.runtime import Session
from bitflight.sim.top import runner
from bitflight.sim.top.job import Job, Step

from top_cases import CFG, COMPUTE, assert_same_state, reference

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-verilator")]
PROMPT = [1, 2, 3]


def token_only_units():
    from bitflight.compiler import isa
    return {isa.Queue[k]: (lambda p, q=isa.Queue[k]: TokenOnly(q, p)) for k in COMPUTE}


def compiled_steps(policy: str):
    """(image, channel sizes, [(program, Step)]) of a 3-token prefill and one decode step."""
    source = models.load("tiny-golden")
    max_len = len(PROMPT) + 2
    target = tg.build_target(source.graph, CFG, load_policy(policy), source.weights,
                             max_pos=max_len)
    pre = build.bucket_for("prefill", len(PROMPT), max_len)
    dec = build.bucket_for("decode", len(PROMPT) + 1, max_len)
    store, _ = build.compile_buckets(target, max_len, only=sorted({pre, dec}))
    sess = Session(target, store, max_len)
    region = target.layout.regions["input"]
    padded = torch.zeros(build.parse_bucket(pre)[1], dtype=torch.long)
    padded[:len(PROMPT)] = torch.tensor(PROMPT)
    out = []
    for bucket, ids, pos0, ntok in ((pre, padded, 0, len(PROMPT)),
                                    (dec, torch.tensor([5]), len(PROMPT), 1)):
        data = tg.input_ids(target, ids)
        out.append((sess._program(bucket), Step(words=store.program_words(bucket), pos0=pos0,
                                                ntok=ntok,
                                                writes=[(region.channel, region.addr, data)])))
    hbm = target.layout.hbm
    sizes = {ch: hbm.used[ch] for ch in range(hbm.channels) if hbm.used[ch]}
    return target.image(), sizes, out


@pytest.mark.parametrize("policy", ["bitmod-w4", "flightllm"])
def test_compiled_data_movement_matches_isa(policy):
    top = runner.build(CFG, token_only_units(), variant="token-only")
    image, sizes, steps = compiled_steps(policy)
    job = Job(channels=image, limits=sizes, steps=[s for _, s in steps])
    result = runner.run(top, job)
    assert result.error is None, result.error
    machine, error = reference(image, [s for _, s in steps], [p for p, _ in steps],
                               token_only=True)
    assert error is None, error
    assert_same_state(result, machine)
    assert all(s.cycles > 0 for s in result.steps)
