"""Shape-only model configs: sourced dimensions, derived shapes and one-line errors."""
import os
from pathlib import Path

import pytest
import yaml

from bitflight.golden import model_shapes
from bitflight.golden.model_shapes import ModelShape, ModelShapeError, load_shape

# Parameter counts as the published checkpoints report them (model cards / safetensors index,
# counting tied matrices once). They are an independent check of every dimension in the YAMLs.
PUBLISHED_PARAMS = {
    "llama2-7b": 6_738_415_616,
    "llama2-13b": 13_015_864_320,
    "llama3-8b": 8_030_261_248,
    "opt-1.3b": 1_315_758_080,
    "opt-6.7b": 6_658_473_984,
    "phi-2": 2_779_683_840,
    "yi-6b": 6_061_035_520,
    "smollm2-135m": 134_515_008,
}


def test_every_required_model_ships():
    assert set(PUBLISHED_PARAMS) <= set(model_shapes.available())


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_parameter_count_matches_published(name):
    shape = load_shape(name)
    assert shape.name == name
    assert shape.parameter_count() == PUBLISHED_PARAMS[name]
    assert "huggingface.co" in shape.source


def test_smollm2_dimensions_from_issue():
    s = load_shape("smollm2-135m")
    assert (s.layers, s.hidden, s.heads, s.kv_heads, s.intermediate, s.vocab) == \
        (30, 576, 9, 3, 1536, 49152)
    assert s.tied_embeddings and s.gated_mlp and s.rope_theta == 1e5
    assert s.gqa_group == 3 and s.kv_dim == 192


def test_llama_linears_in_order():
    s = load_shape("llama3-8b")
    names = [(l.name, l.in_features, l.out_features) for l in s.decoder_linears()]
    assert names == [("q_proj", 4096, 4096), ("k_proj", 4096, 1024), ("v_proj", 4096, 1024),
                     ("o_proj", 4096, 4096), ("gate_proj", 4096, 14336),
                     ("up_proj", 4096, 14336), ("down_proj", 14336, 4096)]
    assert s.lm_head() == ("lm_head", 4096, 128256, False)


def test_opt_and_phi_linears():
    opt = load_shape("opt-1.3b")
    assert [l.name for l in opt.decoder_linears()] == ["q_proj", "k_proj", "v_proj", "out_proj",
                                                       "fc1", "fc2"]
    assert all(l.bias for l in opt.decoder_linears())
    phi = load_shape("phi-2")
    assert phi.decoder_linears()[3].name == "dense"
    assert phi.rotary_dim == 32 and phi.norms_per_layer() == 1 and phi.lm_head().bias


def test_path_and_name_resolve_to_same():
    assert load_shape(model_shapes.MODELS_DIR / "phi-2.yaml") == load_shape("phi-2")


def _write(tmp_path: Path, **changes) -> Path:
    data = yaml.safe_load((model_shapes.MODELS_DIR / "smollm2-135m.yaml").read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("changes, key, words", [
    ({"hidden_size": 576}, "hidden_size", "Extra inputs"),
    ({"kv_heads": 4}, "(top level)", "does not divide heads 9"),
    ({"layers": 0}, "layers", "greater than 0"),
    ({"arch": "gpt2"}, "arch", "llama"),
    ({"source": None}, "source", "Field required"),
    ({"rope_theta": None}, "(top level)", "rope_theta is required"),
    ({"heads": "nine"}, "heads", "integer"),
    ({"rotary_fraction": 0.3}, "(top level)", "rotary_fraction"),
])
def test_bad_field_names_file_and_key(tmp_path, changes, key, words):
    path = _write(tmp_path, **changes)
    with pytest.raises(ModelShapeError) as info:
        load_shape(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path.resolve()}: {key}: ")
    assert words in message


def test_unknown_name_lists_built_ins():
    with pytest.raises(ModelShapeError, match=r"unknown model shape 'llama9'.*llama2-7b"):
        load_shape("llama9")


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ModelShapeError, match="not found"):
        load_shape(tmp_path / "absent.yaml")
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ModelShapeError, match=r"broken.yaml: line \d+: not valid YAML"):
        load_shape(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ModelShapeError, match="expected a mapping"):
        load_shape(listing)


def test_shapes_are_frozen():
    s = load_shape("llama2-7b")
    with pytest.raises(Exception):
        s.hidden = 1  # type: ignore[misc]


def test_edit_is_seen_after_reload(tmp_path):
    path = _write(tmp_path)
    assert load_shape(path).layers == 30
    path.write_text(path.read_text().replace("layers: 30", "layers: 2"))
    os.utime(path, ns=(1, 1))  # force a different mtime even on coarse filesystems
    assert load_shape(path).layers == 2


def test_llama_config_is_the_shape_class_specialised():
    """One class holds model dimensions: a LLaMA shape file becomes a LlamaConfig field for field,
    and a shape of another family is refused naming the first field that is not LLaMA's."""
    from bitflight.base.errors import ModelError
    from bitflight.golden.llm.config import LlamaConfig
    shape = load_shape("llama2-7b")
    cfg = LlamaConfig.from_shape(shape)
    assert isinstance(cfg, ModelShape)
    assert cfg.model_dump(exclude={"bos_token_id", "eos_token_id", "rope_scaling"}) == \
        shape.model_dump()
    assert (cfg.q_dim, cfg.kv_dim, cfg.parameter_count()) == \
        (shape.q_dim, shape.kv_dim, shape.parameter_count())
    with pytest.raises(ModelError, match=r"model config phi-2: arch: Input should be 'llama'"):
        LlamaConfig.from_shape(load_shape("phi-2"))
    with pytest.raises(ModelError, match=r"model config t: head_dim 15 must be even"):
        cfg.replace(name="t", head_dim=15, heads=1, kv_heads=1)
