"""golden.formats against docs/references.md#bitmod-1.1 to 1.2 / #bitmod-5, the OCP bit patterns and
radix-4 Booth.

Every expected value here is written out from the reference text or computed by an independent
formula (E2M1 / E2M0 bit fields, two's complement, Booth recoding), never read from the module.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from bitflight.golden import formats

E2M1_X2 = [-12, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 12]
# Integer-scaled levels exactly as docs/references.md#bitmod-1.1 / #bitmod-1.2 list them; fp4 real =
# integer / 2.
LISTED = {
    "fp3": ([-4, -2, -1, 0, 1, 2, 4], 1.0),
    "fp3_er_pos": ([-4, -2, -1, 0, 1, 2, 3, 4], 1.0),
    "fp3_er_neg": ([-4, -3, -2, -1, 0, 1, 2, 4], 1.0),
    "fp3_ea_pos": ([-4, -2, -1, 0, 1, 2, 4, 6], 1.0),
    "fp3_ea_neg": ([-6, -4, -2, -1, 0, 1, 2, 4], 1.0),
    "fp4_e2m1": (E2M1_X2, 0.5),
    "fp4_er_pos": (sorted(E2M1_X2 + [10]), 0.5),
    "fp4_er_neg": (sorted(E2M1_X2 + [-10]), 0.5),
    "fp4_ea_pos": (sorted(E2M1_X2 + [16]), 0.5),
    "fp4_ea_neg": (sorted(E2M1_X2 + [-16]), 0.5),
    "flint4": ([-16, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 16], 1.0),
    "int3": (list(range(-3, 4)), 1.0),
    "int4": (list(range(-7, 8)), 1.0),
    "int6": (list(range(-31, 32)), 1.0),
    "int8": (list(range(-127, 128)), 1.0),
}
SPECIAL = {"fp3_er_pos": 3, "fp3_er_neg": -3, "fp3_ea_pos": 6, "fp3_ea_neg": -6,
           "fp4_er_pos": 5, "fp4_er_neg": -5, "fp4_ea_pos": 8, "fp4_ea_neg": -8}
NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
       -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
       0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
       0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0]
BIT_SERIAL = [n for n in LISTED]
FP_LIKE = [n for n in LISTED if not n.startswith("int")]


@pytest.mark.parametrize("name", LISTED)
def test_levels_exactly_as_listed(name):
    ints, unit = LISTED[name]
    f = formats.get(name)
    assert f.levels.dtype == np.float64
    assert f.levels.tolist() == [v * unit for v in ints]
    assert f.int_levels.tolist() == ints
    assert f.unit == unit
    assert f.qmax == max(abs(v) for v in ints)
    assert f.bits == (3 if name.startswith("fp3") or name == "int3" else int(name[-1])
                      if name.startswith("int") else 4)


def test_nf4_table_and_fp16():
    f = formats.get("nf4")
    assert f.levels.tolist() == NF4 and f.int_levels is None and f.bits == 4
    assert f.decode(np.arange(16)).tolist() == NF4          # code = index into the table
    h = formats.get("fp16")
    assert h.bits == 16 and h.int_levels is None
    assert len(h.levels) == 2 * (2 ** 15 - 2 ** 10) - 1      # finite values, +0 and -0 merged


@pytest.mark.parametrize("name", SPECIAL)
def test_bitmod_special_value_sits_in_the_negative_zero_code(name):
    f = formats.get(name)
    minus_zero = 1 << (f.bits - 1)
    assert f.special == SPECIAL[name]
    assert f.decode(minus_zero) == SPECIAL[name]
    assert len(f.codes) == 2 ** f.bits                         # every code is used
    assert f.dtype_id == formats.BITMOD_CANDIDATES[f.bits].index(name)


def test_candidate_order():
    assert formats.BITMOD_CANDIDATES == {
        3: ("fp3_er_pos", "fp3_er_neg", "fp3_ea_pos", "fp3_ea_neg"),
        4: ("fp4_er_pos", "fp4_er_neg", "fp4_ea_pos", "fp4_ea_neg")}


def _e2m1(code):
    s, e, m = code >> 3, (code >> 1) & 3, code & 1
    mag = m * 0.5 if e == 0 else 2.0 ** (e - 1) * (1 + m / 2)
    return -mag if s else mag


def _e2m0(code):
    s, e = code >> 2, code & 3
    mag = 0.0 if e == 0 else 2.0 ** (e - 1)
    return -mag if s else mag


@pytest.mark.parametrize("name", [n for n in FP_LIKE if n.startswith("fp")])
def test_fp_codes_are_the_ocp_bit_patterns(name):
    f = formats.get(name)
    decode_bits = _e2m1 if f.bits == 4 else _e2m0
    for code in range(2 ** f.bits):
        if code == 1 << (f.bits - 1):
            continue                                   # -0: special value or unused
        assert f.decode(code) == decode_bits(code), hex(code)


def test_flint4_codes_are_sign_magnitude():
    f = formats.get("flint4")
    for m, mag in enumerate([0, 1, 2, 3, 4, 6, 8, 16]):
        assert f.decode(m) == mag
        if m:
            assert f.decode(8 | m) == -mag


@pytest.mark.parametrize("bits", [3, 4, 6, 8])
def test_int_codes_are_twos_complement(bits):
    f = formats.get(f"int{bits}")
    for code in range(2 ** bits):
        value = code - 2 ** bits if code >= 2 ** (bits - 1) else code
        if value == -2 ** (bits - 1):
            with pytest.raises(ValueError):
                f.decode(code)
        else:
            assert f.decode(code) == value


@pytest.mark.parametrize("name,unused", [("fp3", 0b100), ("fp4_e2m1", 0b1000),
                                         ("flint4", 0b1000), ("int4", 0b1000), ("int8", 0x80)])
def test_unused_codes(name, unused):
    f = formats.get(name)
    assert unused not in f.codes.tolist()
    assert len(f.codes) == 2 ** f.bits - 1
    with pytest.raises(ValueError):
        f.decode(unused)


@pytest.mark.parametrize("name", list(LISTED) + ["nf4"])
def test_encode_decode_round_trip_on_every_code(name):
    f = formats.get(name)
    values = f.decode(f.codes)
    assert np.array_equal(f.encode(values), f.codes)
    assert np.array_equal(np.sort(values), f.levels)


def test_fp16_round_trip_and_unused_codes():
    f = formats.get("fp16")
    codes = np.arange(2 ** 16, dtype=np.uint16)
    finite = np.isfinite(codes.view(np.float16))
    assert np.array_equal(f.codes, codes[finite])
    assert np.array_equal(f.encode(f.decode(f.codes)), f.codes)    # -0 keeps its own code
    with pytest.raises(ValueError):
        f.decode(0x7C00)                                             # +inf is not a level
    with pytest.raises(ValueError):
        f.encode(0.1)


@pytest.mark.parametrize("name", list(LISTED) + ["nf4"])
def test_encode_rejects_values_off_the_grid(name):
    f = formats.get(name)
    mid = (f.levels[0] + f.levels[1]) / 2
    with pytest.raises(ValueError, match=name):
        f.encode([f.levels[0], mid])


@pytest.mark.parametrize("name", BIT_SERIAL)
def test_terms_reconstruct_every_level(name):
    f = formats.get(name)
    for code in f.codes:
        terms = f.terms(int(code))
        level = f.decode(code) / f.unit
        assert sum(s * 2 ** k for s, k in terms) == level
        assert all(s in (1, -1) and k >= 0 for s, k in terms)
        assert len(terms) <= f.term_slots
        if name in FP_LIKE:
            assert len(terms) <= 2


def _booth_digits(value, bits):
    """Radix-4 Booth digits d_k = -2 b(2k+1) + b(2k) + b(2k-1) of a two's complement value."""
    digits, n = [], (bits + 1) // 2
    pattern = value & ((1 << 2 * n) - 1)
    bit = lambda i: (pattern >> i) & 1 if i >= 0 else 0
    for k in range(n):
        digits.append(-2 * bit(2 * k + 1) + bit(2 * k) + bit(2 * k - 1))
    return digits


