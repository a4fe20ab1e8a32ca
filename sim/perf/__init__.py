"""Performance model: workloads from model shapes, analytical engine timing, roofline.

See docs/perf.md for the conventions (OPs per MAC, byte units, overlap, fill/drain).
"""
