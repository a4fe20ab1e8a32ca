"""The ISA simulator: runs compiled bucket programs on a memory image, bit-exact with the golden
accelerator numerics by construction (every number comes from golden/), counting instructions,
bytes per HBM channel and engine operations."""
