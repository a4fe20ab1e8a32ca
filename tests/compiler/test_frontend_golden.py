"""Front end on the golden LLM: torch.export of golden.llm.export.ExportView lifted into the IR,
against llama_ir's builder, the transformers export, the IR interpreter and bad models."""
from __future__ import annotations


import pytest
import torch
import torch.nn.functional as F

from bitflight.compiler import frontend, interp, llama_ir, models
from bitflight.compiler.ir import CompileError
from bitflight.golden.llm import FloatNumerics, LlamaModel
from bitflight.golden.llm.export import ExportView

# Interpreter vs golden float model: the same float32 op sequence except that the interpreter
# runs attention per head on 2-D tensors and RoPE/RMSNorm on [T, H*d] views, which can change
# BLAS blocking of dot products of length <= 128: each differs by <= 128 * 2**-24 ~ 8e-6
# relative; through 2-4 layers with O(1) activations and weights of std 0.05 the logits
# (|logit| < 2) move far less than 1e-4.
TOL = 1e-4


def structure(graph):
    """The graph op by op: kind, attributes (weight names, shapes, heads, eps, scale, layer)
    and each input as the index of the op producing it, plus the output's producer and the
    weight shapes. Value names are left out: they are fx node names in an exported graph."""
    index = {graph.input: "ids"}
    ops = []
    for i, op in enumerate(graph.ops):
        ops.append((op.kind, op.attrs, tuple(index[v] for v in op.inputs)))
        index[op.output] = i
    return ops, index[graph.output], graph.params


@pytest.fixture(scope="module")
def golden():
    return models.tiny_golden()


@pytest.fixture(scope="module")
def golden_graph(golden):
    return frontend.from_golden(golden, whole=True)


def test_golden_export_equals_llama_ir_and_transformers_export(golden, golden_graph, tiny_graph):
    built = llama_ir.build(llama_ir.dims_from_golden(golden.config))
    assert structure(golden_graph) == structure(built)
    assert structure(golden_graph) == structure(tiny_graph)
    # the same dimensions (the token ids the configs also carry are not dimensions)
    same = dict(name="x", bos_token_id=None, eos_token_id=None)
    assert golden_graph.dims.replace(**same) == tiny_graph.dims.replace(**same)
    assert golden_graph.count()["linear"] == 15 and len(golden_graph.ops) == len(built.ops) == 43


def test_one_traced_layer_repeated_equals_the_whole_trace():
    deep = models.tiny_golden(layers=4)
    whole = frontend.from_golden(deep, whole=True)
    repeated = frontend.from_golden(deep)
    assert structure(repeated) == structure(whole)
    assert [op.attrs["layer"] for op in repeated.ops if op.kind == "kv_append"] == [
        0, 0, 1, 1, 2, 2, 3, 3]
    assert "model.layers.3.mlp.down_proj" in repeated.params


def test_models_load_takes_the_graph_from_the_golden_export(golden_graph):
    src = models.load("tiny-golden")
    assert structure(src.graph) == structure(golden_graph)
    # fx node names, not llama_ir's L0.* names: the graph was traced
    assert src.graph.ops[2].node == "linear" and src.graph.ops[2].kind == "linear"


def test_exported_ir_computes_the_golden_logits(golden, golden_graph):
    ids = torch.randint(0, 256, (11,), generator=torch.Generator().manual_seed(3))
    want = golden(ids[None])[0]
    got = interp.Interpreter(golden_graph, models._ir_weights(golden)).run(ids)
    assert got.shape == want.shape == (11, 256)
    assert (got - want).abs().max().item() < TOL


