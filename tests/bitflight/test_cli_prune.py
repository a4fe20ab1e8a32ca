"""``bitflight prune``: report, packed output identical to golden.sparse, plot, one-line errors."""
import numpy as np
import pytest
import torch
from safetensors.torch import load as st_load

from bitflight.cli import main
from bitflight.golden import sparse


@pytest.fixture
def weight_file(tmp_path):
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((64, 96)) * np.kron(rng.uniform(0.1, 3, (4, 6)), np.ones((16, 16))))
    path = tmp_path / "w.npy"
    np.save(path, w.astype(np.float32))
    return path, torch.from_numpy(w.astype(np.float32))


def test_density_int4_output_and_plot(weight_file, tmp_path, capsys):
    path, w = weight_file
    out, png = tmp_path / "w.nm", tmp_path / "n.png"
    assert main(["prune", str(path), "--density", "0.4", "--bits", "4", "-o", str(out),
                 "--plot", str(png)]) == 0
    expected = sparse.prune_nm(w, density=0.4)
    stored = expected.quantize_int(4)
    assert out.read_bytes() == stored.pack()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = capsys.readouterr().out
    line = text.splitlines()[0]
    assert line.startswith(f"tensor [64, 96] density {expected.density:.4f}")
    rel = float(torch.linalg.norm(w - stored.dequantize()) / torch.linalg.norm(w))
    assert f"rel. error {rel:.4f} (int4)" in line
    assert f"{8 * len(stored.pack()) / w.numel():.3f} bits/weight" in line


def test_state_dict_fixed_n_with_config(tmp_path, capsys):
    torch.manual_seed(0)
    sd = {"a.weight": torch.randn(32, 32), "b.weight": torch.randn(16, 48), "bias": torch.randn(32)}
    path, out = tmp_path / "sd.pt", tmp_path / "sd.safetensors"
    torch.save(sd, path)
    assert main(["prune", str(path), "--n", "8", "--config", "u280", "-o", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("a.weight [32, 32] density 0.5000  blocks by N: 8:100.0%")
    blobs = st_load(out.read_bytes())
    assert set(blobs) == {"a.weight", "b.weight"}
    got = sparse.NMSparse.unpack(blobs["b.weight"].numpy().tobytes())
    assert got == sparse.prune_nm(sd["b.weight"], n=8)


@pytest.mark.parametrize("argv, message", [
    (["--n", "3"], "w.npy: tensor 'tensor': n: N=3 is not 0 or a divisor of M=16"),
    (["--density", "0.05"], "w.npy: tensor 'tensor': density: 0.05 is outside"),
    (["--density", "0.5", "--n-options", "2,x"], "--n-options: expected integers, got '2,x'"),
    (["--density", "0.5", "--config", "bitmod-asic"], "--config: 'bitmod-asic' has no csd engine"),
])
def test_errors_are_one_line(weight_file, capsys, argv, message):
    path, _ = weight_file
    assert main(["prune", str(path)] + argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("bitflight prune: error: ") and message in err


def test_shape_error_names_tensor(tmp_path, capsys):
    path = tmp_path / "odd.npy"
    np.save(path, np.ones((20, 32), dtype=np.float32))
    assert main(["prune", str(path), "--n", "4"]) == 2
    assert "tensor 'tensor': weight: n_out=20 output rows is not a multiple of block=16" in \
        capsys.readouterr().err
