"""``bitflight perf``: tables, JSON, plots and one-line errors."""
import json

import pytest

from bitflight.cli import main


def test_reproduce_json_rows(capsys):
    assert main(["perf", "--reproduce", "llm-viewer", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 16
    assert all(set(r) == {"name", "ours", "paper", "unit"} for r in rows)
    q = next(r for r in rows if r["name"] == "A6000 LLaMA-2-7B q_proj decode OPs")
    assert q["ours"] == 2 * 4096 * 4096


def test_analyze_json_and_plot(tmp_path, capsys):
    plot = tmp_path / "roof.png"
    assert main(["perf", "--model", "smollm2-135m", "--config", "u280", "--prompt-len", "16",
                 "--gen-len", "4", "--json", "--plot", str(plot)]) == 0
    out = json.loads(capsys.readouterr().out)
    s = out["summary"]
    assert (s["policy"], s["engine"], s["gen_len"]) == ("flightllm-int4", "csd", 4)
    assert out["decode_last"]["kv_len"] == 20
    assert {pt["stage"] for pt in out["roofline"]} == {"prefill", "decode"}
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_analyze_table_default_bitmod_policy(capsys):
    assert main(["perf", "--model", "opt-1.3b", "--config", "bitmod-asic", "--prompt-len", "8",
                 "--gen-len", "2"]) == 0
    out = capsys.readouterr().out
    assert "policy bitmod-w4" in out and "tokens/s" in out and "lm_head" in out


def test_device_roofline_and_compare(tmp_path, capsys):
    assert main(["perf", "--model", "llama2-7b", "--device", "a6000", "--prompt-len", "2048",
                 "--gen-len", "1", "--json"]) == 0
    pts = json.loads(capsys.readouterr().out)["roofline"]
    assert next(p for p in pts if p["name"] == "q_proj" and p["stage"] == "prefill")["bound"] \
        == "compute"
    plot = tmp_path / "designs.png"
    assert main(["perf", "--compare", "--plot", str(plot)]) == 0
    assert "BitMoD W3" in capsys.readouterr().out and plot.exists()


@pytest.mark.parametrize("argv, message", [
    (["perf"], "give --model and --config"),
    (["perf", "--model", "gpt9", "--config", "u280"], "unknown model shape 'gpt9'"),
    (["perf", "--model", "llama2-7b", "--config", "bitmod-asic", "--policy", "flightllm"],
     "needs a csd engine"),
    (["perf", "--model", "llama2-7b", "--config", "u280", "--prompt-len", "0"],
     "prompt length must be a positive integer"),
])
def test_errors_are_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bitflight perf: error: ") and message in err and "\n" not in err


def test_program_file_event_timing(tmp_path, capsys):
    from bitflight.compiler import encoding, isa
    from bitflight.compiler.isa import Buf, DType, Engine
    prog = [isa.make("LD", buf=Buf.WGT, channel=0, length=320, release=["MV"]),
            isa.make("MV", engine=Engine.DENSE, a_dt=DType.INT8, b_dt=DType.INT8,
                     o_dt=DType.INT32, m=1, n=4, k=64, b_lines=16, wait=["LD"])]
    path = tmp_path / "p.bin"
    path.write_bytes(encoding.encode_program(prog))
    assert main(["perf", "--program", str(path), "--config", "tiny", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # LD 320 B at 32 B/cycle, MV 8 passes, the chain's fill/drain (18 on tiny)
    assert out["cycles"] == 10 + 8 + 18 and out["hbm_bytes_per_channel"] == {"0": 320}
    assert main(["perf", "--program", str(tmp_path / "none.bin"), "--config", "tiny"]) == 2
    assert "none.bin: program file not found" in capsys.readouterr().err


def test_project_policy_from_the_cli(capsys):
    assert main(["perf", "--model", "smollm2-135m", "--config", "bitmod-asic", "--policy",
                 "bitmod-w3", "--prompt-len", "8", "--gen-len", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["policy"] == "bitmod-w3"
