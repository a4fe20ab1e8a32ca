"""Why a step stopped early: the fault codes the top reports in its status register, and their
one-line messages (formatted on the host from the fault registers, in sim.isa's words)."""
from __future__ import annotations

from enum import IntEnum

from ...compiler import isa


class Fault(IntEnum):
    """Fault code (STATUS[15:8]); ERR_ARG0..2 carry the details named per code."""
    NONE = 0
    DECODE = 1          # arg0 field id (decoder.FIELD_IDS), arg1 the value, arg2 the word index
    BUFFER_RANGE = 2    # arg0 lo, arg1 hi (bytes), arg2 the buffer
    HBM_RANGE = 3       # arg0 lo, arg1 hi (bytes), arg2 the channel
    AXI_RESP = 4        # arg0 the response code, arg2 the channel
    DEADLOCK = 5        # heads of the stuck queues in HEAD[q]
    TOKENS_LEFT = 6     # arg0 producer queue, arg1 consumer queue
    TOKEN_OVERFLOW = 7  # arg0 producer queue, arg1 consumer queue
    UNSUPPORTED = 8     # the instruction's queue has no engine that executes it
    TRUNCATED = 9       # arg0 words the instruction needs, arg1 words left, arg2 the word index
    DTYPE = 10          # arg0 an element type the engine cannot read as a tensor
    TILE = 11           # a packed weight tile the engine cannot run: arg2 TileFault
    RESULT_TYPE = 12    # arg0 an MM/MV result type other than FP16
    ACCUMULATE = 13     # an MM/MV with acc = 1
    ATTENTION = 14      # arg0 the failed check (AttentionCheck), arg1/arg2 its values
    SFU = 15            # arg0 the failed check (SfuCheck), arg1/arg2 its values


class TileFault(IntEnum):
    """Why a packed tile cannot run on the engine (Fault.TILE's arg2)."""
    MAGIC = 0           # arg0 magic word, arg1 version
    FORMAT = 1          # arg0 scheme id, arg1 bits: no hardware datatypes for it
    SCALE = 2           # arg0 scale mode, arg1 zero-point bits
    SHAPE = 3           # arg0 header N << 32 | K, arg1 instruction n << 32 | k
    GROUP = 4           # arg0 G, arg1 lanes
    LAYOUT = 5          # arg0 version << 32 | block << 16 | chunk, arg1 rows << 16 | lanes
    ALIGN = 6           # arg0 flags << 32 | the tile's codes line in WGT, arg1 lines per WGT row


def message(fault: Fault, index: int, queue: int, args: tuple[int, int, int],
            heads: dict[int, int], buffer_bytes: tuple[int, ...], field_ids,
            dispatch: tuple[int, int] | None = None) -> str:
    """The one-line error for a fault (same text as sim.isa where sim.isa has the same error)."""
    from .decoder import field_why
    what = f"#{index} {isa.BY_QUEUE[isa.Queue(queue)].name}"
    a0, a1, a2 = args
    if fault == Fault.DECODE:
        kind, name = field_ids[a0]
        return (f"instruction #{index} (word {a2}): field '{name}': "
                f"{field_why(kind, name, a1)}")
    if fault == Fault.TRUNCATED:
        return (f"instruction #{index} (word {a2}): instruction truncated (needs {a0} words, "
                f"{a1} remain)")
    if fault == Fault.BUFFER_RANGE:
        buf = isa.Buf(a2) if a2 in isa.Buf._value2member_map_ else a2
        size = buffer_bytes[a2] if a2 < len(buffer_bytes) else 0
        return (f"{what}: buffer {getattr(buf, 'name', buf)} bytes [{a0}, {a1}) exceed its "
                f"{size} bytes")
    if fault == Fault.HBM_RANGE:
        return f"{what}: HBM channel {a2} bytes [{a0}, {a1}) are outside the memory image"
    if fault == Fault.AXI_RESP:
        return f"{what}: HBM channel {a2} answered with AXI response {a0} (not OKAY)"
    if fault == Fault.DEADLOCK:
        stuck = ", ".join(f"#{i} ({isa.Queue(q).name})" for q, i in sorted(heads.items()))
        text = f"deadlock: every queue waits for a token ({stuck})"
        if dispatch is not None:
            text += (f"; dispatch of #{dispatch[0]} waits for room in the full "
                     f"{isa.Queue(dispatch[1]).name} queue")
        return text
    if fault in (Fault.TOKENS_LEFT, Fault.TOKEN_OVERFLOW):
        p, q = isa.Queue(a0).name, isa.Queue(a1).name
        if fault == Fault.TOKENS_LEFT:
            return f"program ended with unconsumed tokens {p} -> {q}"
        return f"{what}: more tokens {p} -> {q} outstanding than the counter holds"
    if fault == Fault.DTYPE:
        name = isa.DType(a0).name if a0 in isa.DType._value2member_map_ else a0
        return f"{what}: element type {name} cannot be read as a tensor"
    if fault == Fault.TILE:
        return f"{what}: {tile_fault_text(a2, a0, a1)}"
    if fault == Fault.RESULT_TYPE:
        name = isa.DType(a0).name if a0 in isa.DType._value2member_map_ else a0
        return f"{what}: result type {name} is not supported"
    if fault == Fault.ACCUMULATE:
        return f"{what}: accumulating MMs are not emitted by the compiler"
    if fault == Fault.ATTENTION:
        return f"{what}: {attention_message(a0, a1, a2)}"
    if fault == Fault.SFU:
        return f"{what}: {sfu_message(a0, a1, a2)}"
    if fault == Fault.UNSUPPORTED:
        return f"{what}: no engine of this top executes the instruction"
    return f"{what}: fault {fault}"