@pytest.mark.parametrize("bits", [3, 4, 6, 8])
def test_int_terms_are_booth_digits(bits):
    f = formats.get(f"int{bits}")
    for code in f.codes:
        value = int(f.decode(code))
        expect = tuple((1 if d > 0 else -1, 2 * k + (abs(d) == 2))
                       for k, d in enumerate(_booth_digits(value, bits)) if d)
        assert f.terms(int(code)) == expect
    assert f.terms(7 if bits == 4 else 1) == (((-1, 0), (1, 3)) if bits == 4 else ((1, 0),))


def test_term_slots():
    assert [formats.get(f"int{b}").term_slots for b in (3, 4, 6, 8)] == [2, 2, 3, 4]
    assert all(formats.get(n).term_slots == 2 for n in FP_LIKE)
    assert formats.get("nf4").term_slots is None and formats.get("fp16").term_slots is None


@pytest.mark.parametrize("name", ["nf4", "fp16"])
def test_terms_reject_non_bit_serial(name):
    with pytest.raises(ValueError, match=name):
        formats.get(name).terms(1)


@pytest.mark.parametrize("name", list(LISTED) + ["nf4"])
@given(x=st.floats(-40, 40, allow_nan=False))
def test_round_to_grid_is_nearest_with_ties_down(name, x):
    f = formats.get(name)
    got = float(f.decode(f.round_to_grid(np.array([x])))[0])
    lv = f.levels
    if x <= lv[0]:
        assert got == lv[0]
    elif x >= lv[-1]:
        assert got == lv[-1]
    else:
        best = np.min(np.abs(lv - x))
        assert abs(got - x) == best
        ties = lv[np.abs(lv - x) == best]
        assert got == ties.min()


