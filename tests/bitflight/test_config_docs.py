"""docs/config.md carries the generated schema tables; they must not drift from the code."""
from pathlib import Path

from bitflight.base import config
from bitflight.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def test_docs_embed_current_schema():
    assert config.schema_markdown() in DOC.read_text()


def test_schema_lists_every_engine_field():
    text = config.schema_markdown()
    for model in (config.BitmodEngine, config.CsdEngine, config.Memory, config.Buffers):
        for key in model.model_fields:
            assert f"| {key} |" in text


def test_cli_config_list_and_show(capsys):
    assert main(["config", "list"]) == 0
    out = capsys.readouterr().out
    assert {"tiny", "u280", "bitmod-asic"} <= {line.split()[0] for line in out.splitlines()}
    assert main(["config", "show", "u280"]) == 0
    assert '"clock_mhz": 225.0' in capsys.readouterr().out


def test_cli_config_error_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text((config.CONFIG_DIR / "tiny.yaml").read_text().replace("m: 16", "m: 12"))
    assert main(["config", "validate", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.yaml: csd.m: M must be a power of two, got 12" in err