def tile_fault_text(reason: int, a0: int, a1: int) -> str:
    """The tail of a TILE fault's one-line message."""
    if reason == TileFault.MAGIC:
        return (f"B operand is not a packed weight tile (magic word {a0:#010x}, version "
                f"{a1})")
    if reason == TileFault.FORMAT:
        from ...golden.quant import packing
        names = {v: k for k, v in packing.SCHEME_IDS.items()}
        return (f"the BitMoD engine has no datatype decoder for scheme "
                f"'{names.get(a0, a0)}' with {a1}-bit codes")
    if reason == TileFault.SCALE:
        from ...golden.quant import packing
        modes = {v: k for k, v in packing.SCALE_MODE_IDS.items()}
        return (f"the BitMoD engine takes fp16 or int group scales without zero points, the "
                f"tile has scale mode '{modes.get(a0, a0)}' and {a1} zero-point bits")
    if reason == TileFault.SHAPE:
        return (f"the packed tile holds [{a0 >> 32}, {a0 & 0xFFFFFFFF}] weights, the "
                f"instruction names n={a1 >> 32}, k={a1 & 0xFFFFFFFF}")
    if reason == TileFault.GROUP:
        return f"group size {a0} of the packed tile is not a multiple of {a1} lanes"
    if reason == TileFault.LAYOUT:
        version, block, chunk = a0 >> 32, (a0 >> 16) & 0xFFFF, a0 & 0xFFFF
        rows, lanes = a1 >> 16, a1 & 0xFFFF
        have = (f"version {version} (row by row)" if version == 1 else
                f"blocks of {block} rows and chunks of {chunk}")
        return (f"the packed tile is laid out in {have}; the BitMoD engine of {rows} rows and "
                f"{lanes} lanes reads version 2 with blocks of a multiple of {rows} rows and "
                f"chunks of {lanes} (compiler.passes.packing.array_layout)")
    if reason == TileFault.ALIGN:
        flags, line = a0 >> 32, a0 & 0xFFFFFFFF
        whole = "" if flags & 1 else ", its last block is not stored whole"
        return (f"the packed tile's codes start at WGT line {line} and its sections at "
                f"multiples of {8 << (flags >> 4)} bytes{whole}; the BitMoD engine reads WGT "
                f"rows of {a1} lines: it takes tiles of full blocks whose sections all start a "
                f"row (compiler.passes.packing.array_layout, wgt_row_lines)")
    return f"packed tile fault {reason}"


class AttentionCheck(IntEnum):
    """The field checks of an attention product (the first five are sim.isa's own errors)."""
    VALUE_QK_DIM = 0       # a1: qk_dim
    SCORE_QK_DIM = 1       # a1: k, a2: qk_dim
    INT8_QK_DIM = 2        # a1: k, a2: qk_dim
    RESULT_TYPE = 3        # a1: o_dt
    ACCUMULATE = 4
    A_TYPE = 5             # a1: a_dt, a2: b_dt (a combination sim.isa converts; the RTL does not)


def _name(dt: int) -> str:
    return isa.DType(dt).name if dt in isa.DType._value2member_map_ else str(dt)


def attention_message(code: int, a1: int, a2: int) -> str:
    """The message of an ATTENTION fault (after ``#index MM: ``), sim.isa's where it has one."""
    if code == AttentionCheck.VALUE_QK_DIM:
        return "a value product (b_trans 1) takes no qk_dim"
    if code == AttentionCheck.SCORE_QK_DIM:
        return f"scores need qk_dim = k = {a1}, got {a2}"
    if code == AttentionCheck.INT8_QK_DIM:
        return f"INT8 scores need qk_dim = k = {a1}, got {a2}"
    if code == AttentionCheck.RESULT_TYPE:
        return f"result type {_name(a1)} is not supported"
    if code == AttentionCheck.ACCUMULATE:
        return "accumulating MMs are not emitted by the compiler"
    if code == AttentionCheck.A_TYPE:
        return (f"the attention engine takes A FP16 (INT8 for INT8 scores), got {_name(a1)} "
                f"with B {_name(a2)}")
    return f"attention check {code}"


class SfuCheck(IntEnum):
    """The field checks of an SFU (MISC) instruction besides buffer ranges and readability."""
    TYPES = 0              # a1: op, a2: dt_in << 4 | dt_out (sim.isa's error)
    ROPE_HEAD = 1          # a1: imm, a2: cols (sim.isa's error)
    ROPE_ODD = 2           # a1: imm (golden.ops.sfu.rope_rows refuses an odd head size)


def sfu_message(code: int, a1: int, a2: int) -> str:
    """The message of an SFU fault (after ``#index MISC: ``), sim.isa's where it has one."""
    if code == SfuCheck.TYPES:
        op = isa.MiscOp(a1) if a1 in isa.MiscOp._value2member_map_ else None
        want_out = isa.DType.INT8 if op == isa.MiscOp.REQUANT else isa.DType.FP16
        return (f"MISC {getattr(op, 'name', a1)} takes FP16 -> {want_out.name}, got "
                f"{_name(a2 >> 4)} -> {_name(a2 & 0xF)}")
    if code == SfuCheck.ROPE_HEAD:
        return f"ROPE head size imm={a1} does not divide cols={a2}"
    if code == SfuCheck.ROPE_ODD:
        return f"ROPE head size imm={a1} is odd (cos and sin take half a head each)"
    return f"SFU check {code}"
