"""Text assembly for the bitflight ISA (syntax derived from the field tables in :mod:`.isa`).

One instruction per line::

    LD buf=WGT channel=3 buf_addr=0x40 hbm_addr=0x10000 length=2048 wait=MM release=MM
    MM engine=BITMOD a_dt=FP16 b_dt=BM4 o_dt=FP32 m=32 n=64 k=128 group_log2=7 release=ST
    SYS op=END

* the mnemonic is an instruction type; then ``field=value`` pairs in any order;
* fields not written are 0; enum fields take their member name (or a number);
* numbers are decimal or ``0x`` hex; ``wait``/``release`` take comma-separated queue names
  (``-`` or nothing for none);
* ``#`` starts a comment; blank lines are ignored.
"""
from __future__ import annotations

from typing import Iterable

from ..base.errors import ProgramError
from . import isa


class AsmError(ProgramError):
    """A line of assembly that does not parse; names the file, line and field."""


def _format_value(f: isa.Field, value: int) -> str:
    if f.enum is not None:
        return f.enum(value).name
    return f"{value:#x}" if value >= 4096 else str(value)


def format_instr(instr: isa.Instr) -> str:
    """One line of assembly; zero-valued plain fields are left out (they parse back as 0)."""
    parts = [instr.kind]
    for f in instr.type.fields:
        value = instr.args[f.name]
        if f.enum is not None or value:
            parts.append(f"{f.name}={_format_value(f, value)}")
    for name, bits in (("wait", instr.wait), ("release", instr.release)):
        if bits:
            parts.append(f"{name}={','.join(q.name for q in isa.queues_of(bits))}")
    return " ".join(parts)


def format_program(instrs: Iterable[isa.Instr], offsets: bool = True,
                   base_offset: int = 0) -> str:
    """Assembly text; with ``offsets`` each line ends with its index and byte offset."""
    lines, offset = [], base_offset
    for i, instr in enumerate(instrs):
        text = format_instr(instr)
        lines.append(f"{text:<100s} # {i} @{offset}" if offsets else text)
        offset += 4 * instr.type.words
    return "\n".join(lines) + "\n"


def _parse_int(text: str) -> int:
    return int(text, 0)


def _parse_field(f: isa.Field, text: str) -> int:
    if f.enum is not None and text in f.enum.__members__:
        return int(f.enum[text])
    try:
        return _parse_int(text)
    except ValueError:
        choices = f" (one of {', '.join(f.enum.__members__)})" if f.enum else ""
        raise ValueError(f"'{text}' is not a number{choices}") from None


def _parse_mask(text: str) -> int:
    if text in ("", "-"):
        return 0
    bits = 0
    for name in text.split(","):
        if name not in isa.Queue.__members__:
            raise ValueError(f"unknown queue '{name}' (queues: {', '.join(isa.Queue.__members__)})")
        bits |= 1 << isa.Queue[name]
    return bits


def parse_line(line: str, where: str = "<line>") -> isa.Instr | None:
    """Parse one line (None for a blank or comment-only line)."""
    code = line.split("#", 1)[0].strip()
    if not code:
        return None
    mnemonic, *pairs = code.split()
    itype = isa.TYPES.get(mnemonic.upper())
    if itype is None:
        raise AsmError(f"{where}: unknown instruction '{mnemonic}' "
                       f"(known: {', '.join(isa.TYPES)})")
    fields = {f.name: f for f in itype.fields}
    args: dict[str, int] = {}
    masks = {"wait": 0, "release": 0}
    for pair in pairs:
        name, eq, text = pair.partition("=")
        if not eq:
            raise AsmError(f"{where}: expected field=value, got '{pair}'")
        if name in args or (name in masks and masks[name]):
            raise AsmError(f"{where}: field '{name}' given twice")
        try:
            if name in masks:
                masks[name] = _parse_mask(text)
            elif name in fields:
                args[name] = _parse_field(fields[name], text)
            else:
                raise ValueError(f"{itype.name} has no such field "
                                 f"(fields: {', '.join(fields)}, wait, release)")
        except ValueError as exc:
            raise AsmError(f"{where}: field '{name}': {exc}") from None
    try:
        return isa.make(itype.name, wait=masks["wait"], release=masks["release"], **args)
    except ValueError as exc:
        raise AsmError(f"{where}: {exc}") from None


def parse(text: str, filename: str = "<text>") -> list[isa.Instr]:
    """Parse assembly text; the first bad line raises :class:`AsmError` naming file:line."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        instr = parse_line(line, f"{filename}:{number}")
        if instr is not None:
            out.append(instr)
    return out
