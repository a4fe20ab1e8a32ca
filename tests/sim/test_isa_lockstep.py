"""sim.isa.lockstep against hand-built stand-ins whose logits are known in advance."""
import torch

from bitflight.sim.isa.lockstep import greedy_lockstep

V = 5


class _Counting:
    """Logits for row t of any call = one-hot of (previous token + 1) mod V, optionally perturbed
    at one decode step: greedy decoding from token 0 must give 1, 2, 3, ..."""

    def __init__(self, spoil_at: int | None = None, as_golden: bool = False):
        self.spoil_at, self.as_golden, self.decodes = spoil_at, as_golden, 0

    def _logits(self, ids):
        out = torch.nn.functional.one_hot((ids + 1) % V, V).float()
        return out[None] if self.as_golden else out

    def prefill(self, ids):
        logits = self._logits(ids[0] if self.as_golden else ids)
        return (logits, "cache") if self.as_golden else logits

    def decode(self, token, cache=None):
        self.decodes += 1
        t = token if isinstance(token, torch.Tensor) else torch.tensor([token])
        logits = self._logits(t)
        if self.decodes == self.spoil_at:
            logits = logits + 0.25
        return logits


def test_identical_models_give_the_counting_sequence():
    r = greedy_lockstep(_Counting(), _Counting(as_golden=True), torch.tensor([3, 0]), 4)
    assert r.tokens == [1, 2, 3, 4] and r.identical


def test_the_first_differing_step_is_reported_with_its_magnitude():
    sess = _Counting()
    r = greedy_lockstep(sess, _Counting(spoil_at=2, as_golden=True), torch.tensor([0]), 4)
    assert r.first_diff == (2, 0.25) and not r.identical
    assert sess.decodes == 3            # tokens - 1 decode steps, the last token needs none


def test_without_golden_only_tokens_are_produced():
    r = greedy_lockstep(_Counting(), None, torch.tensor([0]), 3)
    assert r.tokens == [1, 2, 3] and r.identical
    assert greedy_lockstep(_Counting(), None, torch.tensor([0]), 0).tokens == []
