"""Decoder-layer identity is a field the front ends set (Op.layer, HbmRegion.layer/role); the
passes after them (segment labels, relocation of replayed layers) never read it out of names."""
from __future__ import annotations

from bitflight.compiler import llama_ir, models
from bitflight.compiler.ir import weight_roles
from bitflight.compiler.lower_ops import segment_labels
from bitflight.compiler.passes.memory import HbmMap
from bitflight.compiler.relocate import RegionMap


def _expected_layers(ops):
    """Independent expectation from the LLaMA naming: a weight of ``model.layers.{i}`` puts its
    op in layer i, any other weight outside the layers; weightless ops follow the last weight."""
    out, layer = [], None
    for op in ops:
        if op.weight:
            parts = op.weight.split(".")
            layer = int(parts[2]) if parts[:2] == ["model", "layers"] else None
        out.append(layer)
    return out


def test_both_front_ends_stamp_the_layers(tiny_graph):
    traced = models.load("tiny-golden:4").graph               # torch.export, one layer repeated
    built = llama_ir.build(traced.dims)                       # built directly from dimensions
    for graph in (traced, built, tiny_graph):
        layers = [op.layer for op in graph.ops]
        assert layers == _expected_layers(graph.ops)
        assert layers[0] is None and layers[-1] is None       # embedding, head
    assert [op.layer for op in traced.ops] == [op.layer for op in built.ops]


def test_segments_follow_the_stamped_layer_not_the_weight_names():
    graph = models.load("tiny-golden:4").graph
    labels = [lbl for lbl in segment_labels(graph.ops) if lbl]
    assert labels[:4] == ["embed", "L0.pre", "L0.attn", "L0.post"]
    assert labels[-1] == "head" and labels.count("L3.pre") == 1
    renamed = [op.__class__(op.kind, op.inputs, op.output,
                            {**op.attrs, "weight": f"w{i}"} if op.weight else op.attrs,
                            op.node, op.layer) for i, op in enumerate(graph.ops)]
    assert segment_labels(renamed) == segment_labels(graph.ops)


def test_weight_roles_repeat_in_every_layer():
    graph = models.load("tiny-golden:4").graph
    layer_of, role_of = weight_roles(graph)
    per_layer = {}
    for name, layer in layer_of.items():
        if layer is not None:
            per_layer.setdefault(layer, []).append(role_of[name])
    assert len(per_layer) == 4 and len({tuple(r) for r in per_layer.values()}) == 1
    assert role_of["lm_head"] == "lm_head" and layer_of["lm_head"] is None


def test_relocation_pairs_regions_by_layer_and_role_whatever_their_names():
    hbm = HbmMap(2, 1 << 20)
    a1 = hbm.alloc("first", 100, channel=0, layer=1, role="w0#0")
    hbm.alloc("second", 64, channel=1, layer=1, role="kv.k")
    a2 = hbm.alloc("third", 100, channel=1, layer=2, role="w0#0")
    hbm.alloc("fourth", 64, channel=0, layer=2, role="kv.k")
    rmap = RegionMap(hbm.regions, 1)
    assert rmap.same_sizes(2)
    assert rmap.move(0, a1.addr + 10, 2) == (1, a2.addr + 10)
    assert rmap.move(0, 5000, 2) == (0, 5000)                 # outside layer 1: unchanged
    hbm.alloc("fifth", 99, channel=0, layer=3, role="w0#0")
    assert not rmap.same_sizes(3)                             # layer 3 misses kv.k
