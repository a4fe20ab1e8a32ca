"""Sweep specs: the shipped ones load, and every mistake is one line naming the file and key."""
from pathlib import Path

import pytest

from bitflight.cli import main
from bitflight.sim.dse import space
from bitflight.sim.dse.spec import SpecError, load_spec

SWEEPS = Path(__file__).resolve().parents[2] / "configs" / "sweeps"

BASE = """name: t
base: {config: tiny, model: smollm2-135m}
"""


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def test_shipped_u280_spec_has_at_least_500_grid_points():
    spec = load_spec(SWEEPS / "u280-llama2-7b.yaml")
    sizes = {s.name: space.grid_size(s.parsed) for s in spec.space}
    # hand count: bitmod 6 shapes x 5 clocks x 2 policies x 2 KV; csd 5 x 5 x 2 bits x 4
    # densities x 2 KV; bitmod-column 4 columns x 5 x 2 x 2; bitmod-nm 6 shapes x 1 clock x 2
    # policies x 3 densities
    assert sizes == {"bitmod": 120, "csd": 400, "bitmod-column": 80, "bitmod-nm": 36}
    assert sum(sizes.values()) >= 500


def test_shipped_ci_spec_loads():
    spec = load_spec(SWEEPS / "ci-tiny.yaml")
    assert spec.metrics.area is not None and spec.metrics.perplexity is not None
    assert [space.grid_size(s.parsed) for s in spec.space] == [6, 4, 2]


@pytest.mark.parametrize("body, where, message", [
    ("space: {bitmod.prefil_array.rows: [2]}\n", "space.0.axes",
     "bitmod.prefil_array.rows: names no field of the config schema"),
    ("space: {policy.kv_cach: [int8]}\n", "space.0.axes",
     "policy.kv_cach: names no field of the project or the perf policy schema"),
    ("space: {clock_mhz: {uniform: [100, 200]}}\n", "(top level)",
     "clock_mhz: a distribution needs search method random or nsga2"),
    ("space: {'a.rows, a.cols': [[1, 2, 3]]}\n", "space.0.axes",
     "a.rows, a.cols: each value must be a list of 2 entries"),
    ("space: {clock_mhz: {uniform: [200, 100]}}\nsearch: {method: random, samples: 3}\n",
     "space.0.axes", "clock_mhz: uniform needs [low, high] numbers with low < high"),
    ("space: {clock_mhz: [1]}\nsearch: {method: random}\n", "search",
     "samples: method random needs a number of samples"),
    ("space: {clock_mhz: [1]}\nchoose: {maximize: lut}\n", "(top level)",
     "lut: needs metrics.area"),
    ("space: {clock_mhz: [1]}\nchoose: {maximize: speed}\n", "choose",
     "unknown metric 'speed'"),
    ("space: {clock_mhz: [1]}\nmetrics: {area: {provider: vivado}}\n", "metrics.area",
     "unknown area provider 'vivado'"),
    ("space: {clock_mhz: [1]}\nmetrics: {area: {options: {max_row: 2}}}\n", "metrics.area",
     "options.max_row: not an option of reduced-synth"),
    ("space: {clock_mhz: [1], 'clock_mhz, csd.m': [[1, 2]]}\n", "space.0.axes",
     "clock_mhz: set by two axes"),
    ("space: {clock_mhz: [1]}\nsearch: {method: grid, sample: 3}\n", "search.sample",
     "Extra inputs are not permitted"),
])
def test_spec_errors_name_file_and_key(tmp_path, body, where, message):
    path = _write(tmp_path, BASE + body)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    text = str(err.value)
    assert text.startswith(f"{path}: {where}: ") and message in text and "\n" not in text


def test_cli_reports_a_bad_spec_in_one_line(tmp_path, capsys):
    path = _write(tmp_path, BASE + "space: {clockmhz: [1]}\n")
    assert main(["sweep", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bitflight sweep: error: ") and "clockmhz" in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_the_cli_does_not_import_ray_optuna_or_the_sweep_package():
    import subprocess
    import sys
    code = ("import sys; from bitflight.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('ray', 'optuna', 'bitflight.sim.dse', 'torch') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
