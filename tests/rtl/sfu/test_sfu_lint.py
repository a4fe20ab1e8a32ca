"""The SFU registry targets export to Verilog that Verilator lint accepts (-Wall + waivers)."""
from __future__ import annotations

import pytest

from bitflight.base import config
from bitflight.fpga import export
from bitflight.rtl import registry

pytestmark = pytest.mark.verilator


@pytest.mark.parametrize("target", ["sfu-exp", "sfu"])
def test_target_is_registered_and_lint_clean(target, tmp_path):
    t = registry.get(target)
    path = export.write_verilog(target, config.load("tiny"), tmp_path)
    assert f"module {t.top}" in path.read_text()
    export.lint(path, t.top)
