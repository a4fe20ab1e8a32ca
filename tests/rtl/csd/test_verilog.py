"""Verilog of the CSD targets: exported and lint-clean under fpga/export.py's Verilator -Wall rules."""
import pytest

from bitflight.fpga import export


@pytest.mark.parametrize("target,cfg", [("csd-chain", "tiny"), ("csd-vpu", "tiny"),
                                        ("csd-mpu", "tiny"), ("csd-chain", "u280")])
def test_verilog_is_lint_clean(target, cfg, tmp_path):
    path = export.write_verilog(target, cfg, tmp_path)
    top = target.replace("-", "_")
    assert f"module {top}(" in path.read_text()
    export.lint(path, top)   # raises LintError quoting the first finding
