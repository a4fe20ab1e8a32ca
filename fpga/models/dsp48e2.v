// Simulation model of the DSP48E2 subsets that rtl/csd/dsp48e2.py instantiates (UltraScale+
// DSP48E2, UG579). Two configurations, told apart by USE_MULT:
// - "MULTIPLY", the chain's MAC: A2/B2 registers (AREG = BREG = 1), the 27 x 18 signed
//   multiplier into the M register (MREG = 1), the post-adder P <= Z + M with Z = PCIN or 0 from
//   a constant OPMODE (0x015 or 0x005);
// - "NONE", the row accumulator: no input or M register (AREG = BREG = MREG = 0, CREG = 0),
//   P <= P + A:B (OPMODE 0x023) or P <= P + C (0x02C), the OPMODE chosen per cycle.
// Both with ALUMODE 0000 into the P register (PREG = 1); every register with its clock enable
// and a synchronous reset that wins over it. Any other attribute value, or an OPMODE/ALUMODE/
// INMODE outside the configuration's subset, stops the simulation: this is not a full model.
// Written for bitflight from the user guide; checked against Yosys' DSP48E1 model in both
// configurations by tests/sim/test_dsp48e2_model.py.
module DSP48E2 #(
    parameter integer AREG = 1, parameter integer BREG = 1, parameter integer ACASCREG = 1,
    parameter integer BCASCREG = 1, parameter integer MREG = 1, parameter integer PREG = 1,
    parameter integer CREG = 1, parameter integer DREG = 1, parameter integer ADREG = 1,
    parameter integer INMODEREG = 1, parameter integer OPMODEREG = 1,
    parameter integer ALUMODEREG = 1, parameter integer CARRYINREG = 1,
    parameter integer CARRYINSELREG = 1,
    parameter AMULTSEL = "A", parameter BMULTSEL = "B", parameter PREADDINSEL = "A",
    parameter USE_MULT = "MULTIPLY", parameter USE_SIMD = "ONE48",
    parameter A_INPUT = "DIRECT", parameter B_INPUT = "DIRECT"
) (
    input CLK,
    input signed [29:0] A, input signed [17:0] B, input [47:0] C, input [26:0] D,
    input [47:0] PCIN, input [8:0] OPMODE, input [3:0] ALUMODE, input [4:0] INMODE,
    input [2:0] CARRYINSEL, input CARRYIN,
    input CEA1, input CEA2, input CEB1, input CEB2, input CEM, input CEP, input CEC, input CED,
    input CEAD, input CECTRL, input CEINMODE, input CEALUMODE, input CECARRYIN,
    input RSTA, input RSTB, input RSTM, input RSTP, input RSTC, input RSTD, input RSTCTRL,
    input RSTINMODE, input RSTALUMODE, input RSTALLCARRYIN,
    output [47:0] P, output [47:0] PCOUT
);
    localparam MAC = USE_MULT == "MULTIPLY";
    initial begin
        if (!(MAC ? (AREG == 1 && BREG == 1 && ACASCREG == 1 && BCASCREG == 1 && MREG == 1)
                  : (USE_MULT == "NONE" && AREG == 0 && BREG == 0 && ACASCREG == 0
                     && BCASCREG == 0 && MREG == 0))
            || PREG != 1 || CREG != 0 || INMODEREG != 0 || OPMODEREG != 0 || ALUMODEREG != 0
            || CARRYINREG != 0 || CARRYINSELREG != 0 || AMULTSEL != "A" || BMULTSEL != "B"
            || PREADDINSEL != "A" || USE_SIMD != "ONE48" || A_INPUT != "DIRECT"
            || B_INPUT != "DIRECT")
            $fatal(1, "DSP48E2 model: attributes outside the modelled subset");
    end

    reg signed [26:0] a2;
    reg signed [17:0] b2;
    reg signed [44:0] m;
    reg [47:0] p;
    wire [47:0] z = OPMODE[6:4] == 3'b001 ? PCIN : OPMODE[6:4] == 3'b010 ? p : 48'd0;
    wire [47:0] xy = MAC ? {{3{m[44]}}, m} : OPMODE[1:0] == 2'b11 ? {A, B} : C;
    wire op_ok = MAC ? (OPMODE == 9'h015 || OPMODE == 9'h005)
                     : (OPMODE == 9'h023 || OPMODE == 9'h02C);

    always @(posedge CLK) begin
        if (!op_ok || ALUMODE != 4'd0 || INMODE != 5'd0 || CARRYIN != 1'b0 || CARRYINSEL != 3'd0)
            $fatal(1, "DSP48E2 model: OPMODE/ALUMODE/INMODE/carry outside the modelled subset");
        if (RSTA) a2 <= 27'd0; else if (CEA2) a2 <= A[26:0];
        if (RSTB) b2 <= 18'd0; else if (CEB2) b2 <= B;
        if (RSTM) m <= 45'd0; else if (CEM) m <= a2 * b2;
        if (RSTP) p <= 48'd0; else if (CEP) p <= z + xy;
    end

    assign P = p;
    assign PCOUT = p;
endmodule
