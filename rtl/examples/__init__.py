"""Example components that exercise the hardware flow (export, lint, synth, cocotb, stepping)."""
