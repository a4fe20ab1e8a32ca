"""Random BITMOD MM/MV programs for the top: packed weight tiles of every scheme the engine runs
(golden.quant), fp16 activations with edge values, outputs at random lines; the buffers are
preloaded (Job.buffers), so the programs hold only the products and SYS END."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from bitflight.compiler import isa
from bitflight.compiler.passes.packing import array_layout, wgt_row_lines
from bitflight.golden.bitserial import term_table
from bitflight.golden.quant.api import quantize
from bitflight.sim.isa import scheduler
from bitflight.sim.isa.machine import Machine, SimError
from bitflight.sim.top import perf_timing
from bitflight.sim.top.job import Job, Step

from top_cases import CFG, assert_same_state, words

LINE = isa.LINE_BYTES
EDGE_ACTS = np.array([0x0000, 0x8000, 0x0001, 0x83FF, 0x0400, 0x3C00, 0x7BFF, 0xFBFF],
                     np.uint16)


@dataclass
class Product:
    """One MM/MV: ``kind``, A [m, k] (fp16 bits), the packed tile of a [n, k] weight."""
    kind: str
    m: int
    n: int
    k: int
    acts: np.ndarray
    tile: bytes
    extra: dict
    group: int = 0
    slots: int = 0              # term slots per weight of the tile's datatypes
    misplace: int = 0           # lines past the line the compiler would give the tile
    b_dt: int = isa.DType.BM4   # the tile's ISA type (the engine reads the header instead)
    scale_mode: str = "fp16"

    def instr_for_model(self, instr: isa.Instr) -> isa.Instr:
        """``instr`` with the tile's type, which sim.perf's model takes its code bits from."""
        return isa.Instr(instr.kind, {**instr.args, "b_dt": self.b_dt})

    def model_cycles(self, instr: isa.Instr, cfg) -> int:
        """sim.perf's RTL-mode cycles of ``instr``, told the tile's group size and scale mode
        (which the compiler takes from the policy, as ``RtlTiming.for_policy`` does)."""
        return perf_timing.bitmod_cycles(self.instr_for_model(instr), cfg, self.group,
                                         self.scale_mode)


def weight_tile(rng, scheme: str, bits: int, mode: str, n: int, k: int, g: int,
                edge: str | None = None):
    w = rng.standard_normal((n, k)) * 2.0 ** rng.uniform(-6, 6)
    if edge == "max":                         # a large outlier per group: max-magnitude codes
        w[:, ::max(g // 2, 1)] *= 64
    if edge == "zero_groups":
        w[:, :g] = 0
    qw = quantize(torch.from_numpy(w).float(), scheme, bits, group_size=g, scale_mode=mode,
                  pad=True)
    return qw


def activations(rng, m: int, k: int, edge: str | None = None) -> np.ndarray:
    mag = 2.0 ** rng.uniform(-6, 6, (m, k))
    bits = (mag * rng.choice([-1.0, 1.0], (m, k))).astype(np.float16).view(np.uint16)
    if edge == "zero":
        bits[...] = rng.choice(np.array([0, 0x8000], np.uint16), (m, k))
    elif edge == "max":
        bits[...] = rng.choice(np.array([0x7BFF, 0xFBFF], np.uint16), (m, k))
    elif edge == "mixed":
        pick = rng.random((m, k)) < 0.5
        bits[pick] = rng.choice(EDGE_ACTS, int(pick.sum()))
    return bits


def product(rng, kind, scheme, bits, mode, m, n, k, g, w_edge=None, a_edge=None,
            layout=None, **extra):
    """``layout`` (block, chunk): the tile's packed layout, the compiler's for CFG by default."""
    qw = weight_tile(rng, scheme, bits, mode, n, k, g, w_edge)
    slots = max(term_table(name).slots for name in qw.formats)
    tile = qw.pack(*(layout or array_layout(CFG)))
    # BM4 for tiles the ISA has no type for (the fault cases: int3, mx)
    b_dt = next((dt for dt, info in isa.DTYPES.items() if info.scheme == (scheme, bits)),
                isa.DType.BM4)
    return Product(kind, m, n, k, activations(rng, m, k, a_edge), tile, extra, g, slots,
                   b_dt=b_dt, scale_mode=mode)


def _lines(nbytes: int) -> int:
    return -(-nbytes // LINE)


def program(products: list[Product], rng) -> tuple[list[isa.Instr], dict[str, bytes]]:
    """The instructions and the initial buffers: A blocks and tiles packed from line 0 (a random
    gap of lines between them; a tile at a WGT row start, as the compiler places it), results at
    disjoint random lines of OUT."""
    banks = wgt_row_lines(CFG)
    bufs = {b.name: bytearray(n * LINE) for b, n in zip(isa.Buf, _buffer_lines())}
    a_line = w_line = o_line = 0
    out = []
    for p in products:
        a_bytes, o_bytes = p.acts.astype("<u2").tobytes(), p.m * p.n * 2
        a_line += int(rng.integers(0, 3))
        w_line += int(rng.integers(0, 3))
        w_line += -w_line % banks + p.misplace
        o_line += int(rng.integers(0, 3))
        bufs["ACT"][a_line * LINE:a_line * LINE + len(a_bytes)] = a_bytes
        bufs["WGT"][w_line * LINE:w_line * LINE + len(p.tile)] = p.tile
        args = {f.name: 0 for f in isa.TYPES[p.kind].fields}
        args.update(engine=isa.Engine.BITMOD, a_dt=isa.DType.FP16, b_dt=isa.DType.BM4,
                    o_dt=isa.DType.FP16, m=p.m, n=p.n, k=p.k, a_addr=a_line, b_addr=w_line,
                    b_lines=_lines(len(p.tile)), o_addr=o_line)
        args.update(p.extra)
        out.append(isa.Instr(p.kind, args))
        a_line += _lines(len(a_bytes))
        w_line += _lines(len(p.tile))
        o_line += _lines(o_bytes)
    assert all(x * LINE <= len(bufs[b]) for x, b in ((a_line, "ACT"), (w_line, "WGT"),
                                                      (o_line, "OUT"))), "products too large"
    sys_end = isa.Instr("SYS", {"op": isa.SysOp.END, "imm": 0})
    return out + [sys_end], {k: bytes(v) for k, v in bufs.items()}


def _buffer_lines():
    from bitflight.rtl.top.params import TopParams
    return TopParams.from_config(CFG).buffer_lines


HBM = {0: bytes(4096)}


def job(programs: list[list[isa.Instr]], buffers: dict[str, bytes], **kw) -> Job:
    return Job(channels=HBM, limits={c: len(d) for c, d in HBM.items()},
               steps=[Step(words=words(p)) for p in programs], buffers=buffers, **kw)


def reference(programs, buffers) -> tuple[Machine, str | None]:
    """sim.isa from the same buffers."""
    machine = Machine(CFG, HBM, {c: len(d) for c, d in HBM.items()})
    for b in isa.Buf:
        machine.bufs[b][:] = buffers[b.name]
    try:
        for p in programs:
            scheduler.run(machine, p, 0, 0)
    except SimError as exc:
        return machine, str(exc)
    return machine, None


def check_against_isa(top, products: list[Product], rng) -> None:
    """Run ``products`` as one step on ``top`` (a runner.build result) and require sim.isa's
    final buffers, with results written."""
    from bitflight.sim.top import runner
    instrs, buffers = program(products, rng)
    result = runner.run(top, job([instrs], buffers), quiet=True)
    machine, error = reference([instrs], buffers)
    assert error is None and result.error is None, (error, result.error)
    assert any(machine.bufs[isa.Buf.OUT])
    assert_same_state(result, machine)
