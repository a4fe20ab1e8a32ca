"""The bitflight instruction set: the one definition every other tool derives from.

Six instruction types (LD, ST, MM, MV, MISC, SYS) run on six in-order queues, one per type, as in
FlightLLM's decoupled access/execute design (docs/references.md#flightllm-5.2). Instructions are
1..N little-endian
32-bit words. Word 0 always starts with the 16-bit header:

* ``opcode`` (4 bits, [31:28]) selects the type and therefore the queue;
* ``wait`` (6 bits, [27:22]): bit ``q`` set means "before issuing, consume one token that queue
  ``q`` released towards my queue";
* ``release`` (6 bits, [21:16]): bit ``q`` set means "after completing, send one token to queue
  ``q``".

Tokens travel in per-(producer, consumer) FIFOs, so the k-th wait on channel (p -> q) in queue q
pairs with the k-th release on (p -> q) in queue p. A bit naming the instruction's own queue is
illegal (a queue is already in order with itself).

The remaining fields of each type are declared below as data (:data:`TYPES`): name, width and
meaning. Their bit positions are derived by :func:`_layout`: fields are packed MSB-first after the
header as one bit stream (a field may straddle two words), and the unused low bits of the last word
are reserved and must be zero. The encoder, decoder, text assembler and ``docs/isa.md`` all read the
same tables, so changing a width here changes every tool at once.

Units: on-chip buffer addresses count :data:`LINE_BYTES`-byte lines; HBM addresses, strides and
DMA lengths count bytes within one HBM channel.

Launch arguments: a program runs for one step of one sequence with two values set by the host:
``pos0`` (absolute position of the step's first token = tokens already in the KV cache) and
``ntok`` (valid tokens, at most the bucket size; later rows are padding). ``rel`` DMAs and the
causal SOFTMAX use ``pos0``, so one program serves every length of its bucket.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Iterable, Mapping

from ..golden import formats

ISA_VERSION = 1
WORD_BITS = 32
LINE_BYTES = 16          # on-chip buffer address unit
HEADER_BITS = 16


class Queue(IntEnum):
    """The six in-order queues; the value is the bit index in ``wait``/``release`` masks."""
    LD = 0
    ST = 1
    MM = 2
    MV = 3
    MISC = 4
    SYS = 5


class Buf(IntEnum):
    """On-chip buffers; sizes come from the config's ``buffers`` section."""
    ACT = 0    # activations / operand A (buffers.act_kb)
    WGT = 1    # weights, K/V tiles / operand B (buffers.weight_kb)
    OUT = 2    # engine outputs and accumulators (buffers.output_kb)
    META = 3   # group scales, datatype ids, N:M indices, SFU parameters (buffers.meta_kb)
    BIAS = 4   # bias / per-row scales (buffers.bias_kb)


class Engine(IntEnum):
    """Engine mode of an MM/MV instruction."""
    BITMOD = 0   # bit-serial PE: per-group datatype ids and integer scales in META
    SPARSE = 1   # CSD chain with N:M metadata (per-block N and 4-bit indices in META)
    DENSE = 2    # dense INT8 (or activation x activation) on the CSD chains


class DType(IntEnum):
    """Element types of activations, operands and results."""
    INT8 = 0
    FP16 = 1
    INT32 = 2
    FP32 = 3
    INT4 = 4
    INT3 = 5
    INT6 = 6
    BM4 = 7     # BitMoD 4-bit mixture (datatype id per group, golden.formats.BITMOD_CANDIDATES[4])
    BM3 = 8     # BitMoD 3-bit mixture
    FP4 = 9     # plain 4-bit float grid (golden.quant scheme fp)
    FP3 = 10    # plain 3-bit float grid


@dataclass(frozen=True)
class DTypeInfo:
    """The facts of one element type, in one table (:data:`DTYPES`) that the footprint, the
    packing pass, the simulator and the performance model all read."""
    bits: int                            # stored bits per element
    golden_format: str | None            # golden.formats name of an element (a BitMoD mixture:
                                         # its first candidate, datatype id 0); None: not a grid
    numpy: str | None                    # numpy dtype of a buffer element; None: packed tiles only
    scheme: tuple[str, int] | None       # the golden.quant (scheme, bits) stored as this type


