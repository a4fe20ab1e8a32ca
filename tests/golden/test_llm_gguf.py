"""GGUF reading: metadata, block dequantization against the format definition, bad files."""
import struct

import numpy as np
import pytest
import torch

from bitflight.golden.llm import LlamaConfig, load_model, smollm2_path
from bitflight.golden.llm.gguf_file import read_gguf
from bitflight.golden.llm.gguf_write import write_llama_gguf
from bitflight.golden.llm.weights import random_weights

TINY = LlamaConfig(name="tiny", layers=1, hidden=64, heads=4, kv_heads=2, head_dim=16,
                   intermediate=96, vocab=128)


def test_smollm2_metadata():
    gf = read_gguf(smollm2_path())
    md = gf.metadata
    assert gf.architecture == "llama"
    assert (md["llama.block_count"], md["llama.embedding_length"], md["llama.attention.head_count"],
            md["llama.attention.head_count_kv"], md["llama.feed_forward_length"]) == \
        (30, 576, 9, 3, 1536)
    assert md["llama.rope.freq_base"] == 100000.0
    assert gf.tensors["token_embd.weight"].type_name == "Q8_0"
    assert gf.tensors["token_embd.weight"].shape == (49152, 576)
    assert gf.tensors["blk.0.ffn_down.weight"].type_name == "Q4_1"
    assert gf.tensors["blk.0.ffn_down.weight"].shape == (576, 1536)
    assert "output.weight" not in gf.tensors       # tied embeddings


def _blocks(raw: np.ndarray, size: int) -> np.ndarray:
    return raw.reshape(-1, size)


def _ref_dequant(raw: bytes, kind: str) -> np.ndarray:
    """Block layouts of ggml: Q8_0 = fp16 d + 32 int8; Q4_0 = fp16 d + 16 bytes of nibbles
    (low nibbles are elements 0..15, high 16..31), value (q-8)*d; Q4_1 = fp16 d, fp16 m + nibbles,
    value q*d + m."""
    out = []
    buf = np.frombuffer(raw, dtype=np.uint8)
    size = {"Q8_0": 34, "Q4_0": 18, "Q4_1": 20}[kind]
    for blk in _blocks(buf, size):
        d = float(np.frombuffer(blk[:2].tobytes(), np.float16)[0])
        if kind == "Q8_0":
            out.append(blk[2:].view(np.int8).astype(np.float64) * d)
            continue
        head = 2 if kind == "Q4_0" else 4
        q = np.concatenate([blk[head:] & 15, blk[head:] >> 4]).astype(np.float64)
        if kind == "Q4_0":
            out.append((q - 8) * d)
        else:
            m = float(np.frombuffer(blk[2:4].tobytes(), np.float16)[0])
            out.append(q * d + m)
    return np.concatenate(out)


@pytest.mark.parametrize("kind", ["Q8_0", "Q4_0", "Q4_1"])
def test_block_dequantization_matches_format_definition(tmp_path, kind):
    w = random_weights(TINY, seed=11)
    path = write_llama_gguf(tmp_path / "t.gguf", TINY, w, kind)
    gf = read_gguf(path)
    t = gf._reader.tensors[gf._index["blk.0.ffn_up.weight"]]
    ref = _ref_dequant(np.asarray(t.data).tobytes(), kind).reshape(96, 64)
    assert np.allclose(gf.tensor("blk.0.ffn_up.weight"), ref, rtol=0, atol=1e-6)
    # and the quantization error is that of a 4/8-bit block format, not a layout mix-up
    err = np.abs(ref - w["model.layers.0.mlp.up_proj.weight"].numpy()).max()
    assert err < (0.01 if kind == "Q8_0" else 0.03)


def test_missing_file():
    with pytest.raises(ValueError, match=r"nope\.gguf: GGUF file not found"):
        load_model("/nonexistent/nope.gguf")


def test_not_a_gguf(tmp_path):
    p = tmp_path / "bad.gguf"
    p.write_bytes(b"hello world, not a model" * 10)
    with pytest.raises(ValueError, match=r"bad\.gguf: corrupt or truncated GGUF"):
        load_model(str(p))


@pytest.mark.parametrize("keep", [40, 3000, -100])
def test_truncated_gguf(tmp_path, keep):
    good = write_llama_gguf(tmp_path / "good.gguf", TINY, random_weights(TINY), "F32").read_bytes()
    p = tmp_path / "cut.gguf"
    p.write_bytes(good[:keep])
    with pytest.raises(ValueError, match=r"cut\.gguf: (corrupt or )?truncated GGUF") as e:
        load_model(str(p))
    assert "\n" not in str(e.value)


def test_unsupported_architecture(tmp_path):
    p = write_llama_gguf(tmp_path / "g.gguf", TINY, random_weights(TINY), "F32", arch="gpt2")
    with pytest.raises(ValueError, match=r"g\.gguf: unsupported architecture 'gpt2'"):
        load_model(str(p))


def test_unsupported_tensor_type(tmp_path):
    import gguf
    p = tmp_path / "iq.gguf"
    w = gguf.GGUFWriter(str(p), "llama")
    # IQ4_NL block: fp16 scale + 16 bytes; 2 blocks = one row of 64
    raw = np.zeros((1, 36), dtype=np.uint8)
    w.add_tensor("blk.0.attn_q.weight", raw, raw_dtype=gguf.GGMLQuantizationType.IQ4_NL)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    gf = read_gguf(p)
    with pytest.raises(ValueError, match=r"iq\.gguf: tensor 'blk.0.attn_q.weight' has unsupported "
                                         r"type IQ4_NL"):
        gf.tensor("blk.0.attn_q.weight")


def test_missing_tensor(tmp_path):
    w = random_weights(TINY)
    del w["model.layers.0.mlp.up_proj.weight"]
    p = write_llama_gguf(tmp_path / "m.gguf", TINY, w, "F32")
    with pytest.raises(ValueError, match=r"m\.gguf: tensor 'blk.0.ffn_up.weight' not found"):
        load_model(str(p))


def test_unknown_spec():
    with pytest.raises(ValueError, match="not-a-model: not a model"):
        load_model("not-a-model")


@pytest.mark.slow
def test_smollm2_logits_match_transformers_gguf_loader():
    from transformers import AutoModelForCausalLM
    path = smollm2_path()
    hf = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                              dtype=torch.float32)
    ours = load_model("smollm2")
    ids = torch.tensor([[1, 504, 3575, 282, 4649, 314, 7042, 30, 378, 2365, 314]])
    with torch.no_grad():
        ref = hf(ids).logits
    got = ours(ids)
    # float32 round-off through 30 layers: |logits| <= ~30, observed max error 5e-5.
    assert torch.allclose(got, ref, atol=2e-4, rtol=1e-5), (got - ref).abs().max()
    assert torch.equal(got.argmax(-1), ref.argmax(-1))


@pytest.mark.slow
def test_smollm2_tokenizer_round_trip_and_greedy_answer():
    from bitflight.golden.llm import load_tokenizer
    tok = load_tokenizer("smollm2")
    text = "The capital of France is Paris. Numbers: 12345, symbols: <>&; unicode: café."
    ids = tok(text)["input_ids"]
    assert ids[:5] == [504, 3575, 282, 4649, 314]
    assert tok.decode(ids) == text
    assert load_tokenizer("smollm2") is tok       # cached in-process (and on disk)
