"""Pareto fronts against the definition (brute force), the chosen design, joined area."""
from hypothesis import given
from hypothesis import strategies as st

from bitflight.sim.dse import metrics, pareto
from bitflight.sim.dse.spec import Bound, Choose

GOALS = st.sampled_from(["min", "max"])


def _dominates(a, b, goals) -> bool:
    better = [(x <= y) if g == "min" else (x >= y) for x, y, g in zip(a, b, goals)]
    strictly = [(x < y) if g == "min" else (x > y) for x, y, g in zip(a, b, goals)]
    return all(better) and any(strictly)


@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), max_size=30), GOALS, GOALS)
def test_front_is_exactly_the_non_dominated_points(values, gx, gy):
    goals = (gx, gy)
    expected = {i for i, v in enumerate(values)
                if not any(_dominates(w, v, goals) for w in values)}
    got = pareto.front(values, goals)
    assert set(got) == expected and len(got) == len(set(got))
    xs = [values[i][0] for i in got]
    assert xs == sorted(xs, reverse=gx == "max")


def test_front_by_hand():
    # maximize tokens/s (y), minimize LUT (x): (3, 10) is dominated by (2, 10)
    values = [(1, 5), (2, 10), (3, 10), (4, 12), (4, 11), (0.5, 1)]
    assert pareto.front(values, ("min", "max")) == [5, 0, 1, 3]


def _rec(key, **m):
    return {"key": key, "status": "ok", "params": {}, **m}


def test_choose_respects_constraints_and_where():
    recs = [_rec("a", tps=10.0, ppl=50.0, lut=1), _rec("b", tps=8.0, ppl=20.0, lut=1),
            _rec("c", tps=9.0, ppl=10.0, lut=5), _rec("d", tps=None, ppl=1.0, lut=1)]
    rule = Choose.model_construct(maximize="tps", minimize=None, where={"ppl": Bound(max=30.0)})
    pick, how = pareto.choose(recs, rule, {"lut": Bound(max=2)})
    assert pick["key"] == "b"
    assert how == "maximize tps over the 1 points that meet lut <= 2, ppl <= 30"
    none, why = pareto.choose(recs, rule, {"lut": Bound(min=9)})
    assert none is None and "no point has tps" in why


def test_area_is_the_scaled_sum_over_engines_and_waits_for_every_part():
    synth = {"k1": {"status": "ok", "reason": None,
                    "resources": dict.fromkeys(metrics.AREA_FIELDS, 0) | {"lut": 100, "dsp": 2}},
             "k2": {"status": "ok", "reason": None,
                    "resources": dict.fromkeys(metrics.AREA_FIELDS, 0) | {"lut": 7}}}
    parts = [{"key": "k1", "scale": 3.0, "target": "a"}, {"key": "k2", "scale": 2.0, "target": "b"}]
    total, note = metrics.area_of(parts, synth)
    assert note is None and total["lut"] == 314.0 and total["dsp"] == 6.0
    missing, why = metrics.area_of(parts + [{"key": "k3", "scale": 1, "target": "c"}], synth)
    assert missing is None and why == "c: synthesis pending"
    rec = {"decode_tokens_per_s": 50.0, "prefill_tokens_per_s": 400.0, "lut": 2000.0}
    metrics.derive(rec)
    assert rec["decode_tokens_per_s_per_klut"] == 25.0
    assert rec["prefill_tokens_per_s_per_klut"] == 200.0


def test_area_counts_both_bitmod_arrays_the_top_builds():
    # the RTL top builds the prefill array (MM queue) and the decode array (MV queue) as two
    # engines, so a design's area is both, each clipped and scaled by its own PEs; the decode
    # column keeps a whole band of 16 rows (one row unit, as in the full column)
    from bitflight.base.config import CONFIG_DIR, load
    from bitflight.sim.dse import area
    design = load(CONFIG_DIR / "designs/u280-bitmod.yaml")     # one 1024 x 1 column for both
    b = design.bitmod
    two = design.model_copy(update={"bitmod": b.model_copy(update={
        "prefill_array": b.prefill_array.model_copy(update={"rows": 16, "cols": 32,
                                                            "tile": None, "band": 1}),
        "decode_array": b.decode_array.model_copy(update={"rows": 512})})})
    parts = area.reduced_synth(two, {})
    assert [p.target for p in parts] == ["bitmod-array", "bitmod-array"]
    assert [p.scale for p in parts] == [512 / 16, 512 / 16]
    shapes = [(p.config.bitmod.prefill_array.rows, p.config.bitmod.prefill_array.cols)
              for p in parts]
    assert shapes == [(4, 4), (16, 1)]
    assert parts[1].config.bitmod.prefill_array.tile == b.decode_array.tile
    assert parts[1].note == "decode: 16x1 of 512x1 PEs"
    # a decode array of the prefill array's shape is that array: the top builds it once
    assert [(p.target, p.scale, p.note) for p in area.reduced_synth(design, {})] == [
        ("bitmod-array", 1024 / 16, "prefill: 16x1 of 1024x1 PEs")]
