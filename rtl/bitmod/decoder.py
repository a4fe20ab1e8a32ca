"""Term decoder: (hardware datatype, code, slot) -> one signed power-of-two term per lane."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...golden.bitserial import HW_FORMATS, term_table
from .decode_tables import decode_tables
from .params import CODE_BITS, FMT_BITS, SHIFT_BITS, SLOT_BITS


class TermDecoder(wiring.Component):
    """Combinational decoder of one lane (tables: :mod:`.decode_tables`, from golden.bitserial).

    Ports:
      - ``fmt: In(FMT_BITS)``: hardware datatype index (golden.bitserial.HW_FORMATS).
      - ``code: In(CODE_BITS)``: the weight code in the low ``bits`` of the datatype.
      - ``slot: In(SLOT_BITS)``: which cycle of the weight (0 .. slots-1).
      - ``valid, neg: Out(1)``, ``shift: Out(SHIFT_BITS)``: the term ``(-1)**neg * 2**shift`` of
        that slot, or ``valid = 0`` for an empty slot (zero weight, zero Booth digit, the unused
        -0 code of plain fp3/fp4_e2m1, or a datatype index beyond the table). The unused most
        negative INT code decodes as its Booth digits (-2^(b-1)); golden.quant never emits it.
      - ``slots: Out(3)``: cycles per weight of the datatype (2; 3 for int6; 4 for int8).
    Timing: combinational (:attr:`latency` = 0). fp grids: sign-magnitude magnitude table shared
    per width plus a per-grid -0 (special value) entry; INT: radix-4 Booth digit k in slot k.
    """

    latency = 0

    def __init__(self):
        super().__init__({"fmt": In(FMT_BITS), "code": In(CODE_BITS), "slot": In(SLOT_BITS),
                          "valid": Out(1), "neg": Out(1), "shift": Out(SHIFT_BITS),
                          "slots": Out(3)})

    def _emit(self, m, entry):
        m.d.comb += [self.valid.eq(entry[0]), self.neg.eq(entry[1]), self.shift.eq(entry[2])]

    def elaborate(self, platform):
        m = Module()
        tabs = decode_tables()
        # Booth: window = code bits (2k+1, 2k, 2k-1) with bit -1 = 0
        window, extra = Signal(3), Signal(2)
        padded = Cat(0, self.code)
        with m.Switch(self.slot):
            for k in range(1 << SLOT_BITS):
                with m.Case(k):
                    m.d.comb += window.eq(padded[2 * k:2 * k + 3])
        booth_valid, booth_neg = Signal(), Signal()
        with m.Switch(window):
            for w, (v, neg, sh) in tabs.booth.items():
                if v:
                    with m.Case(w):
                        m.d.comb += [booth_valid.eq(1), booth_neg.eq(neg), extra.eq(sh)]
        # fp grids: magnitude term per width
        mag_terms = {}
        for width, table in tabs.magnitude.items():
            mv, msh = Signal(name=f"mag{width}_valid"), Signal(SHIFT_BITS, name=f"mag{width}_sh")
            key = Signal(width - 1 + 1, name=f"mag{width}_key")
            m.d.comb += key.eq(Cat(self.slot[0], self.code[:width - 1]))
            with m.Switch(key):
                for (mag, j), (v, sh) in table.items():
                    if v:
                        with m.Case((mag << 1) | j):
                            m.d.comb += [mv.eq(1), msh.eq(sh)]
            mag_terms[width] = (mv, msh)
        with m.Switch(self.fmt):
            for index, name in enumerate(HW_FORMATS):
                with m.Case(index):
                    m.d.comb += self.slots.eq(term_table(name).slots)
                    if tabs.kinds[index] == "int":
                        m.d.comb += [self.valid.eq(booth_valid), self.neg.eq(booth_neg),
                                     self.shift.eq(self.slot * 2 + extra)]
                        continue
                    bits = tabs.bits[index]
                    sign, mag = self.code[bits - 1], self.code[:bits - 1]
                    with m.If(sign & ~mag.any()):
                        with m.Switch(self.slot):
                            for j, entry in enumerate(tabs.special[index]):
                                with m.Case(j):
                                    self._emit(m, entry)
                    with m.Else():
                        mv, msh = mag_terms[bits]
                        m.d.comb += [self.valid.eq(mv), self.neg.eq(sign), self.shift.eq(msh)]
        return m


def code_width(fmt_index: int) -> int:
    return decode_tables().bits[fmt_index]


class CodeUnpack(wiring.Component):
    """Lane codes out of a packed record slice: code j at bits [j*b, j*b + b), b by datatype.

    Ports: ``fmt: In(FMT_BITS)``, ``packed: In(CODE_BITS * lanes)``,
    ``code0`` .. ``code{lanes-1}``: ``Out(CODE_BITS)``. Combinational (:attr:`latency` = 0).
    """

    latency = 0

    def __init__(self, lanes: int):
        self.lanes = lanes
        super().__init__({"fmt": In(FMT_BITS), "packed": In(CODE_BITS * lanes),
                          **{f"code{j}": Out(CODE_BITS) for j in range(lanes)}})

    def elaborate(self, platform):
        m = Module()
        widths = sorted({code_width(i) for i in range(len(HW_FORMATS))})
        with m.Switch(self.fmt):
            for b in widths:
                with m.Case(*[i for i in range(len(HW_FORMATS)) if code_width(i) == b]):
                    for j in range(self.lanes):
                        m.d.comb += getattr(self, f"code{j}").eq(self.packed[j * b:(j + 1) * b])
        return m
