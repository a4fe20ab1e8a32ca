# dsp_cascade_report FILE: one line per DSP48E1/DSP48E2 with its pipeline registers and whether
# its PCIN is driven by another DSP's PCOUT (the CSD chain should show every slice but the first
# of each chain cascaded), then the totals.
proc dsp_cascade_report {file} {
    set dsps [get_cells -hierarchical -filter {REF_NAME =~ DSP48E*}]
    set fh [open $file w]
    set cascaded 0
    foreach dsp $dsps {
        set from_pcout 0
        foreach pin [get_pins -quiet -of_objects $dsp -filter {REF_PIN_NAME =~ PCIN*}] {
            set net [get_nets -quiet -of_objects $pin]
            if {$net eq ""} { continue }
            set drivers [get_pins -quiet -of_objects $net -filter {DIRECTION == OUT && REF_PIN_NAME =~ PCOUT*}]
            if {[llength $drivers] > 0} { set from_pcout 1; break }
        }
        incr cascaded $from_pcout
        set regs {}
        foreach p {AREG BREG MREG PREG OPMODEREG} {
            lappend regs "$p=[get_property -quiet $p $dsp]"
        }
        puts $fh "[get_property REF_NAME $dsp] $dsp [join $regs { }] PCIN_from_PCOUT=$from_pcout"
    }
    puts $fh "total DSP slices: [llength $dsps], cascaded (PCIN from PCOUT): $cascaded"
    close $fh
    puts "bitflight: [llength $dsps] DSP slices, $cascaded take PCIN from a PCOUT ($file)"
}
