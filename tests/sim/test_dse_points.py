"""Axes to points: grids, linked axes, sampling bounds, resolution into validated objects, keys."""
import copy
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitflight.base import config
from bitflight.sim.dse import space
from bitflight.sim.dse.points import Invalid, Point, Resolver, set_dotted
from bitflight.sim.dse.spec import SweepSpec

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _spec(**base) -> SweepSpec:
    return SweepSpec.model_validate({
        "name": "t", "base": {"config": "tiny", "model": "smollm2-135m", **base},
        "space": {"clock_mhz": [100]}, "metrics": {"compile": False}})


def test_grid_is_the_product_last_axis_fastest_and_linked_keys_move_together():
    axes = (space.parse_axis("a", [1, 2]), space.parse_axis("b.rows, b.cols", [[3, 4], [5, 6]]),
            space.parse_axis("c", "x"))
    assert list(space.grid(axes)) == [
        {"a": 1, "b.rows": 3, "b.cols": 4, "c": "x"}, {"a": 1, "b.rows": 5, "b.cols": 6, "c": "x"},
        {"a": 2, "b.rows": 3, "b.cols": 4, "c": "x"}, {"a": 2, "b.rows": 5, "b.cols": 6, "c": "x"}]
    assert space.grid_size(axes) == 4


@given(low=st.integers(-50, 50), span=st.integers(1, 100), step=st.integers(1, 7),
       seed=st.integers(0, 2**32 - 1))
def test_int_samples_stay_on_the_step_grid_within_bounds(low, span, step, seed):
    d = space.parse_axis("k", {"int": [low, low + span], "step": step}).dist
    rng = np.random.default_rng(seed)
    for _ in range(20):
        v = d.sample(rng)
        assert isinstance(v, int) and low <= v <= low + span and (v - low) % step == 0


@given(seed=st.integers(0, 2**32 - 1))
def test_float_and_log_samples_stay_within_bounds(seed):
    rng = np.random.default_rng(seed)
    u = space.parse_axis("k", {"uniform": [150.0, 300.0]}).dist
    g = space.parse_axis("k", {"log_uniform": [1e-3, 10.0]}).dist
    li = space.parse_axis("k", {"int": [1, 1000], "log": True}).dist
    for _ in range(20):
        assert 150.0 <= u.sample(rng) <= 300.0
        assert 1e-3 <= g.sample(rng) <= 10.0
        assert 1 <= li.sample(rng) <= 1000


def test_set_dotted_creates_mappings_and_indexes_lists():
    data = {"a": None, "rules": [{"weight": {}}]}
    set_dotted(data, "a.b.c", 1)
    set_dotted(data, "rules.0.weight.bits", 8)
    assert data == {"a": {"b": {"c": 1}}, "rules": [{"weight": {"bits": 8}}]}
    with pytest.raises(ValueError, match="rules.3: no such list element"):
        set_dotted(data, "rules.3.weight", 1)


def test_config_keys_reach_the_validated_config():
    r = Resolver(_spec(), CONFIGS)
    p = r.resolve("s", {"clock_mhz": 250, "bitmod.prefill_array.rows": 4,
                        "bitmod.decode_array.rows": 8, "buffers.output_kb": 256})
    assert isinstance(p, Point)
    assert (p.cfg.clock_mhz, p.cfg.bitmod.prefill_array.rows, p.cfg.buffers.output_kb) == \
        (250.0, 4, 256)
    assert p.cfg.csd == config.load("tiny").csd          # untouched sections stay as loaded


def test_a_point_that_breaks_a_config_rule_is_invalid_with_the_schema_message():
    r = Resolver(_spec(), CONFIGS)
    p = r.resolve("s", {"bitmod.prefill_array.rows": 4})         # 8 PEs against 4 in decode
    assert isinstance(p, Invalid)
    assert p.reason == ("config tiny: bitmod: prefill_array and decode_array must have the same "
                        "number of PEs (8 != 4)")
    q = r.resolve("s", {"policy": "flightllm", "policy.rules.0.weight.sparsity.density": 1.5})
    assert isinstance(q, Invalid) and q.reason == ("policy flightllm: rules.0.weight.sparsity."
                                                   "density: Input should be less than or "
                                                   "equal to 1")


def test_policy_fields_reach_the_perf_policy():
    r = Resolver(_spec(policy="flightllm"), CONFIGS)
    p = r.resolve("s", {"policy.kv_cache": "fp16", "policy.rules.0.weight.sparsity.density": 0.25})
    assert p.project.kv_cache == "fp16" and p.policy.kv_bits == 16
    assert p.policy.density["gate_proj"] == 0.25 and "q_proj" not in p.policy.density
    nm = r.resolve("s", {"policy": "bitmod-w3-nm8", "policy.density.projections": 0.75})
    assert nm.project is None and nm.policy.density == {"projections": 0.75}


def test_key_depends_on_content_not_names(tmp_path):
    raw = (CONFIGS / "tiny.yaml").read_text().replace("name: tiny", "name: renamed")
    (tmp_path / "copy.yaml").write_text(raw)
    r = Resolver(_spec(), tmp_path)
    a = r.resolve("s", {})
    b = r.resolve("s", {"config": "copy.yaml"})
    c = r.resolve("s", {"clock_mhz": 101})
    d = r.resolve("s", {"gen_len": 9})
    assert b.cfg.name == "renamed" and a.key == b.key
    assert len({a.key, c.key, d.key}) == 3


def test_resolution_does_not_modify_the_cached_files():
    r = Resolver(_spec(), CONFIGS)
    r.resolve("s", {"clock_mhz": 300})
    before = copy.deepcopy(r._raw)
    assert r.resolve("s", {}).cfg.clock_mhz == 100.0 and r._raw == before
