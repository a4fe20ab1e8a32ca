"""The instruction fetch (rtl/top/fetch.py) against its definition: AR bursts of
``min(16, words to the 4 KiB page's end, words left)`` that tile the program exactly, from any
word address, under any AR/R timing and queue back-pressure; every instruction dispatched to its
queue in program order with its index."""
import random

from hypothesis import given, settings, strategies as st

from bitflight.compiler import asm, encoding, isa
from bitflight.rtl.top.fetch import Fetch
from bitflight.rtl.top.params import TopParams
from bitflight.sim.hdl import amaranth_run

P = TopParams(channels=1, buffer_lines=(256,) * 5)
PAGE = 4096
# one instruction of each length (7, 6 and 1 words), so that instructions straddle bursts
KINDS = [asm.parse(text)[0] for text in (
    "LD buf=ACT channel=0 length=16", "MISC op=COPY dt_in=INT8 dt_out=INT8 a_buf=ACT o_buf=OUT "
    "rows=1 cols=16", "SYS op=END")]


def _bursts(addr: int, words: int) -> list[tuple[int, int]]:
    """(address, beats) of each burst, from the definition."""
    out = []
    while words:
        beats = min(16, (PAGE - addr % PAGE) // 4, words)
        out.append((addr, beats))
        addr, words = addr + 4 * beats, words - beats
    return out


def _fetch(program, addr, seed, ar_prob, r_prob, q_prob):
    image = encoding.encode_words(program)
    dut = Fetch(P)
    rng = random.Random(seed)
    bursts, dispatched = [], []

    async def bench(ctx):
        ctx.set(dut.addr, addr)
        ctx.set(dut.words, len(image))
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        beats = []                                      # words the slave still owes
        for _ in range(40 * len(image) + 200):
            ar = ctx.get(dut.axi.arvalid) and rng.random() < ar_prob
            ctx.set(dut.axi.arready, ar)
            r = bool(beats) and rng.random() < r_prob
            ctx.set(dut.axi.rvalid, r)
            ctx.set(dut.axi.rdata, beats[0] if r else 0xDEADBEEF)
            for q in isa.Queue:
                ctx.set(getattr(dut.queues, q.name).ready, rng.random() < q_prob)
            assert not ctx.get(dut.fault)
            for itype in isa.TYPES.values():
                port = getattr(dut.queues, itype.queue.name)
                if ctx.get(port.valid) and ctx.get(port.ready):
                    dispatched.append((itype.queue, ctx.get(port.instr), ctx.get(port.index)))
            if ar:
                a, n = ctx.get(dut.axi.araddr), ctx.get(dut.axi.arlen) + 1
                bursts.append((a, n))
                first = (a - addr) // 4
                beats += image[first:first + n]
            if r:
                beats.pop(0)
            if ctx.get(dut.finished) and ctx.get(dut.idle):
                break
            await ctx.tick()
        else:
            raise AssertionError("fetch never finished")

    amaranth_run.run(dut, bench)
    return bursts, dispatched


def _expected_dispatch(program):
    out = []
    for index, instr in enumerate(program):
        itype = isa.TYPES[instr.kind]
        value = 0
        for word in encoding.encode(instr):
            value = (value << 32) | word
        out.append((itype.queue, value, index))
    return out


@settings(max_examples=30, deadline=None)
@given(kinds=st.lists(st.integers(0, len(KINDS) - 1), min_size=1, max_size=40),
       page=st.integers(0, 2), before_end=st.integers(1, 40), seed=st.integers(0, 1000),
       ar_prob=st.sampled_from([1.0, 0.3]), r_prob=st.sampled_from([1.0, 0.5]),
       q_prob=st.sampled_from([1.0, 0.4]))
def test_bursts_and_dispatch(kinds, page, before_end, seed, ar_prob, r_prob, q_prob):
    """Programs that start a few words before a page end, so the page cut is exercised."""
    program = [KINDS[k] for k in kinds]
    addr = (page + 1) * PAGE - 4 * before_end
    bursts, dispatched = _fetch(program, addr, seed, ar_prob, r_prob, q_prob)
    assert bursts == _bursts(addr, len(encoding.encode_words(program)))
    assert dispatched == _expected_dispatch(program)


def test_long_programs_cross_whole_pages():
    """Programs over more than a page: from address 0 (16-beat bursts, the page ends on a burst
    end) and from 5 words before a page end (a 5-beat burst, then a whole page of 16-beat bursts,
    then the rest)."""
    program = [KINDS[0]] * 160                          # 1120 words
    bursts, dispatched = _fetch(program, 0, 1, 1.0, 1.0, 1.0)
    assert bursts == [(16 * 4 * k, 16) for k in range(70)]
    assert dispatched == _expected_dispatch(program)
    start = PAGE - 4 * 5
    bursts, dispatched = _fetch(program, start, 2, 1.0, 1.0, 1.0)
    assert bursts == [(start, 5)] + [(PAGE + 64 * k, 16) for k in range(69)] + [(PAGE + 64 * 69, 11)]
    assert dispatched == _expected_dispatch(program)


def test_asks_ahead_by_the_word_fifo_room_also_after_a_halt():
    """With R held back, fetch asks for 16-word bursts while they fit in its word FIFO
    (``fetch_fifo_words``) and then waits; words that arrive after a ``halt`` are dropped and
    must give their room back, so a program started after the halt asks as far ahead again."""
    program = [KINDS[0]] * 40                           # 280 words, more than the FIFO holds
    words = len(encoding.encode_words(program))
    depth = P.fetch_fifo_words
    dut = Fetch(P)
    asked = []

    async def run_ahead(ctx):
        """Start at 0 with R silent: the words asked for until AR has been quiet for a while."""
        ctx.set(dut.addr, 0)
        ctx.set(dut.words, words)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        total, quiet = 0, 0
        while quiet < 20:
            if ctx.get(dut.axi.arvalid):
                total, quiet = total + ctx.get(dut.axi.arlen) + 1, 0
            else:
                quiet += 1
            await ctx.tick()
        return total

    async def bench(ctx):
        ctx.set(dut.axi.arready, 1)
        first = await run_ahead(ctx)
        ctx.set(dut.axi.arready, 0)
        ctx.set(dut.halt, 1)                            # the owed words arrive and are dropped
        for _ in range(first):
            assert not ctx.get(dut.idle)                # words are still owed
            ctx.set(dut.axi.rvalid, 1)
            await ctx.tick()
        ctx.set(dut.axi.rvalid, 0)
        for _ in range(5):
            await ctx.tick()
        assert ctx.get(dut.idle)
        ctx.set(dut.halt, 0)
        ctx.set(dut.axi.arready, 1)
        asked.extend([first, await run_ahead(ctx)])

    amaranth_run.run(dut, bench)
    assert asked == [16 * (depth // 16)] * 2


def test_an_empty_program_finishes_without_a_request():
    """``words = 0``: finished and idle one cycle after start, no AR request, nothing taken from
    the word FIFO (a stale 'words left' flag would wait for a word that never comes)."""
    dut = Fetch(P)

    async def bench(ctx):
        ctx.set(dut.axi.arready, 1)
        ctx.set(dut.words, 0)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(10):
            await ctx.tick()
            assert ctx.get(dut.finished) and ctx.get(dut.idle)
            assert not ctx.get(dut.axi.arvalid) and not ctx.get(dut.fault)

    amaranth_run.run(dut, bench)
