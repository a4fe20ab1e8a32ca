"""What the BitMoD engine's weight path gives a design point, bank count by bank count.

Usage: .venv/bin/python -m bitflight.sim.top.weight_path [--config C] [--banks 1,8,32,128]
       [--shapes 1536x576,576x1536]

For each ``bitmod.sram_banks`` (WGT banks of one line: rtl/top/buffers.py) it prints the WGT
rows the engine's beat reader holds, the starting points of a 3-bit beat inside a row (its slice
multiplexer's inputs) and the metadata fields per item (rtl/top/bitmod/timing.py) and sim.perf's
RTL-mode cycles (``perf_timing.bitmod_cycles``) of a batch-1 MV of 4-bit BitMoD weights per
``n x k`` shape, next to the cycles of its beats alone (``tiles x G / lanes x 2 slots`` per
group). Default: the U280 design point (docs/rtl/top.md, "BitMoD engine").
"""
from __future__ import annotations

import argparse


def mv_cycles(cfg, n: int, k: int) -> int:
    """sim.perf's RTL-mode cycles of an MV (one token) of ``n x k`` 4-bit BitMoD weights."""
    from ...compiler import isa
    from .perf_timing import bitmod_cycles
    fields = {f.name: 0 for f in isa.TYPES["MV"].fields}
    fields.update(m=1, n=n, k=k, b_dt=int(isa.DType.BM4))
    return bitmod_cycles(isa.Instr("MV", fields), cfg)


def main(argv: list[str] | None = None) -> None:
    from ...base import config
    from ...rtl.bitmod.params import EngineParams
    from ...rtl.top.bitmod import timing
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/designs/u280-bitmod.yaml")
    ap.add_argument("--banks", default="1,8,32,128")
    ap.add_argument("--shapes", default="1536x576,576x1536", help="n x k of each MV")
    args = ap.parse_args(argv)
    base = config.load(args.config)
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    ep = EngineParams.from_config(base, "decode")
    beats = {(n, k): -(-n // ep.rows) * -(-k // ep.lanes) * 2 for n, k in shapes}
    print(f"# {base.name}: decode array {ep.rows} x {ep.cols}, {ep.lanes} lanes; MV cycles of "
          "n x k 4-bit weights (sim.perf, RTL mode), beats alone in brackets")
    print(f"{'sram_banks':>10s} {'window rows':>11s} {'3-bit points':>12s} {'meta fields':>11s} "
          + " ".join(f"{f'{n}x{k} ({beats[n, k]})':>16s}" for n, k in shapes))
    for banks in (int(b) for b in args.banks.split(",")):
        cfg = base.model_copy(update={"bitmod": base.bitmod.model_copy(
            update={"sram_banks": banks})})
        cycles = " ".join(f"{mv_cycles(cfg, n, k):>16,d}" for n, k in shapes)
        _, grain = timing.beat_slices(ep, banks)[3]
        print(f"{banks:>10d} {timing.window_rows(ep, banks):>11d} "
              f"{banks * timing.FIELD_BITS // grain:>12d} "
              f"{timing.meta_pieces(ep, banks):>11d} {cycles}")


if __name__ == "__main__":
    main()
