"""``bitflight disasm PROGRAM``: print a program file as ISA text."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "disasm", help="disassemble a binary program",
        description="Print a bitflight program file as assembly text (index and byte offset in "
                    "a trailing comment). A corrupt file is reported with byte offset and field.")
    parser.add_argument("program", help="program file (.bfp), or a `bitflight compile` output "
                                         "folder together with --bucket")
    parser.add_argument("--bucket", help="bucket program of a compiled folder, e.g. decode:16")
    parser.add_argument("-o", "--output", help="write the text here instead of stdout")
    parser.add_argument("--no-offsets", action="store_true",
                        help="omit the '# index @offset' comments (output re-assembles exactly)")
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from ..compiler import asm, encoding, output
    from ..base.atomic_file import write_atomic
    data = output.program_file(args.program, args.bucket)
    try:
        instrs = encoding.decode_program(data)
    except encoding.ProgramFormatError as exc:
        raise encoding.ProgramFormatError(exc.offset, exc.field,
                                          str(exc).split(": ", 2)[2] + f" in {args.program}")
    text = asm.format_program(instrs, offsets=not args.no_offsets,
                              base_offset=encoding.HEADER_BYTES)
    if args.output:
        write_atomic(args.output, text)
    else:
        print(text, end="")
    return 0
