"""Verilog of the CSD targets: Verilator -Wall finds nothing but Amaranth's unused alias wires.

``bitflight verilog`` lints with fpga/export.py's waivers, which do not yet cover the alias wires
Amaranth emits for submodule ports and inlined named signals (the same holds for every
hierarchical target, bitmod-pe included); that is reported to the infra owner. This test holds
every other Verilator rule (truncation, multiple drivers, latches, ...) to zero findings.
"""
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from bitflight.fpga import export
from bitflight.fpga.tools import tool_env, verilator_exe

DIAG = re.compile(r"^%(Warning|Error)(-[A-Z0-9_]+)?: .*$", re.M)
UNUSED = re.compile(r"^%Warning-UNUSEDSIGNAL: .*Signal is not used: '[^']*'$")


@pytest.mark.parametrize("target,cfg", [("csd-chain", "tiny"), ("csd-mpu", "tiny"),
                                        ("csd-chain", "u280")])
def test_verilog_has_no_findings_but_unused_aliases(target, cfg, tmp_path):
    path = export.write_verilog(target, cfg, tmp_path)
    top = target.replace("-", "_")
    assert f"module {top}(" in path.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        vlt = Path(tmp) / "waivers.vlt"
        vlt.write_text(export.waiver_config())
        proc = subprocess.run([str(verilator_exe()), "--lint-only", "-Wall", "--top-module", top,
                               str(vlt), str(path)], capture_output=True, text=True,
                              env=tool_env(), cwd=tmp)
    findings = [m.group(0) for m in DIAG.finditer(proc.stderr)
                if not m.group(0).startswith("%Error: Exiting due to")]
    others = [f for f in findings if not UNUSED.match(f)]
    assert not others, others[:5]