DTYPES: Mapping[DType, DTypeInfo] = {
    DType.INT8: DTypeInfo(8, "int8", "int8", ("int_sym", 8)),
    DType.FP16: DTypeInfo(16, "fp16", "float16", ("fp16", 16)),
    DType.INT32: DTypeInfo(32, None, "int32", None),
    DType.FP32: DTypeInfo(32, None, "float32", None),
    DType.INT4: DTypeInfo(4, "int4", None, ("int_sym", 4)),
    DType.INT3: DTypeInfo(3, "int3", None, None),
    DType.INT6: DTypeInfo(6, "int6", None, ("int_sym", 6)),
    DType.BM4: DTypeInfo(4, formats.BITMOD_CANDIDATES[4][0], None, ("bitmod", 4)),
    DType.BM3: DTypeInfo(3, formats.BITMOD_CANDIDATES[3][0], None, ("bitmod", 3)),
    DType.FP4: DTypeInfo(4, "fp4_e2m1", None, ("fp", 4)),
    DType.FP3: DTypeInfo(3, "fp3", None, ("fp", 3)),
}


class MiscOp(IntEnum):
    """Special-function unit operations."""
    ADD = 0        # out = a + b (residual, element-wise)
    MUL = 1        # out = a * b (SwiGLU gate)
    SOFTMAX = 2    # causal row softmax: column c masked when c > pos0 + pos + row % imm
    RMSNORM = 3    # out = a / rms(a) * gain; b holds the fp16 gain, then epsilon as float32
    SILU = 4       # out = a * sigmoid(a)
    ROPE = 5       # rotary embedding per head (head_dim = imm); cos/sin rows of the tokens at b
    REQUANT = 6    # a (dt_in) -> dt_out with a per-row absmax scale, written as float32 at b
    COPY = 7       # move/convert a block between buffers
    SCALE = 8      # out = a * scalar (scalar fp16 bits in `imm`)
    SWIGLU = 9     # out = silu(a) * b, rounded once


class SysOp(IntEnum):
    """SYS operations."""
    SYNC = 0     # barrier: token-only instruction
    LAYER = 1    # layer boundary marker (imm = layer index), also a barrier
    END = 2      # end of program


@dataclass(frozen=True)
class Field:
    """One instruction field: name, width in bits, meaning and (optionally) its enum."""
    name: str
    width: int
    doc: str
    enum: type[IntEnum] | None = None

    @property
    def max(self) -> int:
        return (1 << self.width) - 1


@dataclass(frozen=True)
class Slot:
    """Where a field lives: ``start`` counts bits from bit 31 of word 0 (the MSB of the
    instruction read as one big-endian number of ``32 * words`` bits)."""
    field: Field
    start: int

    @property
    def word(self) -> int:
        """The word holding the field's most significant bit."""
        return self.start // WORD_BITS

    @property
    def last_word(self) -> int:
        return (self.start + self.field.width - 1) // WORD_BITS

    def bits(self) -> str:
        """Human-readable position, e.g. ``w0[27:22]`` or ``w1[3:0]+w2[31:28]``."""
        parts, pos, left = [], self.start, self.field.width
        while left:
            w, hi = divmod(pos, WORD_BITS)
            take = min(left, WORD_BITS - hi)
            parts.append(f"w{w}[{31 - hi}:{32 - hi - take}]")
            pos, left = pos + take, left - take
        return "+".join(parts)


HEADER: tuple[Field, ...] = (
    Field("opcode", 4, "instruction type (selects the queue)"),
    Field("wait", 6, "queues whose token must be consumed before issue (bit = Queue)"),
    Field("release", 6, "queues that receive a token after completion (bit = Queue)"),
)

_DMA = (
    Field("buf", 3, "on-chip buffer", Buf),
    Field("channel", 6, "HBM channel"),
    Field("buf_addr", 20, "on-chip start address (16-byte lines)"),
    Field("hbm_addr", 32, "HBM byte address inside the channel"),
    Field("length", 24, "bytes per contiguous run (dimension 0)"),
    Field("count1", 16, "runs in dimension 1 (0 means 1)"),
    Field("stride1", 32, "HBM byte stride of dimension 1"),
    Field("count2", 16, "repeats of dimension 1 (0 means 1)"),
    Field("stride2", 32, "HBM byte stride of dimension 2"),
    Field("rel", 1, "1: add pos0 x stride1 to hbm_addr (rows addressed by token position)"),
)

