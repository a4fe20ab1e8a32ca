"""Bad programs stop the RTL step with sim.isa's one-line error naming the instruction; the
next step on the same top runs normally (a fault leaves nothing behind)."""
import pytest

from bitflight.compiler import encoding, isa
from bitflight.sim.top import runner
from bitflight.sim.top.job import Job, Step

from top_cases import CFG, program, random_image, reference, words

pytestmark = [pytest.mark.verilator, pytest.mark.xdist_group("top-verilator")]
SIZES = {0: 4096, 1: 8192, 2: 4096, 3: 4096}

# (name, program text): sim.isa raises the same message for each
SAME_AS_ISA = [
    ("hbm_range", """
        LD buf=ACT channel=1 hbm_addr=16 length=64 release=ST
        ST buf=ACT channel=0 length=64 wait=LD
        LD buf=ACT channel=1 buf_addr=8 hbm_addr=8050 length=100 count1=2 stride1=90
        SYS op=END"""),
    ("absent_channel", "LD buf=WGT channel=9 length=16\nSYS op=END"),
    ("buffer_range", "ST buf=META channel=0 buf_addr=250 length=100 count1=2\nSYS op=END"),
    ("gather_ids_range", "LD buf=ACT channel=1 length=16 count1=8 stride1=16 gather=1 "
                         "idx_addr=255\nSYS op=END"),
    ("gather_row_range", """
        LD buf=META channel=2 hbm_addr=0 length=32
        LD buf=ACT channel=1 length=64 count1=8 stride1=4096 gather=1
        SYS op=END"""),
    ("deadlock", """
        LD buf=ACT channel=0 length=16 release=MM
        ST buf=ACT channel=0 length=16 wait=LD
        LD buf=ACT channel=0 length=16 wait=ST
        SYS op=END wait=LD"""),
    ("tokens_left", "LD buf=ACT channel=0 length=16 release=ST,SYS\nSYS op=END wait=LD"),
    ("copy_dtype", "MISC op=COPY dt_in=INT4 dt_out=INT4 a_buf=ACT o_buf=OUT rows=1 cols=8"),
    ("copy_source_range", "MISC op=COPY dt_in=FP32 dt_out=FP32 a_buf=BIAS a_addr=250 o_buf=ACT "
                          "rows=5 cols=5"),
    ("copy_target_range", "MISC op=COPY dt_in=INT8 dt_out=INT8 a_buf=ACT o_buf=META o_addr=255 "
                          "rows=2 cols=9"),
    # blocks that end exactly at a buffer's end (4096 bytes) pass, one byte more faults: the
    # fault must name the third instruction
    ("copy_exact_end", """
        MISC op=COPY dt_in=INT8 dt_out=INT8 a_buf=ACT o_buf=META o_addr=255 rows=1 cols=16
        MISC op=COPY dt_in=INT8 dt_out=INT8 a_buf=META a_addr=255 o_buf=ACT rows=1 cols=16
        MISC op=COPY dt_in=INT8 dt_out=INT8 a_buf=META a_addr=255 o_buf=ACT rows=1 cols=17"""),
    # a block that starts past the buffer's end (its room above the start is negative)
    ("copy_start_past_end", "MISC op=COPY dt_in=INT8 dt_out=INT8 a_buf=ACT o_buf=BIAS "
                            "o_addr=4000 rows=1 cols=1"),
]


def _gather_rows(image):
    """Row ids 0 and 3 for the gather_row_range case: row 3 ends past channel 1."""
    ids = (0).to_bytes(4, "little") + (3).to_bytes(4, "little") * 7
    image[2] = ids + image[2][len(ids):]
    return image


def test_faults_match_isa_and_the_top_recovers():
    top = runner.build(CFG)
    image = _gather_rows(random_image(5, SIZES))
    programs = [program(text) for _, text in SAME_AS_ISA]
    ok = program("LD buf=ACT channel=1 length=48 release=ST\nST buf=ACT channel=2 hbm_addr=5 "
                 "length=48 wait=LD\nSYS op=END")
    # decode faults sim.isa never sees (its decoder rejects the file): raw words
    mm = encoding.encode(isa.make("MM", m=1, n=1, k=1))
    sys_word = encoding.encode(isa.make("SYS", op=isa.SysOp.SYNC))[0]
    bad_opcode = encoding.words_to_bytes([0x7 << 28])
    own_queue = encoding.words_to_bytes([sys_word | 1 << 16 + isa.Queue.SYS])
    bad_enum = encoding.words_to_bytes(encoding.encode(isa.make("LD", length=16)))
    bad_enum = bytearray(bad_enum)
    bad_enum[1] |= 0xE0                                   # buf = 7 (w0 bits [15:13])
    reserved = encoding.words_to_bytes(encoding.encode(isa.make("ST", length=16))[:-1]
                                       + [encoding.encode(isa.make("ST", length=16))[-1] | 1])
    truncated = encoding.words_to_bytes(encoding.encode(isa.make("SYS"))
                                        + encoding.encode(isa.make("LD", length=16))[:3])
    steps = [Step(words=words(p)) for p in programs] + [
        Step(words=w) for w in (bad_opcode, own_queue, bytes(bad_enum), reserved, truncated,
                                words([isa.make("SYS")]) + encoding.words_to_bytes(mm))
    ] + [Step(words=words(ok))]
    job = Job(channels=image, limits={ch: len(d) for ch, d in image.items()}, steps=steps,
              stop_on_error=False)
    result = runner.run(top, job)
    got = [s.error for s in result.steps]
    for (name, _), prog, err in zip(SAME_AS_ISA, programs, got):
        _, want = reference(image, [Step(words=b"")], [prog])
        assert want is not None, f"{name}: sim.isa accepted the program"
        assert err == want, f"{name}: rtl '{err}' != sim.isa '{want}'"
    decode = got[len(programs):-1]
    assert decode == [
        "instruction #0 (word 0): field 'opcode': LD: invalid opcode 0x7",
        "instruction #0 (word 0): field 'release': SYS: names the instruction's own queue SYS",
        "instruction #0 (word 0): field 'buf': LD: value 7 is not a Buf (ACT, WGT, OUT, META, "
        "BIAS)",
        f"instruction #0 (word 6): field 'reserved': ST: the low {7 * 32 - 198} reserved bits of "
        "the last word are not zero",
        "instruction #1 (word 1): instruction truncated (needs 7 words, 3 remain)",
        "#1 MM: no engine of this top executes the instruction",
    ]
    assert result.steps[-1].error is None
    assert result.hbm[2][5:53] == image[1][:48]
