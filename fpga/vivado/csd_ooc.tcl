# Out-of-context Vivado flow for a bitflight component on the Alveo U280 (xcu280, DSP48E2).
# NOT RUN in the bitflight environment (no Vivado there); the Yosys numbers in
# docs/results/resources.md are estimates, this script gives the real ones.
#
# usage:
#   bitflight verilog csd-chain --config u280 -o build
#   vivado -mode batch -source fpga/vivado/csd_ooc.tcl \
#          -tclargs build/csd-chain.v csd_chain [part] [clock_mhz] [out_dir]
# defaults: part xcu280-fsvh2892-2L-e, 225 MHz (FlightLLM's U280 clock), out_dir vivado_<top>.
# Reports: utilization (synth and routed), timing summary, and dsp_cascade.rpt listing, per DSP
# slice, whether PCIN comes from another slice's PCOUT and which registers are used.

proc arg {i default} {
    global argv
    if {[llength $argv] > $i} { return [lindex $argv $i] }
    return $default
}

set verilog [arg 0 ""]
set top     [arg 1 ""]
if {$verilog eq "" || $top eq ""} {
    puts "usage: vivado -mode batch -source csd_ooc.tcl -tclargs VERILOG TOP \[PART\] \[MHZ\] \[OUT\]"
    exit 2
}
set part [arg 2 "xcu280-fsvh2892-2L-e"]
set mhz  [arg 3 225.0]
set out  [arg 4 "vivado_$top"]
file mkdir $out

set period [format %.3f [expr {1000.0 / $mhz}]]
set xdc [file join $out clock.xdc]
set fh [open $xdc w]
puts $fh "create_clock -name clk -period $period \[get_ports clk\]"
close $fh

read_verilog $verilog
read_xdc -mode out_of_context $xdc
# rebuilt keeps the hierarchy readable in reports while letting DSP cascades cross modules.
synth_design -top $top -part $part -mode out_of_context -flatten_hierarchy rebuilt
report_utilization -file [file join $out utilization_synth.rpt]

source [file join [file dirname [info script]] dsp_report.tcl]
dsp_cascade_report [file join $out dsp_cascade.rpt]

opt_design
place_design
phys_opt_design
route_design
report_utilization -file [file join $out utilization_routed.rpt]
report_timing_summary -max_paths 10 -file [file join $out timing.rpt]
write_checkpoint -force [file join $out ${top}_routed.dcp]
puts "bitflight: reports in $out (clock $mhz MHz, part $part)"
