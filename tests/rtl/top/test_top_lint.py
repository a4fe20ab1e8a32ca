"""The accelerator target exports lint-clean Verilog (verilator --lint-only -Wall, project
waivers) whose ports are the ones the bench and a board wrapper connect by name."""
import re

import pytest

from bitflight.base import config
from bitflight.base.errors import ConfigError
from bitflight.fpga.export import lint, write_verilog
from bitflight.rtl import registry

pytestmark = [pytest.mark.verilator]


@pytest.mark.parametrize("target", ["accelerator", "accelerator-shell"])
def test_accelerator_verilog_is_lint_clean(target, tmp_path):
    """The whole top, and the shell (no compute engines) that times the top's own paths."""
    path = write_verilog(target, config.load("tiny"), tmp_path)
    top = registry.get(target).top
    lint(path, top)
    header = re.search(rf"^module {top}\((.*?)\);", path.read_text(), re.M | re.S).group(1)
    ports = {p.strip() for p in header.split(",")}
    for prefix in ("ctrl__", "imem__", *(f"hbm{c}__" for c in range(4))):
        assert any(p.startswith(prefix) for p in ports), prefix
    assert {"irq", "clk", "rst", "hbm3__awaddr", "hbm0__rdata", "imem__araddr"} <= ports
    assert not any(p.startswith("hbm4__") for p in ports)
    assert ("sfu" in path.read_text()) == (target == "accelerator")     # engines or none


@pytest.mark.parametrize("target,acts", [("bitmod-engine-mm", 2), ("bitmod-engine-mv", 1)])
def test_bitmod_engine_alone_keeps_its_buffer_clients(target, acts, tmp_path):
    """The BITMOD engine as its own target: lint clean, and its buffer clients are ports
    (tiny: the metadata reader and one code reader, each taking whole WGT rows of two lines;
    an activation reader per array column; one writer), so synthesizing it keeps the logic
    they drive."""
    path = write_verilog(target, config.load("tiny"), tmp_path)
    top = registry.get(target).top
    lint(path, top)
    text = path.read_text()
    header = re.search(rf"^module {top}\((.*?)\);", text, re.M | re.S).group(1)
    ports = {p.strip() for p in header.split(",")}
    assert {f"rd__{i}__rdata" for i in range(acts)} | {"wide__0__rdata", "wide__1__rdata",
                                                        "wr__0__data"} <= ports
    assert f"rd__{acts}__rdata" not in ports and "wide__2__rdata" not in ports
    assert re.search(r"input \[255:0\] wide__1__rdata", text)


def test_bitmod_engine_needs_a_bitmod_config():
    with pytest.raises(ConfigError, match="config 'u280': no 'bitmod' section"):
        registry.get("bitmod-engine-mv").build(config.load("u280"))
