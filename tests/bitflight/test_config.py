"""Config schema: shipped configs load with their sourced numbers; every bad input is a one-line
ConfigError naming the file and the key; configs are frozen."""
from pathlib import Path

import pydantic
import pytest

from bitflight.base import config
from bitflight.base.errors import BitflightError, ConfigError

TINY = (config.CONFIG_DIR / "tiny.yaml").read_text()


def write(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load_error(path) -> str:
    with pytest.raises(ConfigError) as info:
        config.load(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def edit(old: str, new: str) -> str:
    assert TINY.count(old) == 1, old
    return TINY.replace(old, new)


@pytest.mark.parametrize("name", config.available())
def test_every_shipped_config_loads(name):
    cfg = config.load(name)
    assert isinstance(cfg, config.Config) and cfg.name == name
    assert cfg.bitmod is not None or cfg.csd is not None
    assert config.load(config.CONFIG_DIR / f"{name}.yaml") == cfg
    for key in list(cfg.assumptions) + list(cfg.fitted):
        assert cfg.has_field(key)


def test_required_configs_are_shipped():
    assert {"tiny", "bitmod-asic", "u280"} <= set(config.available())


def test_u280_numbers():
    cfg = config.load("u280")
    assert cfg.clock_mhz == 225 and cfg.memory.kind == "hbm"
    assert cfg.memory.channels == 32 and cfg.memory.bandwidth_gbps == 460.0
    assert cfg.memory.channel_gbps == pytest.approx(14.375)
    csd = cfg.csd
    assert csd.chain_macs == 16 and csd.m == 16 and csd.n_options == (2, 4, 8, 16)
    assert csd.pack_two_macs and csd.dsps_per_chain == 8 and csd.macs_per_group == 4
    assert csd.act_bits == 8 and csd.acc_bits == 32 and csd.weight_bits == (4, 8)
    assert csd.total_macs == 16 * 16 * 16 * 3
    assert cfg.bytes_per_cycle == pytest.approx(460e9 / 225e6)


def test_bitmod_asic_numbers():
    cfg = config.load("bitmod-asic")
    bm = cfg.bitmod
    assert cfg.clock_mhz == 1000 and cfg.csd is None
    assert (bm.prefill_array.rows, bm.prefill_array.cols) == (32, 32)
    assert (bm.decode_array.rows, bm.decode_array.cols) == (64, 16)
    assert bm.prefill_array.pes == 1024 and bm.lanes == 4
    assert bm.weight_sram_kb == 512 and bm.act_sram_kb == 512
    assert cfg.bytes_per_cycle == 32.0                 # 256 bit per cycle


def test_tiny_has_both_engines():
    cfg = config.load("tiny")
    assert cfg.bitmod is not None and cfg.csd is not None


def test_configs_are_frozen():
    cfg = config.load("tiny")
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        cfg.clock_mhz = 1
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        cfg.csd.m = 8
    with pytest.raises(TypeError):
        cfg.csd.n_options[0] = 4                      # list fields load as tuples


@pytest.mark.parametrize("text, expected", [
    (TINY + "bogus: 1\n", "cfg.yaml: bogus: Extra inputs are not permitted"),
    (edit("  chain_macs: 16\n", "  chain_macs: 16\n  bogus: 3\n"),
     "cfg.yaml: csd.bogus: Extra inputs are not permitted"),
    (edit("  prefill_array: {rows: 2, cols: 2}", "  prefill_array: {rows: 2, cols: 2, depth: 1}"),
     "cfg.yaml: bitmod.prefill_array.depth: Extra inputs are not permitted"),
], ids=["top", "nested", "deep"])
def test_unknown_keys(tmp_path, text, expected):
    assert load_error(write(tmp_path, text)).endswith(expected)


@pytest.mark.parametrize("old, new, expected", [
    ("clock_mhz: 100", "clock_mhz: fast", "clock_mhz: Input should be a valid number"),
    ("clock_mhz: 100", 'clock_mhz: "100"', "clock_mhz: Input should be a valid number"),
    ("pack_two_macs: false", "pack_two_macs: 1",
     "csd.pack_two_macs: Input should be a valid boolean"),
    ("  chain_macs: 16", "  chain_macs: 16.5", "csd.chain_macs: Input should be a valid integer"),
    ("n_options: [2, 4, 8, 16]", "n_options: 4", "csd.n_options: Input should be a valid tuple"),
    ("n_options: [2, 4, 8, 16]", "n_options: [2, four]",
     "csd.n_options.1: Input should be a valid integer"),
    ("  kind: hbm", "  kind: sram", "memory.kind: Input should be 'hbm', 'dram' or 'ddr'"),
    ("dsp_family: xc7", "dsp_family: xc6", "csd.dsp_family: Input should be 'xc7' or 'xcup'"),
    ("  prefill_array: {rows: 2, cols: 2}", "  prefill_array: 4",
     "bitmod.prefill_array: Input should be a valid dictionary"),
], ids=["word", "quoted-number", "int-for-bool", "fraction", "scalar-for-list", "list-item", "enum",
        "literal", "scalar-for-map"])
def test_wrong_types(tmp_path, old, new, expected):
    message = load_error(write(tmp_path, edit(old, new)))
    assert message.startswith(f"{tmp_path / 'cfg.yaml'}: ") and expected in message


@pytest.mark.parametrize("old, new, expected", [
    ("  m: 16", "  m: 12", "cfg.yaml: csd.m: M must be a power of two, got 12"),
    ("  m: 16", "  m: 0", "cfg.yaml: csd.m: Input should be greater than 0"),
    ("n_options: [2, 4, 8, 16]", "n_options: [2, 3]",
     "cfg.yaml: csd: n_options: N=3 does not divide M=16"),
    ("n_options: [2, 4, 8, 16]", "n_options: [2, 32]",
     "cfg.yaml: csd: n_options: N=32 does not divide M=16"),
    ("clock_mhz: 100", "clock_mhz: -5", "cfg.yaml: clock_mhz: Input should be greater than 0"),
    ("  efficiency: 1.0", "  efficiency: 1.5",
     "cfg.yaml: memory.efficiency: Input should be less than or equal to 1"),
    ("  chain_macs: 16", "  chain_macs: 15",
     "cfg.yaml: csd: chain_macs 15 is not a multiple of the 2 MACs of one DSP group"),
    ("dsp_family: xc7", "dsp_family: xc7\n  dsp_instances: dsp48e2",
     "cfg.yaml: csd: dsp_instances dsp48e2 needs dsp_family xcup, not xc7"),
    ("dsp_family: xc7", "dsp_family: xc7\n  row_accumulator: dsp48e2",
     "cfg.yaml: csd: row_accumulator dsp48e2 needs dsp_family xcup, not xc7"),
    ("  group_size: 32", "  group_size: 30",
     "cfg.yaml: bitmod: group_size 30 is not a multiple of lanes 4"),
    ("decode_array: {rows: 4, cols: 1,", "decode_array: {rows: 4, cols: 2,",
     "cfg.yaml: bitmod: prefill_array and decode_array must have the same number of PEs (4 != 8)"),
    ("  lanes: 4\nbitmod:", "  lanes: 4\n  mul_stages: 7\nbitmod:",
     "cfg.yaml: sfu.mul_stages: Input should be less than or equal to 6"),
    ("tile: {rows: 2, cols: 1}", "tile: {rows: 0, cols: 1}",
     "cfg.yaml: bitmod.decode_array.tile.rows: Input should be greater than 0"),
    ("sram_banks: 2", "sram_banks: 6", "cfg.yaml: bitmod: sram_banks 6 is not a power of two"),
], ids=["m-not-pow2", "m-zero", "n-not-divisor", "n-above-m", "negative-clock", "efficiency",
        "chain-vs-group", "dsp48e2-needs-xcup", "row-dsp-needs-xcup", "group-vs-lanes", "array-pes",
        "sfu-fp-stages", "tile-zero", "banks-pow2"])
def test_impossible_values(tmp_path, old, new, expected):
    assert load_error(write(tmp_path, edit(old, new))).endswith(expected)


def test_no_engine(tmp_path):
    text = TINY.split("bitmod:")[0] + "assumptions: {}\n"
    assert load_error(write(tmp_path, text)).endswith(
        "cfg.yaml: (top level): a config needs at least one engine: bitmod or csd")


@pytest.mark.parametrize("section", ["assumptions", "fitted"])
@pytest.mark.parametrize("key", ["csd.bogus_field", "aux_memory.channels", "csd.total_macs",
                                 "nope"])
def test_notes_must_name_existing_fields(tmp_path, section, key):
    """aux_memory is absent in tiny, and total_macs is a property, not a field."""
    text = TINY if section == "assumptions" else TINY + "fitted:\n"
    message = load_error(write(tmp_path, text + f"  {key}: a note\n"))
    assert message.endswith(
        f"cfg.yaml: (top level): {section}: '{key}' names no field of this config")


def test_several_errors_are_counted_on_one_line(tmp_path):
    message = load_error(write(tmp_path, TINY + "bogus: 1\nother: 2\n"))
    assert message.endswith("cfg.yaml: bogus: Extra inputs are not permitted (and 1 more)")


def test_missing_file_and_unknown_name(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert load_error(missing) == f"{missing}: config file not found"
    assert load_error(tmp_path) == f"{tmp_path}: config file not found"
    message = load_error("no-such-config")
    assert message.startswith("unknown config 'no-such-config' (built-in: ") and "tiny" in message


@pytest.mark.parametrize("text, expected", [
    (edit("n_options: [2, 4, 8, 16]", "n_options: [2, 4"), "cfg.yaml: line 36: not valid YAML"),
    ("name: x\n\tclock_mhz: 1\n", "cfg.yaml: line 2: not valid YAML"),
    ("- 1\n- 2\n", "cfg.yaml: (top level): expected a mapping of keys"),
    ("", "cfg.yaml: (top level): expected a mapping of keys"),
], ids=["unclosed", "tab", "list", "empty"])
def test_bad_yaml(tmp_path, text, expected):
    assert load_error(write(tmp_path, text)).endswith(expected)


def test_config_error_is_a_value_error_and_bitflight_error(tmp_path):
    with pytest.raises(ValueError):
        config.load(tmp_path / "nope.yaml")
    assert issubclass(ConfigError, BitflightError)


def test_edited_file_is_reloaded(tmp_path):
    path = write(tmp_path, TINY)
    assert config.load(path).clock_mhz == 100
    path.write_text(edit("clock_mhz: 100", "clock_mhz: 250"))
    assert config.load(path).clock_mhz == 250


def test_name_and_path_resolution():
    assert config.resolve("tiny") == config.CONFIG_DIR / "tiny.yaml"
    assert config.load("tiny") is config.load("tiny")            # cached while unchanged
