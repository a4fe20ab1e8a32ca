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
    from ..compiler import asm, encoding, progfile
    from pathlib import Path
    if Path(args.program).is_dir():
        if not args.bucket:
            raise ValueError(f"{args.program} is a compiled folder: name a program with --bucket")
        from ..compiler import output
        data = encoding.wrap(output.read_program(Path(args.program), args.bucket))
    else:
        data = progfile.read_bytes(args.program, "program file")
    try:
        instrs = encoding.decode_program(data)
    except encoding.ProgramFormatError as exc:
        raise encoding.ProgramFormatError(exc.offset, exc.field,
                                          str(exc).split(": ", 2)[2] + f" in {args.program}")
    text = asm.format_program(instrs, offsets=not args.no_offsets,
                              base_offset=encoding.HEADER_BYTES)
    if args.output:
        progfile.write_atomic(args.output, text)
    else:
        print(text, end="")
    return 0
