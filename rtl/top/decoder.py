"""Instruction layouts and decode checks generated from ``compiler/isa.py``.

An instruction is held left-aligned in :data:`INSTR_BITS` bits: word 0 in the top 32 bits, so a
field that starts ``start`` bits after bit 31 of word 0 sits at bits
``[INSTR_BITS - start - width, INSTR_BITS - start)`` whatever the type's word count. Each queue
stores only its type's words (:func:`type_bits`), which is the same left-aligned picture cut to
``32 * words`` bits. :func:`layout` turns a type's slots into an Amaranth ``FlexibleLayout``, so
changing a width in isa.py moves every slice of the RTL with it.
"""
from __future__ import annotations

from amaranth.hdl import Const, Elaboratable, Module, Signal
from amaranth.lib import data

from ...compiler import isa

INSTR_WORDS = max(t.words for t in isa.TYPES.values())
INSTR_BITS = isa.WORD_BITS * INSTR_WORDS
OPCODE_BITS = isa.HEADER[0].width
QUEUE_BITS = len(isa.Queue)

# (type name, field name) of every checked field; RESERVED is the type's unused low bits
RESERVED = "reserved"
FIELD_IDS: tuple[tuple[str, str], ...] = tuple(
    [(t.name, s.field.name) for t in isa.TYPES.values() for s in t.slots]
    + [(t.name, RESERVED) for t in isa.TYPES.values()])
OPCODE_FIELD_ID = FIELD_IDS.index((next(iter(isa.TYPES)), "opcode"))


def type_bits(itype: isa.InstrType) -> int:
    return isa.WORD_BITS * itype.words


def layout(itype: isa.InstrType) -> data.FlexibleLayout:
    """Every field of ``itype`` (header included) over its ``32 * words`` left-aligned bits."""
    total = type_bits(itype)
    return data.FlexibleLayout(total, {
        s.field.name: data.Field(s.field.width, total - s.start - s.field.width)
        for s in itype.slots})


def reserved_bits(itype: isa.InstrType) -> int:
    return type_bits(itype) - sum(s.field.width for s in itype.slots)


def field_why(kind: str, name: str, value: int) -> str:
    """Why ``value`` is illegal in field ``name`` of ``kind`` (isa.field_error's words)."""
    itype = isa.TYPES[kind]
    if name == RESERVED:
        return f"{kind}: the low {reserved_bits(itype)} reserved bits of the last word are not zero"
    f = next(s.field for s in itype.slots if s.field.name == name)
    return f"{kind}: {isa.field_error(itype, f, value, itype.queue) or f'value {value}'}"


class DecodeCheck(Elaboratable):
    """Combinational legality check of one assembled instruction (``instr``, left-aligned
    :data:`INSTR_BITS`): an opcode isa.py defines, enum fields inside their enum, no wait/release
    bit naming the instruction's own queue, reserved bits zero. Outputs ``ok``, and when not ok
    ``field_id`` (an index of :data:`FIELD_IDS`), ``value`` (the offending field's value) and
    ``word`` (the word holding the field's first bit)."""

    def __init__(self):
        self.instr = Signal(INSTR_BITS)
        self.ok = Signal()
        self.field_id = Signal(range(len(FIELD_IDS)))
        self.value = Signal(isa.WORD_BITS)
        self.word = Signal(range(INSTR_WORDS))

    def elaborate(self, platform):
        m = Module()
        opcode = self.instr[INSTR_BITS - OPCODE_BITS:]
        m.d.comb += [self.ok.eq(0), self.field_id.eq(OPCODE_FIELD_ID), self.value.eq(opcode),
                     self.word.eq(0)]
        with m.Switch(opcode):
            for itype in isa.TYPES.values():
                with m.Case(itype.opcode):
                    self._check_type(m, itype)
        return m

    def _check_type(self, m: Module, itype: isa.InstrType) -> None:
        bits = self.instr[INSTR_BITS - type_bits(itype):]
        view = data.View(layout(itype), bits)
        failures = []                                  # (condition, field id, value, word)
        for slot in itype.slots:
            f, value = slot.field, view[slot.field.name]
            fid = FIELD_IDS.index((itype.name, f.name))
            if f.enum is not None:
                legal = [int(e) for e in f.enum]
                if sorted(legal) != list(range(1 << f.width)):
                    bad = Const(1)
                    for e in legal:
                        bad = bad & (value != e)
                    failures.append((bad, fid, value, slot.word))
            if f.name in ("wait", "release"):
                failures.append((value[int(itype.queue)], fid, value, slot.word))
        spare = reserved_bits(itype)
        if spare:
            low = bits[:spare]
            failures.append((low.any(), FIELD_IDS.index((itype.name, RESERVED)), low,
                             itype.words - 1))
        m.d.comb += self.ok.eq(1)
        for bad, fid, value, word in reversed(failures):   # the first failing field wins
            with m.If(bad):
                m.d.comb += [self.ok.eq(0), self.field_id.eq(fid), self.value.eq(value),
                             self.word.eq(word)]