def test_tied_head_is_named_lm_head_and_reads_the_embedding_table(golden):
    weights = {k: v for k, v in golden.weights.items() if k != "lm_head.weight"}
    tied = LlamaModel(golden.config.replace(tied_embeddings=True), weights)
    graph = frontend.from_golden(tied)
    head = graph.producers()[graph.output]
    assert head.attrs == {"weight": "lm_head", "out_features": 256, "in_features": 64}
    ids = torch.arange(7)
    got = interp.Interpreter(graph, models._ir_weights(tied)).run(ids)
    assert (got - tied(ids[None])[0]).abs().max().item() < TOL


class _GeluNumerics(FloatNumerics):
    def swiglu(self, gate, up):
        return F.gelu(gate) * up


class _ScaledQueryNumerics(FloatNumerics):
    def attention(self, q, k, v, mask):        # scale by multiplication: not a known pattern
        scores = torch.matmul(q, k.transpose(-1, -2)) * q.shape[-1] ** -0.5
        return torch.matmul(torch.softmax(scores.masked_fill(~mask, float("-inf")), -1), v)


def _lift_with(numerics, golden):
    view = type("View", (ExportView,), {"numerics": numerics})(golden, layers=1)
    ep = torch.export.export(view, (torch.zeros(1, 8, dtype=torch.long),))
    return frontend.lift(ep, llama_ir.dims_from_golden(golden.config))


def test_unsupported_op_in_the_golden_export_names_node_and_op(golden):
    with pytest.raises(CompileError, match=r"^node 'gelu' \(aten\.gelu\.default\): "
                                           r"unsupported op in the LLM IR$"):
        _lift_with(_GeluNumerics, golden)


def test_unmatched_pattern_in_the_golden_export_names_node_and_op(golden):
    with pytest.raises(CompileError, match=r"^node 'mul_\d+' \(aten\.mul\.Tensor\): operands "
                                           r"do not match a supported LLM pattern$"):
        _lift_with(_ScaledQueryNumerics, golden)


def test_every_weight_is_used_and_repeated_layers_have_layer_zero_shapes(golden):
    extra = LlamaModel(golden.config, {**golden.weights, "model.extra.weight": torch.ones(3)})
    for whole in (False, True):
        with pytest.raises(CompileError, match="parameter 'model.extra' is not used by any IR op"):
            frontend.from_golden(extra, whole=whole)
    bad = dict(golden.weights)
    bad["model.layers.1.mlp.up_proj.weight"] = torch.zeros(96, 64)
    with pytest.raises(CompileError, match=r"layer 1 weight 'model.layers.1.mlp.up_proj' has "
                                           r"shape \(96, 64\), layer 0's \(128, 64\)"):
        frontend.from_golden(LlamaModel(golden.config, bad))


@pytest.mark.parametrize("policy_name", ["bitmod-w4", "flightllm"])
def test_exported_and_built_graphs_compile_to_the_same_image_and_programs(golden, golden_graph,
                                                                          policy_name):
    from bitflight.base import config
    from bitflight.compiler import build, target as tg
    from bitflight.golden.policy import load_policy
    weights = models._ir_weights(golden)
    stores, images = [], []
    for graph in (golden_graph, llama_ir.build(golden_graph.dims)):
        target = tg.build_target(graph, config.load("tiny"), load_policy(policy_name), weights,
                                 max_pos=64)
        stores.append(build.compile_buckets(target, 64, prefill_step=32)[0])
        images.append(target.image())
    assert stores[0].segments == stores[1].segments and stores[0].programs == stores[1].programs
    assert images[0] == images[1] and sum(map(len, images[0].values())) > 0


@pytest.mark.slow
def test_smollm2_export_equals_llama_ir():
    """The real model (30 layers, 9 query / 3 KV heads, tied head): one traced layer repeated,
    the whole trace and the dimension builder are the same graph (~20 s: slow)."""
    from bitflight.golden.llm import load_model
    model = load_model("smollm2")
    built = structure(llama_ir.build(llama_ir.dims_from_golden(model.config)))
    assert structure(frontend.from_golden(model)) == built
    assert structure(frontend.from_golden(model, whole=True)) == built
