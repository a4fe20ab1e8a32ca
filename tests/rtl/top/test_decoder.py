"""The top's decoder is generated from compiler/isa.py: its field slices agree with the encoder,
and its legality check agrees with the Python decoder (Amaranth simulator, hypothesis)."""
from amaranth.sim import Simulator
from hypothesis import assume, given, settings, strategies as st

from bitflight.compiler import encoding, isa
from bitflight.rtl.top.decoder import FIELD_IDS, INSTR_BITS, DecodeCheck, layout, type_bits


@st.composite
def instructions(draw):
    itype = draw(st.sampled_from(list(isa.TYPES.values())))
    args = {}
    for f in itype.fields:
        values = [int(e) for e in f.enum] if f.enum else None
        args[f.name] = draw(st.sampled_from(values) if values else st.integers(0, f.max))
    others = [q for q in isa.Queue if q != itype.queue]
    wait = draw(st.lists(st.sampled_from(others), unique=True))
    release = draw(st.lists(st.sampled_from(others), unique=True))
    return isa.make(itype.name, wait=wait, release=release, **args)


def _left_aligned(words: list[int]) -> int:
    value = 0
    for w in words:
        value = value << 32 | w
    return value << 32 * (INSTR_BITS // 32 - len(words))


@settings(max_examples=200, deadline=None)
@given(instructions())
def test_layout_slices_match_the_encoder(instr):
    itype = instr.type
    value = _left_aligned(encoding.encode(instr)) >> (INSTR_BITS - type_bits(itype))
    lay = layout(itype)
    want = {**instr.args, "opcode": itype.opcode, "wait": instr.wait, "release": instr.release}
    for name, expected in want.items():
        f = lay[name]
        assert value >> f.offset & ((1 << f.width) - 1) == expected, name


def _check(words: list[int]):
    dut = DecodeCheck()
    out = {}

    async def bench(ctx):
        ctx.set(dut.instr, _left_aligned(words))
        out.update(ok=ctx.get(dut.ok), field=ctx.get(dut.field_id), value=ctx.get(dut.value),
                   word=ctx.get(dut.word))
    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return out


@settings(max_examples=100, deadline=None)
@given(instructions(), st.integers(0, 2**32 - 1), st.integers(0, 6), st.booleans())
def test_check_agrees_with_the_python_decoder(instr, noise, word, corrupt):
    """Corrupted words: legal for both decoders or rejected by both, naming the same field."""
    words = encoding.encode(instr)
    if corrupt:
        words[word % len(words)] ^= noise
    try:
        encoding.decode(words)
        python_field = None
    except encoding.ProgramFormatError as exc:
        assume("truncated" not in str(exc))     # the fetch unit's job (test_top_errors.py)
        python_field = exc.field
    got = _check(words)
    if python_field is None:
        assert got["ok"] == 1
        return
    assert got["ok"] == 0
    assert FIELD_IDS[got["field"]][1] == python_field


def _illegal_cases():
    """(type, words) with exactly one illegal field, for every kind of check and type."""
    for itype in isa.TYPES.values():
        total = type_bits(itype)
        base = _left_aligned(encoding.encode(isa.make(itype.name))) >> (INSTR_BITS - total)
        lay = layout(itype)
        bad = {"wait": 1 << itype.queue, "release": 1 << itype.queue, "opcode": 0b0111}
        for f in itype.fields:
            if f.enum is not None and len(f.enum) < 1 << f.width:
                bad[f.name] = max(int(e) for e in f.enum) + 1
        for name, value in bad.items():
            field = lay[name]
            word = base & ~(((1 << field.width) - 1) << field.offset) | value << field.offset
            yield itype.name, name, word, total
        spare = total - sum(s.field.width for s in itype.slots)
        if spare:
            yield itype.name, "reserved", base | 1, total


def test_check_names_each_illegal_field():
    for kind, name, word, total in _illegal_cases():
        words = [word >> (total - 32 * (k + 1)) & 0xFFFFFFFF for k in range(total // 32)]
        try:
            encoding.decode(words)
            raise AssertionError(f"{kind} {name}: the Python decoder accepted it")
        except encoding.ProgramFormatError as exc:
            assert exc.field == name, (kind, name, str(exc))
        got = _check(words)
        assert got["ok"] == 0 and FIELD_IDS[got["field"]][1] == name, (kind, name, got)
