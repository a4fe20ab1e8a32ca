"""Perplexity, fake quantization, the corpus, and the eval/generate commands' error handling."""
import math

import pytest
import torch

from bitflight.cli import main
from bitflight.golden import quant
from bitflight.golden.llm import LlamaConfig, LlamaModel
from bitflight.golden.llm.corpus import corpus_text
from bitflight.golden.llm.generate import common_prefix, greedy, side_by_side
from bitflight.golden.llm.perplexity import fake_quantize, perplexity
from bitflight.golden.llm.weights import random_weights

CFG = LlamaConfig(name="t", layers=1, hidden=64, heads=2, kv_heads=1, head_dim=32,
                  intermediate=128, vocab=96)


@pytest.fixture(scope="module")
def model():
    return LlamaModel(CFG, random_weights(CFG, seed=2))


def test_perplexity_is_exp_mean_nll_over_windows(model):
    tokens = torch.randint(0, 96, (23,), generator=torch.Generator().manual_seed(0)).tolist()
    nll, n = 0.0, 0
    for start in (0, 10, 20):                           # windows of 10: 10, 10, 3 tokens
        w = torch.tensor(tokens[start:start + 10])
        logp = torch.log_softmax(model(w[None])[0].double(), -1)
        nll -= float(logp[torch.arange(len(w) - 1), w[1:]].sum())
        n += len(w) - 1
    assert math.isclose(perplexity(model, tokens, seq_len=10), math.exp(nll / n), rel_tol=1e-5)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        perplexity(model, [5], 10)


def test_fake_quantize_unties_and_quantizes_every_linear(model):
    fq = fake_quantize(model, "int_sym", 4, group_size=32)
    w = fq.model.weights
    assert not fq.model.config.tied_embeddings
    assert torch.equal(w["model.embed_tokens.weight"], model.weights["model.embed_tokens.weight"])
    qh = quant.quantize(model.weights["model.embed_tokens.weight"], "int_sym", 4, group_size=32)
    assert torch.equal(w["lm_head.weight"], qh.dequantize().float())
    down = model.weights["model.layers.0.mlp.down_proj.weight"]
    qd = quant.quantize(down, "int_sym", 4, group_size=32)
    assert math.isclose(fq.mse_by_type["down_proj"],
                        float(((qd.dequantize() - down) ** 2).mean()), rel_tol=1e-5)
    assert fq.bits_per_weight == pytest.approx(qd.bits_per_weight)   # same g32 metadata everywhere
    assert fake_quantize(model, "fp16", 16).bits_per_weight == 16.0


def test_greedy_uses_the_cache_consistently(model):
    prompt = [3, 14, 15, 92]
    out = greedy(model, prompt, 6)
    ids = list(prompt)
    for _ in range(6):                                  # recompute from scratch each step
        ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    assert out == ids[len(prompt):]
    assert common_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert side_by_side("a", "x " * 30, "b", "y", 40).splitlines()[0].startswith("a")


def test_corpus_is_english_and_long_enough():
    text = corpus_text()
    assert len(text) > 100_000 and "assignment statement" in text.lower()


@pytest.mark.parametrize("argv,msg", [
    (["eval", "--schemes", "int_sym,bogus"], "unknown scheme 'bogus'"),
    (["eval", "--bits", "four"], "--bits: cannot parse"),
    (["eval", "--model", "/nonexistent/m.gguf", "--schemes", "fp16"], "m.gguf: GGUF file not found"),
    (["eval", "--numerics", "accel", "--policies", "bitmod-w4,nope"], "unknown policy 'nope'"),
    (["eval", "--numerics", "accel", "--gen-tokens", "-1"], "--gen-tokens must be at least 0"),
    (["generate", "--bits", "5"], "--scheme/--bits"),
    (["generate", "--policy", "nope"], "unknown policy 'nope'"),
    (["generate", "--tokens", "0"], "--tokens must be at least 1"),
])
def test_cli_errors_are_one_line(capsys, argv, msg):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"bitflight {argv[0]}: error:") and msg in err and "\n" not in err


@pytest.mark.slow
def test_eval_command_on_smollm2(tmp_path, capsys):
    rc = main(["eval", "--schemes", "fp16,int_sym", "--bits", "8", "--tokens", "64",
               "--seq-len", "32", "--out", str(tmp_path)])
    assert rc == 0
    md = (tmp_path / "quantization.md").read_text()
    assert "| fp16 | 16 |" in md and "| int_sym | 8 | 128 |" in md
    assert (tmp_path / "quantization.png").stat().st_size > 10_000
    import json
    res = json.loads((tmp_path / "quantization.json").read_text())["results"]
    # 8-bit weights barely move perplexity
    assert abs(res[1]["perplexity"] - res[0]["perplexity"]) < 0.05 * res[0]["perplexity"]


@pytest.mark.slow
def test_eval_accel_numerics_on_smollm2(tmp_path):
    """--numerics accel: the perplexity is the golden accelerator model's, the greedy ids are
    golden.llm.generate.greedy's; both files are written."""
    import json

    from bitflight.golden.llm import load_model, load_tokenizer
    from bitflight.golden.llm.accel import accelerator_model
    from bitflight.golden.llm.corpus import corpus_tokens
    rc = main(["eval", "--numerics", "accel", "--policies", "bitmod-fp16", "--tokens", "48",
               "--seq-len", "24", "--gen-tokens", "3", "--out", str(tmp_path)])
    assert rc == 0
    res = json.loads((tmp_path / "accel.json").read_text())
    assert res["linear"] == "dequant" and res["tokens"] == 48
    row = res["results"][0]
    model, tok = load_model("smollm2"), load_tokenizer("smollm2")
    acc = accelerator_model(model, "bitmod-fp16", linear="dequant")
    assert row["perplexity"] == perplexity(acc, corpus_tokens(tok, 48), 24)
    assert row["greedy_ids"] == greedy(acc, tok("The capital of France is")["input_ids"], 3,
                                       model.config.eos_token_id)
    assert "| bitmod-fp16 |" in (tmp_path / "accel.md").read_text()
