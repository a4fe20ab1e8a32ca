"""Random attention products (MM/MV with skip_pad) for the top bench: operand blocks placed in
random buffers lines, values with the edge cases of docs/numerics.md, and the sim.isa reference
started from the same buffer contents."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bitflight.compiler import isa
from bitflight.compiler.isa import Buf, DType
from bitflight.sim.isa import scheduler
from bitflight.sim.isa.machine import Machine, SimError

from top_cases import CFG, run_on_buffers

LINE = isa.LINE_BYTES
MODES = ("f16_scores", "f16_values", "i8_scores", "i8_values")
EDGE16 = np.array([0.0, -0.0, 65504.0, -65504.0, np.inf, -np.inf, np.nan, 2.0 ** -24,
                   -(2.0 ** -24), 2.0 ** -14, 1e-5, 300.0, -300.0, 1.0, -1.0], np.float16)
EDGE32 = np.array([0.0, -0.0, np.inf, np.nan, 1e-40, 1e-30, 1e30, 3e38, -2.5, 1.0],
                  np.float32)


def fp16_block(rng, shape, edge=0.1) -> np.ndarray:
    scale = rng.choice([1.0, 30.0, 1e-3, 0.25])
    x = (rng.standard_normal(shape) * scale).astype(np.float16)
    pick = rng.random(shape) < edge
    x[pick] = rng.choice(EDGE16, size=int(pick.sum()))
    return x


def fp32_scales(rng, count, edge=0.1) -> np.ndarray:
    s = (np.exp(rng.normal(-4.0, 3.0, count))).astype(np.float32)
    pick = rng.random(count) < edge
    s[pick] = rng.choice(EDGE32, size=int(pick.sum()))
    return s


@dataclass
class Placer:
    """Line-aligned blocks in each buffer, after a random gap."""
    rng: np.random.Generator
    bufs: dict

    def __post_init__(self):
        self.next = {b: 0 for b in Buf}

    def put(self, buf: Buf, data: bytes) -> int:
        line = self.next[buf] + int(self.rng.integers(0, 3))
        lines = -(-len(data) // LINE)
        lo = line * LINE
        assert lo + len(data) <= len(self.bufs[buf]), f"test case does not fit {buf.name}"
        self.bufs[buf][lo:lo + len(data)] = data
        self.next[buf] = line + lines
        return line

    def room(self, buf: Buf, nbytes: int) -> int:
        line = self.next[buf] + int(self.rng.integers(0, 3))
        self.next[buf] = line + -(-nbytes // LINE)
        return line


def empty_buffers(rng) -> dict:
    """Random garbage in every buffer (what the engine must not read or must overwrite)."""
    b = CFG.buffers
    sizes = {Buf.ACT: b.act_kb, Buf.WGT: b.weight_kb, Buf.OUT: b.output_kb, Buf.META: b.meta_kb,
             Buf.BIAS: b.bias_kb}
    return {buf: bytearray(rng.integers(0, 256, kb * 1024, dtype=np.uint8).tobytes())
            for buf, kb in sizes.items()}


def product(rng, place: Placer, kind: str, mode: str, rows: int, tokens: int, d: int,
            edge: float = 0.1) -> isa.Instr:
    """One attention product with its operands placed: scores [rows, tokens] from queries
    [rows, d] and K [tokens, d]; values [rows, d] from probabilities [rows, tokens] and V
    [tokens, d]."""
    scores = mode.endswith("scores")
    n, k = (tokens, d) if scores else (d, tokens)
    fields = dict(engine=isa.Engine.DENSE, o_dt=DType.FP16, m=rows, n=n, k=k, skip_pad=1,
                  b_trans=0 if scores else 1, qk_dim=d if scores else 0)
    if mode.startswith("f16"):
        a = fp16_block(rng, (rows, k), edge)
        if not scores:
            a = np.abs(a) if rng.random() < 0.5 else a           # probabilities, mostly
        b = fp16_block(rng, (n, k) if scores else (k, n), edge)
        fields.update(a_dt=DType.FP16, b_dt=DType.FP16)
    else:
        b = rng.integers(-128, 128, (n, k) if scores else (k, n)).astype(np.int8)
        fields.update(b_dt=DType.INT8,
                      t_addr=place.put(Buf.META, fp32_scales(rng, tokens, edge).tobytes()))
        if scores:
            a = rng.integers(-128, 128, (rows, k)).astype(np.int8)
            fields.update(a_dt=DType.INT8,
                          s_addr=place.put(Buf.BIAS, fp32_scales(rng, rows, edge).tobytes()))
        else:
            a = np.abs(fp16_block(rng, (rows, k), edge))
            fields.update(a_dt=DType.FP16)
    fields.update(a_addr=place.put(Buf.ACT, a.tobytes()),
                  b_addr=place.put(Buf.WGT, b.tobytes()), b_lines=-(-b.nbytes // LINE),
                  o_addr=place.room(Buf.OUT, rows * n * 2))
    return isa.make(kind, **fields)


def reference(buffers: dict, programs, launches) -> tuple[Machine, list[str | None]]:
    """sim.isa from these buffer contents, one program per launch (errors per step; a faulted
    step leaves the machine as it stopped, the next runs on)."""
    machine = Machine(CFG, {0: bytes(4096)}, {0: 4096})
    for buf, data in buffers.items():
        machine.bufs[buf][:] = data
    errors = []
    for program, launch in zip(programs, launches):
        try:
            scheduler.run(machine, program, launch.get("pos0", 0), launch.get("ntok", 0))
            errors.append(None)
        except SimError as exc:
            errors.append(str(exc))
    return machine, errors


def faults_then_recovery(top, buffers: dict, same_as_isa, extra: list, ok: list,
                         launch: dict) -> list:
    """Run each instruction of ``same_as_isa`` ([(name, instr)]) alone, then the ``extra``
    programs, then the program ``ok``, one step each on the same top and buffers. Asserts that
    every ``same_as_isa`` step stops with sim.isa's own message and that ``ok`` then runs as
    sim.isa does (the engine recovers); returns the errors of the ``extra`` steps."""
    end = isa.make("SYS", op=isa.SysOp.END)
    programs = [[instr, end] for _, instr in same_as_isa] + extra + [ok]
    launches = [launch] * len(programs)
    result = run_on_buffers(top, buffers, programs, launches, stop=False)
    got = [s.error for s in result.steps]
    for (name, _), err, prog in zip(same_as_isa, got, programs):
        _, (want,) = reference(buffers, [prog], [launch])
        assert want is not None, f"{name}: sim.isa accepted the instruction"
        assert err == want, f"{name}: rtl '{err}' != sim.isa '{want}'"
    assert got[-1] is None, got[-1]
    machine, _ = reference(buffers, [ok], [launch])
    assert bytes(machine.bufs[Buf.OUT]) == result.buffers["OUT"]
    return got[len(same_as_isa):-1]
