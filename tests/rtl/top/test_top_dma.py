"""The accelerator top's data movement (LD, ST, MISC COPY) against sim.isa, bit for bit
(Verilator + cocotb).

One Verilated top per config, shared by every top test (sim/hdl.py's cache).
"""
import pytest

from bitflight.sim.top import runner
from bitflight.sim.top.job import MemoryModel

from dma_programs import ids_table, random_program
from top_cases import CFG, assert_same_state, job_for, program, random_image, reference

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-verilator")]
SIZES = {0: 12288, 1: 8192, 2: 5000, 3: 4096 + 37}


@pytest.fixture(scope="module")
def top():
    return runner.build(CFG)


def _image(seed, ids_seed):
    import random
    image = random_image(seed, SIZES)
    table = ids_table(random.Random(ids_seed))
    image[0] = table + image[0][len(table):]
    return image


def _check(top, image, programs, launches, **job_kw):
    job, steps = job_for(image, programs, launches, **job_kw)
    result = top and runner.run(top, job)
    machine, error = reference(image, steps, programs)
    assert error is None, error
    assert result.error is None, result.error
    assert_same_state(result, machine)
    return result


@pytest.mark.parametrize("seed", [1, 2])
def test_random_dma_programs_match_isa(top, seed):
    """Four programs in a row (state carries over), every DMA mode, random alignments."""
    sizes = [SIZES[c] for c in sorted(SIZES)]
    bufs = top[1].buffer_bytes
    launches = [dict(pos0=p, ntok=1) for p in (0, 3, 1, 7)]
    programs = [random_program(100 * seed + k, sizes, bufs, launch["pos0"], count=14,
                               kinds=("LD", "ST", "MISC"))
                for k, launch in enumerate(launches)]
    _check(top, _image(seed, seed), programs, launches)


def test_slow_memory_same_result(top):
    """Latency and half bandwidth on every channel change the timing, never the result."""
    sizes = [SIZES[c] for c in sorted(SIZES)]
    launches = [dict(pos0=2, ntok=1), dict(pos0=5, ntok=1)]
    programs = [random_program(900 + k, sizes, top[1].buffer_bytes, l["pos0"], count=10)
                for k, l in enumerate(launches)]
    slow = {ch: MemoryModel(latency=17, bandwidth=0.5) for ch in SIZES}
    fast = _check(top, _image(9, 9), programs, launches)
    slowed = _check(top, _image(9, 9), programs, launches, memory=slow)
    assert sum(s.cycles for s in slowed.steps) > sum(s.cycles for s in fast.steps)


def test_tokens_order_reads_before_overwrites(top):
    """ST must read ACT before LD overwrites it (ST -> LD token), and the k-th wait pairs with
    the k-th release: three LDs release three tokens that three STs take one by one."""
    text = """
    LD buf=ACT channel=0 hbm_addr=0 length=256 release=ST
    LD buf=ACT channel=0 buf_addr=16 hbm_addr=256 length=256 release=ST
    LD buf=ACT channel=0 buf_addr=32 hbm_addr=512 length=256 release=ST
    ST buf=ACT channel=1 hbm_addr=0 length=256 wait=LD
    ST buf=ACT channel=1 buf_addr=16 hbm_addr=256 length=256 wait=LD
    ST buf=ACT channel=1 buf_addr=32 hbm_addr=512 length=256 wait=LD release=LD
    LD buf=ACT channel=2 hbm_addr=7 length=768 wait=ST release=SYS
    SYS op=SYNC wait=LD release=ST
    ST buf=ACT channel=3 hbm_addr=1 length=768 wait=SYS
    SYS op=END
    """
    slow = {ch: MemoryModel(latency=30) for ch in SIZES}
    _check(top, _image(3, 3), [program(text)], [dict()], memory=slow)
