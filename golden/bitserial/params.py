"""Widths and number formats of the BitMoD bit-serial datapath (one definition for golden and RTL).

Every internal quantity is an integer *mantissa* with an integer *exponent*; its real value is
``mantissa * 2**(exponent - Datapath.lsb_offset)`` in units of (activation) x (integer-scaled
weight level). The offset is ``15 + 10 + guard_bits``: fp16 bias, fp16 fraction bits and the lane
guard bits, so a lane product of an fp16 significand ``sig`` (11 bits) with exponent field ``e``
and a weight term ``2**shift`` is ``(sig << guard) * 2**(e + shift - lsb_offset)`` exactly.

Truncation everywhere is *floor* (an arithmetic right shift of a two's complement value), which
is what a signed barrel shifter does; the sign is applied before any shift.
"""
from __future__ import annotations

from dataclasses import dataclass

FP16_BIAS = 15
FP16_FRAC = 10
FP16_SIG_BITS = FP16_FRAC + 1   # significand with the hidden bit
FP16_EXP_MAX = 30          # largest finite exponent field; 31 is inf/NaN (rejected)


@dataclass(frozen=True)
class Datapath:
    """Parameters of one PE. Defaults follow BitMoD's PE (docs/references.md#bitmod-2.3) where it
    states them."""
    lanes: int = 4            # dot-product lanes per PE (pe_dp_size)
    guard_bits: int = 3       # bs_mul: 11-bit significand right-aligned into 14 bits
    acc_bits: int = 24        # signed group-accumulator mantissa (17-bit partials, 2^7 of headroom)
    out_bits: int = 40        # signed cross-group accumulator mantissa (32-bit dequantized sums)
    exp_bits: int = 6         # unsigned exponent registers: 30 (fp16) + 7 (int8 Booth) + growth
    out_exp_bits: int = 8     # signed exponent of a dequantized group and of the output
    #                           accumulator: group exponent 0..63 + fp16 group scale -24..5

    def __post_init__(self) -> None:
        if self.lanes < 1 or self.guard_bits < 0:
            raise ValueError(f"Datapath: bad lanes={self.lanes} or guard_bits={self.guard_bits}")
        if self.acc_bits < self.partial_bits + 1:
            raise ValueError(f"Datapath: acc_bits {self.acc_bits} < partial width "
                             f"{self.partial_bits} + 1")

    @property
    def lsb_offset(self) -> int:
        return FP16_BIAS + FP16_FRAC + self.guard_bits

    @property
    def lane_bits(self) -> int:
        """Signed width of one aligned lane product: 11-bit significand + guard bits + sign."""
        return FP16_FRAC + 1 + self.guard_bits + 1

    @property
    def partial_bits(self) -> int:
        """Signed width of the adder-tree sum of ``lanes`` lane products."""
        return self.lane_bits + max(self.lanes - 1, 0).bit_length()

    def dequant_bits(self, scale_bits: int) -> int:
        """Signed width of a group sum times an unsigned ``scale_bits``-bit integer scale."""
        return self.acc_bits + scale_bits

    def check_exp(self, exp: int, what: str, signed: bool = False) -> int:
        """``exp`` if it fits the hardware's exponent register, else ValueError: golden computes
        with unbounded integers, so a value the RTL would wrap must not pass silently."""
        bits = self.out_exp_bits if signed else self.exp_bits
        lo, hi = (-(1 << bits - 1), (1 << bits - 1) - 1) if signed else (0, (1 << bits) - 1)
        if not lo <= exp <= hi:
            raise ValueError(f"{what} exponent {exp} leaves the {bits}-bit "
                             f"{'signed' if signed else 'unsigned'} register [{lo}, {hi}]")
        return exp


DEFAULT = Datapath()


def fp16_fields(bits: int) -> tuple[int, int, int]:
    """fp16 bit pattern -> (sign, effective exponent, 11-bit significand).

    Subnormals get the effective exponent 1 and no hidden bit, so ``sig * 2**(exp - 25)`` is the
    magnitude for every finite input; zeros give ``sig == 0``. Inf/NaN raise ValueError: the PE
    has no special-value path.
    """
    sign, exp, frac = bits >> 15 & 1, bits >> 10 & 0x1F, bits & 0x3FF
    if exp > FP16_EXP_MAX:
        raise ValueError(f"activation fp16 0x{bits:04x} is inf or NaN; the BitMoD PE takes "
                         "finite activations only")
    return sign, max(exp, 1), (frac | 0x400) if exp else frac
