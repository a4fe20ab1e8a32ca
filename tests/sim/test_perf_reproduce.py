"""The reproductions stay within their tolerances; fitted parameters are what the configs hold."""
import pytest

from bitflight.base import config
from bitflight.golden.model_shapes import load_shape
from bitflight.sim.perf import analyze, compare
from bitflight.sim.perf.reproduce import bitmod, flightllm, run


@pytest.mark.parametrize("name", ["bitmod", "flightllm", "llm-viewer"])
def test_reproduction_within_tolerance(name):
    rows = run(name)
    assert rows
    bad = [f"{r.name}: ours {r.ours:.6g} vs {r.paper:.6g} ({r.error:+.1%})" for r in rows
           if not r.ok]
    assert not bad, bad


@pytest.mark.parametrize("model, acc", [("opt-1.3b", "FP16"), ("opt-1.3b", "ANT"),
                                        ("opt-1.3b", "OliVe"), ("llama2-7b", "FP16")])
def test_bitmod_cycles_exact(model, acc):
    """Exact cycle counts of the authors' model (256-token prefill; docs/references.md#bitmod-3.3
    to 3.4)."""
    assert bitmod.cycles(acc, model)[0] == bitmod.PUBLISHED_CYCLES[(model, acc)]


def test_bitmod_headline_speedups_within_10_percent():
    for base, headline in (("ANT", 1.69), ("OliVe", 1.48)):
        s = bitmod.speedups(base, "BitMoD-lossy")
        assert (s["discriminative"] + s["generative"]) / 2 == pytest.approx(headline, rel=0.10)


def test_bitmod_kv_cycles_is_the_fit():
    assert bitmod.fit_kv_cycles() == config.load("bitmod-asic").bitmod.kv_cycles
    assert "bitmod.kv_cycles" in config.load("bitmod-asic").fitted


def test_u280_efficiency_is_the_fit():
    u = config.load("u280")
    assert flightllm.fit_u280_efficiency() == pytest.approx(u.memory.efficiency, abs=5e-4)
    assert u.memory.kv_efficiency == pytest.approx(u.memory.efficiency * flightllm.KV_RATIO)
    assert "memory.efficiency" in u.fitted


def test_only_one_fitted_number_per_platform():
    rows = run("flightllm")
    assert [r.name for r in rows if r.note == "fitted"] == \
        ["U280 LLaMA-2-7B decode tokens/s at KV 128"]
    assert config.load("vhk158").fitted == {}
    # bitmod: one number per fitted parameter (kv_cycles on a cycle count, the SRAM energy on
    # an energy ratio), and the config names exactly those two
    assert [r.name for r in run("bitmod") if r.note == "fitted"] == \
        ["llama2-7b prefill-256 cycles, BitMoD-lossy",
         "ANT energy over FP16, discriminative (mean of 6 models)"]
    assert set(config.load("bitmod-asic").fitted) == {"bitmod.kv_cycles",
                                                      "energy.sram_read_pj_per_bit"}


def test_bitmod_sram_energy_is_the_fit():
    e = bitmod.fit_sram_pj_per_bit()
    for name in ("bitmod-asic", "baselines/fp16-asic.yaml", "baselines/ant-asic.yaml",
                 "baselines/olive-asic.yaml"):
        cfg = config.load(name) if "/" not in name else config.load(config.CONFIG_DIR / name)
        assert cfg.energy.sram_read_pj_per_bit == cfg.energy.sram_write_pj_per_bit
        assert cfg.energy.sram_read_pj_per_bit == pytest.approx(e, abs=5e-4), name


def test_design_point_shares_the_u280_memory_system():
    ours = config.load(config.CONFIG_DIR / "designs/u280-bitmod.yaml")
    u = config.load("u280")
    assert ours.memory == u.memory and ours.clock_mhz == u.clock_mhz


