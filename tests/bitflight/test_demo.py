"""`make demo` is a script of bitflight commands: each must stay a valid command line as the CLI
evolves (running them is the demo's job, not the test suite's)."""
import shlex

import pytest

from bitflight.cli import build_parser
from bitflight.demo import STEPS


@pytest.mark.parametrize("command", [c for _, c in STEPS], ids=lambda c: c.split()[0])
def test_demo_step_parses(command):
    args = build_parser().parse_args(shlex.split(command))
    assert callable(args.func)


def test_demo_covers_the_whole_path():
    verbs = [c.split()[0] for _, c in STEPS]
    for verb in ("quantize", "generate", "run", "perf", "verilog"):
        assert verb in verbs
    run = next(c for _, c in STEPS if c.startswith("run "))
    assert "--check" in run and "smollm2" in run


def test_demo_runs_the_rtl_top_with_the_check():
    rtl = [c for _, c in STEPS if c.startswith("run ") and "--engine rtl" in c]
    assert rtl and all("--check" in c for c in rtl)
    assert any(c.startswith("verilog accelerator") for _, c in STEPS)
