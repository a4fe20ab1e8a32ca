"""`bitflight run --check` on the tiny golden model: compile, simulate, compare with golden."""
import pytest

from bitflight.cli import main


def test_run_check_reports_identical_logits_and_both_token_streams(capsys):
    argv = ["run", "--model", "tiny-golden", "--config", "tiny", "--policy", "flightllm",
            "--ids", "1,2,3,4", "--tokens", "4", "--check"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    generated = out.split("generated (4 tokens): ")[1].splitlines()[0].split()
    assert len(generated) == 4 and all(0 <= int(t) < 256 for t in generated)
    assert "float model (4 tokens): " in out
    assert "check: every logit identical to the golden accelerator-numerics model" in out


def test_run_rejects_an_empty_prompt(capsys):
    assert main(["run", "--model", "tiny-golden", "--config", "tiny", "--policy", "flightllm",
                 "--ids", "", "--tokens", "2"]) == 2
    assert "non-empty prompt" in capsys.readouterr().err


@pytest.fixture(scope="module")
def llama3_folder(tmp_path_factory):
    """A tiny LLaMA with LLaMA-3 RoPE scaling saved as a Hugging Face folder (no tokenizer)."""
    from bitflight.golden.llm import LlamaConfig, LlamaModel
    from bitflight.golden.llm.reference import from_golden
    from bitflight.golden.llm.rope_scaling import Llama3RopeScaling
    from bitflight.golden.llm.weights import random_weights
    cfg = LlamaConfig(name="l3", layers=1, hidden=64, heads=4, kv_heads=2, head_dim=16,
                      intermediate=96, vocab=128, max_position=256, tied_embeddings=False,
                      rope_scaling=Llama3RopeScaling(8.0, 1.0, 4.0, 32))
    folder = tmp_path_factory.mktemp("hf") / "l3"
    from_golden(LlamaModel(cfg, random_weights(cfg, seed=2))).save_pretrained(str(folder))
    return folder


RUN_L3 = ["--config", "tiny", "--policy", "bitmod-w4", "--ids", ",".join(map(str, range(1, 41))),
          "--tokens", "3", "--check"]


def test_run_check_compares_an_hf_folder_with_transformers(llama3_folder, capsys):
    assert main(["run", "--model", str(llama3_folder), *RUN_L3]) == 0
    captured = capsys.readouterr()
    assert "check: every logit identical" in captured.out
    line = next(l for l in captured.out.splitlines() if l.startswith("reference: "))
    assert f"transformers loaded {llama3_folder}" in line and "<= tolerance" in line
    # progress on stderr although it is not a terminal here: one line per stage
    for stage in ("compiling 2 bucket programs", "prefill of 40 tokens", "token 2 of 3",
                  "token 3 of 3", "reference logits"):
        assert stage in captured.err, stage


def test_run_check_fails_when_the_golden_model_misreads_the_file(llama3_folder, tmp_path,
                                                                 monkeypatch, capsys):
    """A loader that drops a numerics field (here the RoPE scaling) keeps simulator == golden,
    so only the comparison with transformers can catch it."""
    import shutil

    from bitflight.golden.llm import hf_config
    folder = tmp_path / "copy"           # another path: load_model caches models by path
    shutil.copytree(llama3_folder, folder)
    monkeypatch.setattr(hf_config, "rope_from_hf", lambda c, m, w: (10000.0, None))
    assert main(["run", "--model", str(folder), *RUN_L3]) == 1
    out = capsys.readouterr().out
    assert "check: every logit identical" in out
    failed = [l for l in out.splitlines() if l.startswith("check: FAILED")]
    assert len(failed) == 1 and "EXCEEDS tolerance" in failed[0]
    assert "golden model computes this model wrongly" in failed[0]


def test_prompt_without_tokenizer_says_what_is_missing_and_suggests_ids(llama3_folder, capsys):
    assert main(["run", "--model", str(llama3_folder), "--config", "tiny", "--policy",
                 "bitmod-w4", "--prompt", "hello", "--tokens", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bitflight run: error: --prompt: ")
    assert "no tokenizer in the folder (none of tokenizer.json" in err
    assert "--ids" in err and "\n" not in err
