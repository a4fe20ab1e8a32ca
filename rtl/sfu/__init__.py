"""The special-function unit: every MISC op of docs/numerics.md (docs/rtl/sfu.md)."""
