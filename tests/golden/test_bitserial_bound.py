"""golden.bitserial.error_bound: the derived bound holds against an exact float64 product."""
from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bitflight.golden import bitserial as bs
from bitserial_cases import SCHEMES, exact_dequant, make_qw, random_acts


@given(seed=st.integers(0, 2**32 - 1), scheme=st.sampled_from(sorted(SCHEMES)),
       mode=st.sampled_from(["int", "fp16"]), spread=st.sampled_from([1.0, 6.0, 12.0]),
       group=st.sampled_from([8, 32, 128]))
def test_error_within_derived_bound(seed, scheme, mode, spread, group):
    rng = np.random.default_rng(seed)
    qw = make_qw(rng, 5, 2 * group, group, SCHEMES[scheme], mode)
    x = random_acts(rng, 4, 2 * group, 0.2, spread)
    y = bs.linear(x, qw).double().numpy()
    w = exact_dequant(qw)
    exact = x.double().numpy() @ w.T
    # float64 summation error of the reference itself (K terms, each exactly representable)
    ref_err = 2.0 ** -52 * 2 * group * (np.abs(x.double().numpy()) @ np.abs(w).T)
    finite = np.isfinite(y)
    assert np.all(np.abs(y - exact)[finite] <= (bs.error_bound(x, qw) + ref_err)[finite])


def test_bound_is_not_vacuous():
    """On typical data the bound is within a few hundred fp16 ulps of the result, not infinite."""
    rng = np.random.default_rng(3)
    qw = make_qw(rng, 16, 256, 128, SCHEMES["bitmod4"])
    x = random_acts(rng, 8, 256, 0.0, 1.0)
    exact = x.double().numpy() @ exact_dequant(qw).T
    rel = bs.error_bound(x, qw) / np.abs(exact)
    assert np.median(rel) < 0.5