_ENGINE = (
    Field("engine", 2, "engine mode", Engine),
    Field("a_dt", 4, "operand A (activation) element type", DType),
    Field("b_dt", 4, "operand B (weight or K/V) element type", DType),
    Field("o_dt", 4, "result element type (INT32 accumulates; FP32/FP16 after dequant)", DType),
    Field("m", 16, "rows of A (tokens) in this tile"),
    Field("n", 16, "outputs (rows of B) in this tile"),
    Field("k", 16, "reduction length"),
    Field("a_addr", 20, "A in ACT, row-major [m, k] (lines)"),
    Field("b_addr", 20, "B in WGT: a packed weight tile (golden.quant / golden.sparse layout, "
          "metadata included) or raw K/V rows (lines)"),
    Field("b_lines", 20, "size of B in lines"),
    Field("o_addr", 20, "result in OUT, row-major [m, n] (lines)"),
    Field("s_addr", 20, "float32 per-row scales of an INT8 A in BIAS (lines)"),
    Field("t_addr", 20, "float32 per-row scales of INT8 K/V rows in B, in META (lines)"),
    Field("acc", 1, "1: add into the existing result (k split over tiles)"),
    Field("b_trans", 1, "1: B is stored [k, n] (e.g. V cache); 0: [n, k]"),
    Field("skip_pad", 1, "1: KV positions >= pos0 + ntok are padding and skipped (attention)"),
    Field("qk_dim", 16, "nonzero: the dot products are multiplied by the binary32 c = 1 / "
          "sqrt(qk_dim) before rounding (docs/numerics.md)"),
)

_MISC = (
    Field("op", 4, "operation", MiscOp),
    Field("dt_in", 4, "input element type", DType),
    Field("dt_out", 4, "output element type", DType),
    Field("a_buf", 3, "input A buffer", Buf),
    Field("a_addr", 20, "input A address (lines)"),
    Field("b_buf", 3, "input B / parameter buffer", Buf),
    Field("b_addr", 20, "input B / parameter address (lines)"),
    Field("o_buf", 3, "output buffer", Buf),
    Field("o_addr", 20, "output address (lines)"),
    Field("rows", 16, "rows"),
    Field("cols", 16, "columns (elements per row)"),
    Field("pos", 16, "row 0 is token pos0 + pos of the step (causal softmax)"),
    Field("imm", 16, "immediate: head_dim (ROPE), rows per head (SOFTMAX; 0 = all), fp16 "
          "bits of the scalar (SCALE)"),
)

_SYS = (
    Field("op", 4, "operation", SysOp),
    Field("imm", 12, "layer index for LAYER"),
)


