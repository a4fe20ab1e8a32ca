"""Text assembly, the asm/disasm commands and the generated docs/isa.md."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given

from bitflight import cli
from bitflight.compiler import asm, encoding, isa, isa_doc
from isa_strategies import programs

ROOT = Path(__file__).resolve().parents[2]


@given(programs)
def test_text_round_trip(instrs_):
    assert asm.parse(asm.format_program(instrs_)) == instrs_
    assert asm.parse(asm.format_program(instrs_, offsets=False)) == instrs_


def test_hand_written_line():
    instr = asm.parse_line("LD buf=WGT channel=3 hbm_addr=0x100 length=64 wait=MM,SYS  # hi")
    assert instr == isa.make("LD", wait=["MM", "SYS"], buf=isa.Buf.WGT, channel=3,
                             hbm_addr=256, length=64)
    assert asm.parse_line("   # only a comment") is None


@pytest.mark.parametrize("line, message", [
    ("JMP x=1", "f.s:1: unknown instruction 'JMP'"),
    ("LD buf=XYZ", "f.s:1: field 'buf': 'XYZ' is not a number (one of ACT, WGT"),
    ("LD length", "f.s:1: expected field=value, got 'length'"),
    ("LD nope=1", "f.s:1: field 'nope': LD has no such field"),
    ("LD wait=FOO", "f.s:1: field 'wait': unknown queue 'FOO'"),
    ("LD wait=LD", "f.s:1: LD: field 'wait': names the instruction's own queue LD"),
    ("MM m=70000", "f.s:1: MM: field 'm': value 70000 does not fit in 16 bits"),
    ("MM m=1 m=2", "f.s:1: field 'm' given twice"),
])
def test_parse_errors_name_file_line_field(line, message):
    with pytest.raises(asm.AsmError) as err:
        asm.parse(line, "f.s")
    assert str(err.value).startswith(message)


def test_docs_isa_md_is_generated_from_isa():
    committed = (ROOT / "docs" / "isa.md").read_text()
    assert committed == isa_doc.generate(), (
        "docs/isa.md is stale: python -m bitflight.compiler.isa_doc > docs/isa.md")
    for t in isa.TYPES.values():
        for f in t.fields:
            assert f"| `{f.name}` |" in committed


def test_cli_asm_disasm_round_trip(tmp_path, capsys):
    src = tmp_path / "p.s"
    src.write_text("LD buf=ACT length=32 release=MM\nMM engine=DENSE m=1 n=16 k=32 wait=LD\n"
                   "SYS op=END\n")
    out = tmp_path / "p.bfp"
    assert cli.main(["asm", str(src), "-o", str(out)]) == 0
    assert encoding.decode_program(out.read_bytes()) == asm.parse(src.read_text())
    capsys.readouterr()
    assert cli.main(["disasm", str(out), "--no-offsets"]) == 0
    text = capsys.readouterr().out
    assert asm.parse(text) == asm.parse(src.read_text())
    assert text.splitlines()[2] == "SYS op=END"


def test_cli_disasm_corrupt_file_reports_offset_and_field(tmp_path, capsys):
    blob = bytearray(encoding.encode_program([isa.make("SYS"), isa.make("MM")]))
    prog = tmp_path / "bad.bfp"
    prog.write_bytes(bytes(blob[:-3]))
    assert cli.main(["disasm", str(prog)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bitflight disasm: error: byte ") and "field 'n_words'" in err
    assert str(prog) in err and "\n" not in err


def test_cli_compile_json_and_disasm_bucket(tmp_path, capsys):
    import json
    out = tmp_path / "tiny"
    assert cli.main(["compile", "--model", "tiny-golden", "--config", "tiny", "--policy",
                     "flightllm", "--max-len", "32", "--no-weights", "--json", "-o",
                     str(out)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["buckets"] == 3 and set(stats["instructions"]) == set(isa.TYPES)
    assert stats["program_bytes"] == (out / "segments.bin").stat().st_size
    assert stats["compile_seconds"] > 0 and not (out / "image").exists()
    assert cli.main(["disasm", str(out), "--bucket", "decode:32", "--no-offsets"]) == 0
    text = capsys.readouterr().out
    instrs = asm.parse(text)
    assert instrs[-1] == isa.make("SYS", op=isa.SysOp.END)
    from bitflight.compiler.passes import tokens
    tokens.check(instrs, 32)
    assert cli.main(["compile", "--model", "tiny-golden", "--config", "tiny", "--policy",
                     "nope", "-o", str(out)]) == 2
    assert "unknown policy 'nope'" in capsys.readouterr().err
