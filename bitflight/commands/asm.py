"""``bitflight asm FILE -o OUT``: assemble ISA text into a program file."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "asm", help="assemble ISA text into a binary program",
        description="Assemble bitflight ISA text (see docs/isa.md) into a program file.")
    parser.add_argument("file", help="assembly text file")
    parser.add_argument("-o", "--output", required=True, help="program file to write")
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from ..compiler import asm, encoding, progfile
    from ..base.atomic_file import write_atomic
    text = progfile.read_bytes(args.file, "assembly file").decode()
    instrs = asm.parse(text, args.file)
    data = encoding.encode_program(instrs)
    write_atomic(args.output, data)
    print(f"{args.output}: {len(instrs)} instructions, {len(data)} bytes")
    return 0
