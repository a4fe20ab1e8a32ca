"""Read the project's quantization policies (``golden.policy``, ``configs/policies``) as perf
policies, so ``bitflight perf --policy NAME`` times what ``bitflight compile --policy NAME`` builds.

Each operation type of the workload (``q_proj``, ``gate_proj``, ``lm_head``...) takes the weight
spec the policy gives its Hugging Face layer name (``model.layers.{i}.self_attn.q_proj``,
``model.layers.{i}.mlp.gate_proj``, ``lm_head``). The analytical mode has one entry per operation
type for all layers, so a policy whose rules give different layers of one type different formats
is refused with a one-line error. Mapping: schemes keep their names; ``sparsity``
``{density: d}`` -> density d, ``{n: N}`` -> N/16; activations and KV cache fp16 -> 16 bits,
int8 -> 8 bits.
"""
from __future__ import annotations

from ...base.errors import PolicyError
from ...golden.model_shapes import ModelShape
from .policy import PerfPolicy, WeightNumerics

_ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj", "out_proj", "dense")
_SCHEMES = ("int_sym", "int_asym", "fp16", "fp", "bitmod")     # the same names in both schemas


def layer_name(op: str, layer: int) -> str:
    if op == "lm_head":
        return "lm_head"
    block = "self_attn" if op in _ATTENTION else "mlp"
    return f"model.layers.{layer}.{block}.{op}"


def _numerics(spec, where: str) -> WeightNumerics:
    if spec.scheme not in _SCHEMES:
        raise PolicyError(f"{where}: scheme {spec.scheme} has no performance model "
                         f"(known: {', '.join(_SCHEMES)})")
    return WeightNumerics(scheme=spec.scheme, bits=spec.bits,
                          group_size=spec.group_size, scale_mode=spec.scale_mode)


def _density(spec) -> float:
    if spec.sparsity is None:
        return 1.0
    return spec.sparsity.density if spec.sparsity.density is not None else spec.sparsity.n / 16


def from_project_policy(policy, shape: ModelShape) -> PerfPolicy:
    """The perf policy of a ``golden.policy.Policy`` for the operations of ``shape``."""
    ops = [l.name for l in shape.decoder_linears()] + ["lm_head"]
    overrides, density = {}, {}
    for op in ops:
        layers = [0] if op == "lm_head" else range(shape.layers)
        specs = {i: policy.weight_for(layer_name(op, i)) for i in layers}
        first = specs[layers[0]]
        for i, spec in specs.items():
            if spec != first:
                raise PolicyError(f"policy '{policy.name}': {layer_name(op, i)} has a different "
                                 f"format from layer 0; the analytical mode needs one per {op}")
        overrides[op] = _numerics(first, f"policy '{policy.name}': {layer_name(op, 0)}")
        if _density(first) < 1:
            density[op] = _density(first)
    default = overrides[ops[0]]
    return PerfPolicy(name=policy.name, engine=policy.engine, description=policy.description,
                      overrides=overrides, density=density,
                      kv_bits=16 if policy.kv_cache == "fp16" else 8,
                      act_bits=16 if policy.activations == "fp16" else 8,
                      **default.model_dump())
