"""The BITMOD engine on the top (MM: prefill array, MV: decode array) against sim.isa, every
buffer bit for bit: every scheme/bits the array decodes in both scale modes, partial last
groups, zero / max-magnitude / mixed edge activations, several shapes; and its faults."""
import numpy as np
import pytest

from bitflight.compiler import isa
from bitflight.sim.top import runner

from bitflight.rtl.top.bitmod import timing
from bitflight.rtl.top.faults import TileFault, tile_fault_text as fault_text
from bitmod_programs import job, product, program, reference
from top_cases import CFG, assert_same_state

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-verilator")]

SCHEMES = [("bitmod", 3), ("bitmod", 4), ("fp", 3), ("fp", 4), ("int_sym", 4), ("int_sym", 6),
           ("int_sym", 8)]


def _run(programs, buffers):
    result = runner.run(runner.build(CFG), job(programs, buffers), quiet=True)
    machine, error = reference(programs, buffers)
    if error is None:       # the products wrote results (the comparison is not of zeros)
        assert any(machine.bufs[isa.Buf.OUT]) and all(s.active["MM"] and s.active["MV"]
                                                      for s in result.steps)
    return result, machine, error


def test_every_datatype_both_modes_partial_groups():
    rng = np.random.default_rng(1)
    prods = []
    for i, (scheme, bits) in enumerate(SCHEMES):
        for mode in ("fp16", "int"):
            kind = "MM" if (i + len(prods)) % 2 else "MV"
            g = int(rng.choice([8, 16, 32]))
            k = int(g * rng.integers(1, 3) + rng.choice([0, 4, g // 2]))     # partial last group
            m = int(rng.integers(1, 4)) if kind == "MM" else 1
            n = int(rng.integers(1, 7))
            prods.append(product(rng, kind, scheme, bits, mode, m, n, k, g))
    instrs, buffers = program(prods, rng)
    result, machine, error = _run([instrs], buffers)
    assert error is None and result.error is None, (error, result.error)
    assert_same_state(result, machine)


def test_edge_activations_and_shapes():
    """Zero (signed) and max-magnitude activations, edge values mixed in, max-magnitude and
    all-zero weight groups, the policies' group 128 with a zero-padded half group, MM shapes
    that leave rows and columns of the last array tile empty (the rows read the last block's
    padding), an MV with several rows; one tile laid out in blocks of twice the compiler's
    rows."""
    rng = np.random.default_rng(2)
    prods = [product(rng, "MM", "bitmod", 4, "fp16", 3, 5, 40, 16, a_edge="zero"),
             product(rng, "MV", "bitmod", 4, "fp16", 1, 6, 40, 16, a_edge="max", w_edge="max"),
             product(rng, "MM", "bitmod", 3, "int", 2, 3, 36, 8, a_edge="max", w_edge="max"),
             product(rng, "MM", "int_sym", 8, "fp16", 5, 3, 24, 8, a_edge="mixed",
                     w_edge="zero_groups"),
             product(rng, "MV", "bitmod", 4, "fp16", 2, 9, 192, 128, a_edge="mixed"),
             product(rng, "MM", "bitmod", 4, "fp16", 3, 4, 192, 128),
             product(rng, "MM", "bitmod", 3, "int", 2, 9, 48, 16),            # blocks 4, 4, 1
             product(rng, "MV", "bitmod", 4, "int", 1, 11, 64, 32, layout=(8, 4, True, 16 * CFG.bitmod.sram_banks))]
    instrs, buffers = program(prods, rng)
    result, machine, error = _run([instrs], buffers)
    assert error is None and result.error is None, (error, result.error)
    assert_same_state(result, machine)


def _with(instr, **changes):
    return isa.Instr(instr.kind, {**instr.args, **changes})


def test_faults_match_isa_and_tile_faults():
    """sim.isa's range / type faults with its words; tiles the array cannot run (int3 codes,
    E8M0 scales, a header that is not a tile, a tile of another shape, the row-by-row layout,
    chunks other than the lanes, blocks not a multiple of the array's rows, a last block not
    stored whole, a tile one line off a WGT row, sections not at rows) fault TILE with the
    engine's words; a good product afterwards still runs."""
    rng = np.random.default_rng(3)
    good, int3, mx, v1, chunk8, block6, short, off, sections = [
        product(rng, "MM", "bitmod", 4, "fp16", 2, 3, 40, 16),
        product(rng, "MV", "int_sym", 3, "fp16", 1, 2, 16, 8),
        product(rng, "MV", "mx", 4, "fp16", 1, 2, 32, 32),
        product(rng, "MM", "bitmod", 4, "fp16", 2, 3, 40, 16, layout=(1, None)),
        product(rng, "MV", "bitmod", 3, "int", 1, 5, 32, 16, layout=(4, 8)),
        product(rng, "MV", "bitmod", 4, "fp16", 1, 7, 32, 16, layout=(6, 4)),
        product(rng, "MV", "bitmod", 4, "fp16", 1, 7, 32, 16, layout=(4, 4, False)),
        product(rng, "MM", "bitmod", 3, "fp16", 2, 3, 40, 16),
        product(rng, "MV", "bitmod", 3, "fp16", 1, 7, 16, 16, layout=(4, 4, True))]
    off.misplace = 1
    instrs, buffers = program([good, int3, mx, v1, chunk8, block6, short, off, sections], rng)
    mm, i3, x4 = instrs[:3]
    decode_rows, banks = CFG.bitmod.decode_array.rows, CFG.bitmod.sram_banks
    codes_line = instrs[7]["b_addr"] + 4                    # 64 header bytes
    assert codes_line % banks and instrs[6]["b_addr"] % banks == 0
    row_flags = 1 | (banks * 16 // 8).bit_length() - 1 << 4  # full, sections at 2 << a bytes
    layouts = [(instrs[3], TileFault.LAYOUT, 1 << 32, CFG.bitmod.prefill_array.rows << 16 | 4),
               (instrs[4], TileFault.LAYOUT, 2 << 32 | 4 << 16 | 8, decode_rows << 16 | 4),
               (instrs[5], TileFault.LAYOUT, 2 << 32 | 6 << 16 | 4, decode_rows << 16 | 4),
               (instrs[6], TileFault.ALIGN, instrs[6]["b_addr"] + 4, banks),
               (instrs[7], TileFault.ALIGN, row_flags << 32 | codes_line, banks),
               # 48 bytes of 3-bit codes put the ids at byte 112: not a row (32 bytes)
               (instrs[8], TileFault.ALIGN, 1 << 32 | instrs[8]["b_addr"] + 4, banks)]
    end = instrs[-1]
    lines = {b: len(buffers[b.name]) // 16 for b in isa.Buf}
    same_as_isa = [_with(mm, a_dt=isa.DType.INT4), _with(mm, a_addr=lines[isa.Buf.ACT] - 2),
                   _with(mm, b_addr=lines[isa.Buf.WGT] - 3), _with(mm, o_dt=isa.DType.FP32),
                   _with(mm, acc=1), _with(mm, o_addr=lines[isa.Buf.OUT])]
    tile = [(i3, TileFault.FORMAT, 1, 3), (x4, TileFault.SCALE, 2, 0),
            (_with(mm, b_addr=mm["b_addr"] + 1), TileFault.MAGIC, None, None),
            (_with(mm, n=2), TileFault.SHAPE, 3 << 32 | 40, 2 << 32 | 40), *layouts]
    programs = [[i, end] for i in same_as_isa] + [[i, end] for i, *_ in tile] + [[mm, end]]
    top = runner.build(CFG)
    result = runner.run(top, job(programs, buffers, stop_on_error=False), quiet=True)
    got = [s.error for s in result.steps]
    for prog, err in zip(programs[:len(same_as_isa)], got):
        _, want = reference([prog], buffers)
        assert want is not None and err == want, (prog[0], err, want)
    for (instr, reason, a0, a1), err in zip(tile, got[len(same_as_isa):]):
        assert err is not None and err.startswith(f"#0 {instr.kind}: "), err
        if a0 is not None:
            assert err == f"#0 {instr.kind}: {fault_text(reason, a0, a1)}"
        else:
            assert "is not a packed weight tile" in err
    assert got[-1] is None
    machine, error = reference([[mm, end]], buffers)
    assert error is None
    assert_same_state(result, machine)


def test_cycles_within_timing_bounds():
    """Each product alone in its step: the unit's busy cycles lie within timing.py's bounds, and
    sim.perf's RTL model within 1 % of them, for both scale modes and groups short enough that
    the metadata, not the beats, set the pace (int scales: a tile's first group also reads the
    row scales)."""
    rng = np.random.default_rng(4)
    prods = [product(rng, "MM", "bitmod", 4, "fp16", 4, 16, 64, 32),
             product(rng, "MV", "bitmod", 4, "fp16", 1, 32, 128, 128),
             product(rng, "MM", "int_sym", 8, "int", 3, 5, 72, 16),
             product(rng, "MV", "int_sym", 6, "fp16", 1, 7, 24, 8),
             product(rng, "MV", "int_sym", 6, "int", 1, 20, 128, 8),
             product(rng, "MV", "bitmod", 3, "int", 1, 20, 128, 16)]
    instrs, buffers = program(prods, rng)
    programs = [[i, instrs[-1]] for i in instrs[:-1]]
    result = runner.run(runner.build(CFG), job(programs, buffers), quiet=True)
    assert result.error is None, result.error
    params = runner.build(CFG)[1]
    for p, step, instr in zip(prods, result.steps, instrs):
        ep = params.bitmod[0 if p.kind == "MM" else 1]
        shape = timing.Product(p.m, p.n, p.k, p.group, p.slots)
        cycles = step.active[p.kind]
        low, high = (f(ep, shape, params.wgt_lines) for f in (timing.lower, timing.upper))
        model = p.model_cycles(instr, CFG)
        print(p.kind, shape, "lower", low, "rtl", cycles, "upper", high, "model", model)
        assert low <= cycles <= high
        assert abs(model - cycles) <= 0.01 * cycles
