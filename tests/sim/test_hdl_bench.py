"""The benchmark runner: python -m bitflight.sim.bench [NAME ...] [-- ARGS]."""
import textwrap

import pytest

import bitflight.sim.bench as bench
from bitflight.sim.bench.__main__ import main


@pytest.fixture
def bench_dir(tmp_path, monkeypatch):
    """A folder of fake bench modules on the bench package's path."""
    monkeypatch.setattr(bench, "__path__", [str(tmp_path)])
    files = {
        "bench_alpha.py": """
            import sys
            def main():
                print("alpha ran with", sys.argv[1:])
        """,
        "bench_broken.py": """
            def main():
                raise RuntimeError("broken bench")
        """,
        "bench_zeta.py": """
            import argparse
            def main():
                args = argparse.ArgumentParser().parse_args()
                print("zeta ran")
        """,
        "helper.py": "X = 1\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    yield tmp_path
    import sys
    for short in ("alpha", "broken", "zeta"):
        sys.modules.pop(f"bitflight.sim.bench.bench_{short}", None)


def test_available_lists_only_bench_modules(bench_dir):
    assert bench.available() == ["alpha", "broken", "zeta"]


def test_one_benchmark_by_either_name_gets_the_forwarded_args(bench_dir, capsys):
    assert main(["bench_alpha", "--", "--repeat", "3"]) == 0
    assert "alpha ran with ['--repeat', '3']" in capsys.readouterr().out


def test_a_failing_benchmark_does_not_stop_the_others(bench_dir, capsys):
    assert main([]) == 1
    captured = capsys.readouterr()
    assert "alpha ran with []" in captured.out and "zeta ran" in captured.out
    assert "RuntimeError: broken bench" in captured.err
    assert "failed: bitflight.sim.bench.bench_broken" in captured.err


def test_unknown_benchmark_is_a_one_line_error(bench_dir, capsys):
    assert main(["nope"]) == 2
    assert capsys.readouterr().err == \
        "bitflight.sim.bench: error: unknown benchmark 'nope' (known: alpha, broken, zeta)\n"
