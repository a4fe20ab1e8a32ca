"""``bitflight formats`` and ``bitflight quantize`` run in-process through cli.main."""
import math
import struct
import re

import numpy as np
import pytest
import torch
from safetensors.torch import load, save_file

from bitflight.cli import main
from bitflight.golden import quant


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_formats_table(capsys):
    code, out, _ = _run(capsys, "formats")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    for name in ("int3", "int4", "int6", "int8", "fp3", "fp4_e2m1", "fp4_er_pos", "fp4_ea_neg",
                 "fp3_ea_pos", "flint4", "nf4", "fp16", "mxfp4"):
        assert name in rows
    cols = rows["fp4_er_pos"].split()
    assert cols[1] == "4" and "5*" in cols and cols[cols.index("6") + 1] == "5"  # special 5
    assert re.search(r"-8\* -6 .* 6\s+-8\s+2\s", rows["fp4_ea_neg"])
    assert re.search(r"-127 \.\. 127 \(255 values, step 1\)\s+-\s+4\s", rows["int8"])
    assert re.search(r"3\* 4\s+3\s+2\s+BitMoD", rows["fp3_er_pos"])


def test_formats_one_and_unknown(capsys):
    code, out, _ = _run(capsys, "formats", "fp3")
    assert code == 0 and out.splitlines()[1].split()[:9] == [
        "fp3", "3", "-4", "-2", "-1", "0", "1", "2", "4"]
    code, _, err = _run(capsys, "formats", "fp9")
    assert code == 2 and err.startswith("bitflight formats: error: unknown format 'fp9'")
    assert len(err.strip().splitlines()) == 1


def _line_stats(line):
    m = re.search(r"mse (\S+)\s+max\|err\| (\S+)\s+snr (\S+) dB\s+(\S+) bits/weight", line)
    return [float(v) for v in m.groups()]


@pytest.fixture
def w():
    g = torch.Generator().manual_seed(1)
    return torch.randn(16, 256, generator=g) * 0.02


def test_quantize_npy_reports_statistics(tmp_path, capsys, w):
    path = tmp_path / "w.npy"
    np.save(path, w.numpy())
    code, out, _ = _run(capsys, "quantize", str(path), "--scheme", "bitmod", "--bits", "4")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("tensor [16, 256] bitmod 4-bit:")
    mse, max_abs, snr, bpw = _line_stats(lines[0])
    deq = quant.quantize(w, "bitmod", 4).dequantize().double()
    err = w.double() - deq
    assert mse == pytest.approx(float((err ** 2).mean()), rel=1e-4)
    assert max_abs == pytest.approx(float(err.abs().max()), rel=1e-4)
    assert snr == pytest.approx(10 * math.log10(float((w.double() ** 2).sum() / (err ** 2).sum())),
                                abs=0.006)
    assert bpw == pytest.approx(4 + 18 / 128, abs=1e-4)
    shares = [float(re.search(r"([\d.]+)% of groups", l).group(1)) for l in lines[1:5]]
    assert [l.split()[0] for l in lines[1:5]] == ["fp4_er_pos", "fp4_er_neg", "fp4_ea_pos",
                                                  "fp4_ea_neg"]
    assert sum(shares) == pytest.approx(100, abs=0.05)


def test_quantize_state_dict_and_output(tmp_path, capsys, w):
    path = tmp_path / "sd.pt"
    torch.save({"model": {"fc.weight": w, "fc.bias": torch.zeros(16)}}, path)
    out_path = tmp_path / "fc.bfq"
    code, out, _ = _run(capsys, "quantize", str(path), "--tensor", "model.fc.weight", "--scheme",
                        "int_sym", "--bits", "4", "--scale-mode", "int", "-o", str(out_path))
    assert code == 0 and "wrote" in out
    back = quant.QuantizedWeight.unpack(out_path.read_bytes())
    assert back == quant.quantize(w, "int_sym", 4, scale_mode="int")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temp left


def test_quantize_all_2d_tensors_of_safetensors(tmp_path, capsys, w):
    path = tmp_path / "m.safetensors"
    save_file({"a.weight": w, "b.weight": w[:8, :128].contiguous(), "a.bias": w[0].clone()}, str(path))
    out_path = tmp_path / "m.packed.safetensors"
    code, out, _ = _run(capsys, "quantize", str(path), "--scheme", "mx", "--bits", "4",
                        "-o", str(out_path))
    assert code == 0
    names = [l.split()[0] for l in out.splitlines() if "mx 4-bit" in l]
    assert sorted(names) == ["a.weight", "b.weight"]
    blobs = load(out_path.read_bytes())
    qb = quant.QuantizedWeight.unpack(blobs["b.weight"].numpy().tobytes())
    assert qb == quant.quantize(w[:8, :128], "mx", 4)


def test_quantize_compares_schemes(tmp_path, capsys, w):
    path = tmp_path / "w.npy"
    np.save(path, w.numpy())
    code, out, _ = _run(capsys, "quantize", str(path), "--scheme", "bitmod,int_asym,nf4",
                        "--bits", "4", "--group-size", "64")
    assert code == 0
    heads = [l for l in out.splitlines() if l.startswith("tensor")]
    assert [h.split()[3] for h in heads] == ["bitmod", "int_asym", "nf4"]