@pytest.mark.parametrize("name", LISTED)
def test_round_to_grid_exact_midpoints_go_down(name):
    f = formats.get(name)
    mids = (f.levels[:-1] + f.levels[1:]) / 2
    assert np.array_equal(f.decode(f.round_to_grid(mids)), f.levels[:-1])


def test_mxfp4_block_format():
    mx = formats.get("mxfp4")
    assert (mx.block, mx.scale_bits, mx.bits, mx.element.name) == (32, 8, 4, "fp4_e2m1")
    got = mx.shared_exp(np.array([6.0, 0.0, 1.0, 7.99, 8.0, 2.0 ** -130, 2.0 ** 127]))
    assert got.tolist() == [0, 0, -2, 0, 1, -127, 125]


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown format 'fp5'"):
        formats.get("fp5")
    assert set(LISTED) | {"nf4", "fp16", "mxfp4"} <= set(formats.names())


@pytest.mark.parametrize("name", formats.names())
def test_every_registered_format_has_the_registry_interface(name):
    f = formats.get(name)
    assert f.name == name and isinstance(f.bits, int)
    assert np.all(np.diff(f.levels) > 0)                     # sorted, distinct
    assert np.array_equal(np.sort(f.decode(f.encode(f.levels))), f.levels)
    assert callable(f.terms)


def test_mxfp4_elements_are_e2m1_and_scale_is_separate():
    mx = formats.get("mxfp4")
    assert mx.levels.tolist() == [v * 0.5 for v in E2M1_X2]
    for code in range(16):
        if code == 0b1000:
            with pytest.raises(ValueError):
                mx.decode(code)                              # -0 is unused in E2M1
            continue
        assert mx.decode(code) == _e2m1(code)
        assert sum(s * 2 ** k for s, k in mx.terms(code)) * 0.5 == _e2m1(code)
    assert mx.term_slots == 2


@pytest.mark.parametrize("bits", [3, 4, 6, 8])
def test_int_encode_rejects_the_unused_code_out_of_range_and_nan(bits):
    f = formats.get(f"int{bits}")
    top = 2 ** (bits - 1) - 1
    for bad in (-(top + 1), top + 1, 0.5, np.nan, np.inf):
        with pytest.raises(ValueError, match=f"int{bits}"):
            f.encode([0, bad])
    grid = np.arange(-top, top + 1, dtype=np.float64).reshape(1, -1)
    codes = f.encode(grid)
    assert codes.shape == grid.shape and codes.dtype == np.uint16
    assert codes.tolist() == [[v % 2 ** bits for v in range(-top, top + 1)]]
    assert f.encode(-0.0) == 0