def test_design_rows_limits_and_bytes():
    """FlightLLM streams at the fitted HBM rate. The BitMoD design is one 1024-row column that
    serves prefill and decode (the top builds one array when the two shapes are the same): W3
    (2.7 GB per token) is compute-bound, within 15 % under the column's peak of 1024 PEs x 4
    lanes / 2 term cycles per weight (every BitMoD type takes at most two terms; below it: the
    11008-row MLP in row tiles of 1024 is 2 % padding, the embedding is a lookup, the attention
    steps and a few instructions are memory-bound); W4's extra bytes make it memory-bound."""
    rows = compare.design_rows()
    by_name = {r.policy: r for r in rows}
    assert {p: r.limiting_unit for p, r in by_name.items()} == {
        "flightllm-int4": "memory", "flightllm": "memory", "bitmod-w4-g128": "memory",
        "bitmod-w3-g128": "compute", "bitmod-w3-nm8": "memory", "bitmod-w3-nm4": "memory"}
    assert by_name["bitmod-w3-g128"].bytes_per_token < by_name["bitmod-w4-g128"].bytes_per_token
    ours = config.load(config.CONFIG_DIR / "designs/u280-bitmod.yaml")
    assert ours.bitmod.prefill_array == ours.bitmod.decode_array
    pes = ours.bitmod.decode_array.rows * ours.bitmod.decode_array.cols
    assert pes == 1024
    weights = load_shape("llama2-7b").parameter_count()
    peak = pes * ours.bitmod.lanes / 2 * ours.clock_mhz * 1e6 / weights
    assert 0.85 * peak < by_name["bitmod-w3-g128"].tokens_per_s < peak
    assert by_name["bitmod-w4-g128"].tokens_per_s < by_name["bitmod-w3-g128"].tokens_per_s
    # N:M skips the pruned weights' term cycles, but each kept 3-bit value carries a 4-bit
    # index: 8:16 moves more bytes than dense W3 (3.5 bits per weight) and, memory-bound, runs
    # slower; 4:16 (1.75 bits) runs faster than both
    w3, nm8, nm4 = (by_name[p] for p in ("bitmod-w3-g128", "bitmod-w3-nm8", "bitmod-w3-nm4"))
    assert w3.bytes_per_token < nm8.bytes_per_token and nm4.bytes_per_token < w3.bytes_per_token
    assert nm8.tokens_per_s < w3.tokens_per_s < nm4.tokens_per_s
    for r in rows:
        assert 0 < r.roofline_fraction <= config.load("u280").memory.efficiency
    # The project's FlightLLM policy prunes the MLP to 8:16 with 4-bit values: 0.5 x (4 value +
    # 4 index bits) is the dense 4 bits again, so its bytes stay within 2% of dense INT4.
    assert by_name["flightllm"].bytes_per_token == pytest.approx(
        by_name["flightllm-int4"].bytes_per_token, rel=0.02)


def test_clock_rows_compute_bound_rows_follow_the_clock():
    by_clock = compare.clock_rows((150, 225))
    slow, fast = ({r.policy: r for r in by_clock[c]} for c in (150, 225))
    w3, w4 = "bitmod-w3-g128", "bitmod-w4-g128"
    assert slow[w3].limiting_unit == fast[w3].limiting_unit == "compute"
    # compute-bound: the step's cycles do not change, its seconds scale with 1 / clock (the
    # few memory-bound instructions inside the step keep it within 2 %)
    assert slow[w3].tokens_per_s / fast[w3].tokens_per_s == pytest.approx(150 / 225, rel=0.02)
    # W4 moves a third more bytes: compute-bound at 150 MHz, memory-bound at 225
    assert (slow[w4].limiting_unit, fast[w4].limiting_unit) == ("compute", "memory")
    assert {r.bytes_per_token for r in by_clock[150]} == {r.bytes_per_token for r in by_clock[225]}


def test_run_tokens_per_second_and_kv_progression():
    from bitflight.golden.model_shapes import load_shape
    from bitflight.sim.perf.policy import PRESETS
    s = load_shape("smollm2-135m")
    run_ = analyze.analyze(s, config.load("u280"), PRESETS["flightllm-int4"], 10, 5)
    assert [p.kv_len for p in run_.decode] == [11, 12, 13, 14, 15]
    assert run_.decode_tokens_per_second == pytest.approx(5 / sum(p.seconds for p in run_.decode))
    with pytest.raises(ValueError, match="exceeds the model's max_position 8192"):
        analyze.analyze(s, config.load("u280"), PRESETS["flightllm-int4"], 8000, 500)


def test_footprint_and_capacity():
    """FP16 LLaMA-2-7B: 2 bytes per parameter except the norms, plus the K/V cache."""
    from bitflight.golden.model_shapes import load_shape
    from bitflight.sim.perf.policy import PRESETS
    s = load_shape("llama2-7b")
    norms = (2 * s.layers + 1) * s.hidden
    kv = 2 * s.layers * s.kv_dim * 100 * 2
    expected = 2 * (s.parameter_count() - norms) + kv
    assert analyze.footprint_bytes(s, PRESETS["fp16"], 100) == expected
    run_ = analyze.analyze(load_shape("llama2-13b"), config.load("bitmod-asic"),
                           PRESETS["bitmod-w4-g128"], 4, 1)
    assert not run_.fits_memory and run_.summary()["capacity_bytes"] == 1e9