def test_quantize_plot(tmp_path, capsys, w):
    path = tmp_path / "w.npy"
    np.save(path, w.numpy())
    png = tmp_path / "snr.png"
    code, out, _ = _run(capsys, "quantize", str(path), "--scheme", "bitmod,int_sym", "--bits",
                        "3", "--plot", str(png))
    assert code == 0 and f"wrote {png}" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv,message", [
    (["missing.npy", "--scheme", "bitmod", "--bits", "4"], r"missing.npy: no such file"),
    (["{w}", "--tensor", "x", "--scheme", "bitmod", "--bits", "4"], r"no tensor 'x' \(has: tensor\)"),
    (["{w}", "--scheme", "gptq", "--bits", "4"], r"--scheme: unknown 'gptq'"),
    (["{w}", "--scheme", "bitmod", "--bits", "5"], r"tensor 'tensor': bits: scheme 'bitmod'"),
    (["{w}", "--scheme", "bitmod", "--bits", "4", "--group-size", "96"],
     r"group_size: 96 does not divide the input dimension K=256"),
    (["{w}", "--scheme", "bitmod,fp", "--bits", "4", "-o", "x.bfq"], r"-o: give a single"),
    (["{w}", "--scheme", "mx", "--bits", "4", "--scale-mode", "int"], r"--scale-mode: mx"),
    (["{txt}", "--scheme", "bitmod", "--bits", "4"], r"unsupported file type '.txt'"),
    (["{bad}", "--scheme", "bitmod", "--bits", "4"], r"bad.pt: cannot read tensors"),
])
def test_quantize_errors_are_one_line(tmp_path, capsys, w, argv, message):
    np.save(tmp_path / "w.npy", w.numpy())
    (tmp_path / "w.txt").write_text("1 2 3")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    paths = {"w": tmp_path / "w.npy", "txt": tmp_path / "w.txt", "bad": tmp_path / "bad.pt"}
    argv = [a.format(**paths) if a.startswith("{") else a for a in argv]
    if argv[0] == "missing.npy":
        argv[0] = str(tmp_path / "missing.npy")
    code, out, err = _run(capsys, "quantize", *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bitflight quantize: error: ")
    assert re.search(message, lines[0])


def test_help(capsys):
    for cmd in ("formats", "quantize"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        assert "usage: bitflight " + cmd in capsys.readouterr().out


def test_cli_scheme_list_is_the_registry():
    """The CLI keeps its own list so that --help does not import torch; it must not drift."""
    from bitflight.commands import quantize as cmd
    from bitflight.golden import quant
    assert set(cmd.SCHEME_NAMES) == set(quant.SCHEMES)


def test_quantize_reads_a_model_gguf_by_tensor_name(tmp_path, capsys):
    """A model file is a tensor source too: the weight named as Hugging Face names it is the
    same tensor the golden LLM computes with, so its error statistics match a direct quantize."""
    from bitflight.golden import quant
    from bitflight.golden.llm import LlamaConfig, load_model
    from bitflight.golden.llm.gguf_write import write_llama_gguf
    from bitflight.golden.llm.weights import random_weights

    cfg = LlamaConfig(name="t", layers=1, hidden=64, heads=4, kv_heads=2, head_dim=16,
                      intermediate=128, vocab=96, max_position=64, rope_theta=1e4, norm_eps=1e-5,
                      tied_embeddings=True)
    path = write_llama_gguf(tmp_path / "m.gguf", cfg, random_weights(cfg), "F32")
    name = "model.layers.0.mlp.down_proj.weight"
    assert main(["quantize", str(path), "--tensor", name, "--scheme", "int_sym", "--bits", "4",
                 "--group-size", "32"]) == 0
    out = capsys.readouterr().out
    w = load_model(str(path)).weights[name]
    qw = quant.quantize(w, "int_sym", 4, group_size=32)
    mse = float(((qw.dequantize() - w) ** 2).mean())
    assert name in out and f"mse {mse:.4e}" in out


@pytest.mark.parametrize("layout,header", [("rows", (1, 0, 0, 0)), ("8,4", (2, 8, 4, 0)),
                                           ("8,4,full", (2, 8, 4, 1)),
                                           ("tiny", (2, 4, 4, 0x21)),           # 32-byte rows
                                           ("bitmod-asic", (2, 64, 4, 0x41))])  # 128-byte rows
def test_quantize_writes_the_layout_asked_for(tmp_path, capsys, w, layout, header):
    """--layout: row by row, explicit blocks and chunks, or the layout a config's BitMoD engine
    reads (tiny: the lcm of its arrays' 2 and 4 rows, 4 lanes, full blocks, sections at its WGT
    rows); the tile unpacks to the same weight in every layout."""
    path, out_path = tmp_path / "w.npy", tmp_path / "w.bfq"
    np.save(path, w.numpy())
    code, _, _ = _run(capsys, "quantize", str(path), "--scheme", "bitmod", "--bits", "4",
                      "--layout", layout, "-o", str(out_path))
    blob = out_path.read_bytes()
    assert code == 0 and struct.unpack_from("<HH", blob, 60) == header[1:3]
    assert struct.unpack_from("<H", blob, 4) == header[:1] and blob[11] == header[3]
    assert quant.QuantizedWeight.unpack(blob) == quant.quantize(w, "bitmod", 4)


@pytest.mark.parametrize("layout,why", [("8,5", "--layout: layout: block 8 and chunk 5"),
                                        ("1,128,full", "--layout: layout: full blocks and section alignment need"),
                                        ("csd-only-no-such", "csd-only-no-such")])
def test_quantize_bad_layout_is_one_line(tmp_path, capsys, w, layout, why):
    path = tmp_path / "w.npy"
    np.save(path, w.numpy())
    code, _, err = _run(capsys, "quantize", str(path), "--scheme", "bitmod", "--bits", "4",
                        "--layout", layout, "-o", str(tmp_path / "o.bfq"))
    assert code != 0 and why in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.bfq").exists()