@dataclass(frozen=True)
class InstrType:
    """One instruction type: its opcode, queue and fields (header excluded)."""
    name: str
    opcode: int
    queue: Queue
    doc: str
    fields: tuple[Field, ...]
    slots: tuple[Slot, ...] = field(init=False)
    words: int = field(init=False)

    def __post_init__(self) -> None:
        slots, words = _layout(HEADER + self.fields)
        object.__setattr__(self, "slots", slots)
        object.__setattr__(self, "words", words)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _layout(fields: tuple[Field, ...]) -> tuple[tuple[Slot, ...], int]:
    """Pack fields MSB-first into one bit stream split in 32-bit words (fields may straddle)."""
    slots, pos = [], 0
    for f in fields:
        if not 0 < f.width <= WORD_BITS:
            raise ValueError(f"field {f.name}: width {f.width} is not in 1..{WORD_BITS}")
        slots.append(Slot(f, pos))
        pos += f.width
    return tuple(slots), -(-pos // WORD_BITS)


TYPES: dict[str, InstrType] = {t.name: t for t in (
    InstrType("LD", 0b0001, Queue.LD,
              "DMA up to 3-D strided runs from one HBM channel into an on-chip buffer; the "
              "destination is written contiguously. With `gather` the dimension-1 row index "
              "comes from a row-id list on chip (token embedding lookup).",
              _DMA + (Field("zero_fill", 1, "1: write zeros instead of reading HBM (padding)"),
                      Field("gather", 1, "1: run i of dimension 1 reads HBM row ids[i] "
                            "(hbm_addr + ids[i] x stride1) instead of row i (embedding lookup)"),
                      Field("idx_addr", 20, "gather: count1 uint32 row ids in META (lines)"))),
    InstrType("ST", 0b0010, Queue.ST,
              "DMA a contiguous on-chip block to up to 3-D strided runs in one HBM channel.",
              _DMA),
    InstrType("MM", 0b0011, Queue.MM,
              "Matrix-matrix tile (prefill): O[m, n] (+)= A[m, k] x B[n, k]^T on the engine "
              "selected by `engine`.", _ENGINE),
    InstrType("MV", 0b0100, Queue.MV,
              "Matrix-vector tile (decode): same fields as MM, mapped with the decode "
              "parallelism (few rows of A).", _ENGINE),
    InstrType("MISC", 0b0101, Queue.MISC,
              "Special-function unit operation on [rows, cols] blocks.", _MISC),
    InstrType("SYS", 0b1111, Queue.SYS,
              "Barrier and program control; one word.", _SYS),
)}

BY_OPCODE: dict[int, InstrType] = {t.opcode: t for t in TYPES.values()}
BY_QUEUE: dict[Queue, InstrType] = {t.queue: t for t in TYPES.values()}


def mask(queues: Iterable[Queue | str] | int) -> int:
    """A wait/release mask from queue names or Queue values (an int passes through)."""
    if isinstance(queues, int):
        return queues
    bits = 0
    for q in queues:
        bits |= 1 << (Queue[q] if isinstance(q, str) else Queue(q))
    return bits


def queues_of(bits: int) -> tuple[Queue, ...]:
    """The queues named by a mask, in queue order."""
    return tuple(q for q in Queue if bits >> q & 1)


@dataclass(frozen=True, eq=True)
class Instr:
    """One instruction: its type name (``kind``), every non-header field, and its token masks."""
    kind: str
    args: Mapping[str, int]
    wait: int = 0
    release: int = 0

    @property
    def type(self) -> InstrType:
        return TYPES[self.kind]

    @property
    def queue(self) -> Queue:
        return TYPES[self.kind].queue

    def __getitem__(self, name: str) -> int:
        return self.args[name]

    def replace(self, *, wait: int | None = None, release: int | None = None) -> "Instr":
        return Instr(self.kind, self.args, self.wait if wait is None else wait,
                     self.release if release is None else release)


def make(kind: str, /, wait: Iterable[Queue | str] | int = 0,
         release: Iterable[Queue | str] | int = 0, **args: int) -> Instr:
    """Build and validate an instruction; fields not given are zero."""
    if kind not in TYPES:
        raise ValueError(f"unknown instruction type '{kind}' (known: {', '.join(TYPES)})")
    itype = TYPES[kind]
    unknown = set(args) - set(itype.field_names)
    if unknown:
        raise ValueError(f"{kind}: unknown field(s) {', '.join(sorted(unknown))} "
                         f"(fields: {', '.join(itype.field_names)})")
    values = {name: int(args.get(name, 0)) for name in itype.field_names}
    instr = Instr(kind, values, mask(wait), mask(release))
    validate(instr)
    return instr


def field_error(itype: InstrType, f: Field, value: int, wait_release_queue: Queue | None) -> str | None:
    """Why ``value`` is not legal in field ``f`` of ``itype`` (None when it is)."""
    if not 0 <= value <= f.max:
        return f"value {value} does not fit in {f.width} bits"
    if f.enum is not None and value not in f.enum._value2member_map_:
        return f"value {value} is not a {f.enum.__name__} ({', '.join(e.name for e in f.enum)})"
    if f.name == "opcode" and value not in BY_OPCODE:
        return f"invalid opcode {value:#x}"
    if wait_release_queue is not None and f.name in ("wait", "release") and (
            value >> wait_release_queue & 1):
        return f"names the instruction's own queue {wait_release_queue.name}"
    return None


def validate(instr: Instr) -> None:
    """Raise ValueError naming the first field whose value is illegal."""
    itype = instr.type
    for slot in itype.slots:
        f = slot.field
        value = header_value(instr, f.name) if slot.start < HEADER_BITS else instr.args[f.name]
        why = field_error(itype, f, value, itype.queue)
        if why:
            raise ValueError(f"{instr.kind}: field '{f.name}': {why}")


def header_value(instr: Instr, name: str) -> int:
    if name == "opcode":
        return instr.type.opcode
    return instr.wait if name == "wait" else instr.release
