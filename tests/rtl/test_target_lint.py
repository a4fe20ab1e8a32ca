"""Registry targets export to Verilog that Verilator lint accepts (-Wall + the documented
waivers): the components of each RTL package, one export and lint per target."""
from __future__ import annotations

import pytest

from bitflight.base import config
from bitflight.fpga import export
from bitflight.rtl import registry

pytestmark = pytest.mark.verilator

TARGETS = ["bitmod-pe", "bitmod-array",            # rtl/bitmod
           "fp32-units", "fp32-add", "fp32-div",   # rtl/fp
           "sfu-exp", "sfu", "sfu-mul", "sfu-div"]   # rtl/sfu


@pytest.mark.parametrize("target", TARGETS)
def test_target_is_registered_and_lint_clean(target, tmp_path):
    t = registry.get(target)
    path = export.write_verilog(target, config.load("tiny"), tmp_path)
    assert f"module {t.top}" in path.read_text()
    export.lint(path, t.top)
