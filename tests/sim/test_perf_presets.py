"""Perf presets against the project's policy schema (golden.policy).

A preset the compiler could build must mean what the same policy written for ``golden.policy``
means, so the two definitions cannot drift; the presets golden.policy refuses (N:M on the BitMoD
engine) are the perf model's own explorations. The policies below are written out by hand from
the preset descriptions in docs/perf.md, not derived from the presets.
"""
import pytest

from bitflight.golden import policy as project
from bitflight.golden.model_shapes import load_shape
from bitflight.sim.perf.policy import PRESETS
from bitflight.sim.perf.project_policy import from_project_policy
from bitflight.sim.perf.workload import decode_step

BITMOD = {"engine": "bitmod", "activations": "fp16"}
CSD = {"engine": "csd", "activations": "int8", "kv_cache": "int8"}
AS_PROJECT_POLICY = {
    "fp16": {**BITMOD, "kv_cache": "fp16", "default": {"scheme": "fp16", "bits": 16}},
    "bitmod-w4-g128": {**BITMOD, "kv_cache": "int8", "default": {
        "scheme": "bitmod", "bits": 4, "group_size": 128, "scale_mode": "int"}},
    "bitmod-w3-g128": {**BITMOD, "kv_cache": "int8", "default": {
        "scheme": "bitmod", "bits": 3, "group_size": 128, "scale_mode": "int"}},
    "bitmod-w6": {**BITMOD, "kv_cache": "int8", "default": {
        "scheme": "int_sym", "bits": 6, "group_size": 128, "scale_mode": "int"}},
    "flightllm-int4": {**CSD, "default": {"scheme": "int_sym", "bits": 4, "group_size": 128}},
    "flightllm-int8": {**CSD, "default": {"scheme": "int_sym", "bits": 8, "group_size": 128}},
}


@pytest.mark.parametrize("name", AS_PROJECT_POLICY)
def test_preset_equals_the_same_project_policy(name):
    shape = load_shape("llama2-7b")
    pol = project.Policy.model_validate({"name": name, **AS_PROJECT_POLICY[name]})
    via_golden, preset = from_project_policy(pol, shape), PRESETS[name]
    assert (via_golden.kv_bits, via_golden.act_bits) == (preset.kv_bits, preset.act_bits)
    for op in decode_step(shape, 64).matmuls:
        assert via_golden.weight_bytes(op) == preset.weight_bytes(op), op.name
        assert via_golden.term_slots_of(op) == preset.term_slots_of(op), op.name
        assert via_golden.density_of(op) == preset.density_of(op), op.name


@pytest.mark.parametrize("name", ["bitmod-w3-nm8", "bitmod-w3-nm4"])
def test_nm_on_the_bitmod_engine_is_perf_only(name):
    assert PRESETS[name].engine == "bitmod" and PRESETS[name].density
    with pytest.raises(ValueError, match="N:M sparsity needs engine csd"):
        project.Policy.model_validate({"name": name, **BITMOD, "kv_cache": "int8", "default": {
            "scheme": "bitmod", "bits": 3, "sparsity": {"n": 8}}})


def test_every_preset_is_classified():
    assert set(PRESETS) == set(AS_PROJECT_POLICY) | {"bitmod-w3-nm8", "bitmod-w3-nm4"}
