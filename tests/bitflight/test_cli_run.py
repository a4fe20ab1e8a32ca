"""`bitflight run --check` on the tiny golden model: compile, simulate, compare with golden."""
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
