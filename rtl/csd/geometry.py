"""Geometry and cycle timing of one CSD chain, derived from the hardware config only.

A chain has ``slices`` DSP slices (``csd.dsps_per_chain``) in groups of ``dsps_per_group``. Each
slice multiplies one kept weight by the activation its sparse mux selects, for one token, or for two
tokens when ``csd.pack_two_macs`` puts two MACs in one DSP (the tokens share the weight).

A *pass* is one input beat: every slice gets one (weight, index) pair. For a block with N kept
weights per row, the slices form segments of ``S = min(N, slices)``: each segment is one row's dot
product over N kept pairs (or, when N > slices, a partial over ``slices`` of them, and the row
needs ``N / slices`` passes). A pass therefore yields ``slices / S`` results per token. (The
cascade itself is never cut; reduction.py takes segments as differences of group taps.)

FlightLLM (docs/references.md#flightllm-3.1) says "N outputs per cycle under N:M". A chain of M
slices that
keeps every DSP busy gives M / N, which equals N only for the paper's 2:4 figure and for 4:16; we
build ``slices / S``, and docs/rtl/csd.md discusses the difference.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...base.errors import ConfigError
from ...golden import dsp_packing

MAC_PIPELINE = 3          # A/B register, M register, P register of every slice


@dataclass(frozen=True)
class ChainGeometry:
    slices: int            # DSP slices in the chain
    group: int             # DSP slices per DSP group (fixed cascade inside)
    m: int                 # N:M block size
    n_options: tuple[int, ...]
    packed: bool           # two tokens per slice
    acc_bits: int
    weight_bits: tuple[int, ...] = (4, 8)
    primitive: str = "inferred"   # csd.dsp_instances: "inferred" or "dsp48e2" (rtl/csd/dsp48e2.py)
    row_accumulator: str = "fabric"   # csd.row_accumulator: "fabric" or "dsp48e2"

    @classmethod
    def from_config(cls, cfg) -> "ChainGeometry":
        if cfg.csd is None:
            raise ConfigError(f"config '{cfg.name}': csd: this config has no CSD engine")
        c = cfg.csd
        geo = cls(slices=c.dsps_per_chain, group=c.dsps_per_group, m=c.m,
                  n_options=tuple(sorted(c.n_options)), packed=c.pack_two_macs,
                  acc_bits=c.acc_bits, weight_bits=tuple(c.weight_bits),
                  primitive=c.dsp_instances, row_accumulator=c.row_accumulator)
        geo.check(cfg.name)
        return geo

    def check(self, name: str = "config") -> None:
        for n in self.n_options:
            seg = self.segment(n)
            if seg % self.group or self.slices % seg:
                raise ConfigError(f"{name}: csd.n_options: N={n} gives segments of {seg} slices, "
                                 f"which do not tile a chain of {self.slices} slices in groups "
                                 f"of {self.group}")

    # --- structure -------------------------------------------------------------------------
    @property
    def tokens(self) -> int:
        """Tokens per pass: 2 when two MACs share a DSP."""
        return 2 if self.packed else 1

    @property
    def groups(self) -> int:
        return self.slices // self.group

    @property
    def index_bits(self) -> int:
        return (self.m - 1).bit_length()

    def segment(self, n: int) -> int:
        """Slices per segment (one row's partial dot product) for blocks with N kept per row."""
        return min(n, self.slices)

    def results_per_pass(self, n: int) -> int:
        """Results per token per pass."""
        return self.slices // self.segment(n)

    def passes_per_row(self, n: int) -> int:
        """Passes one row of one block needs (more than one only when N > slices)."""
        return max(1, n // self.slices)

    @property
    def max_results(self) -> int:
        return max(self.results_per_pass(n) for n in self.n_options)

    def result_groups(self, n: int) -> tuple[int, ...]:
        """DSP groups whose cascade tap ends result j (in order j = 0, 1, ...)."""
        seg = self.segment(n)
        return tuple((j + 1) * seg // self.group - 1 for j in range(self.results_per_pass(n)))

    def segment_parts(self, n: int) -> tuple[tuple[tuple[int, int | None], ...], ...]:
        """Per result j, the (end tap, start tap) pairs whose differences sum to it.

        A result is ``Q[end] - Q[start]`` of the cascade's prefix sums at group ends (start
        ``None``: zero). Packed chains split it further at OAU points, so that each part's lower
        lane fits 18 bits and decodes exactly (golden.dsp_packing).
        """
        oau = set(self.oau_groups)
        exact = dsp_packing.max_exact_products(max(self.weight_bits))
        out = []
        for j, end in enumerate(self.result_groups(n)):
            start = self.result_groups(n)[j - 1] if j else None
            long = (end - (-1 if start is None else start)) * self.group > exact
            cuts = [g - 1 for g in sorted(oau)
                    if long and (start is None or g - 1 > start) and g - 1 < end]
            bounds = [start, *cuts, end]
            out.append(tuple((hi, lo) for lo, hi in zip(bounds, bounds[1:])))
        return tuple(out)

    @property
    def max_parts(self) -> int:
        return max(len(parts) for n in self.n_options for parts in self.segment_parts(n))

    @property
    def oau_groups(self) -> tuple[int, ...]:
        """Packed mode: groups that start after an OAU point (none when unpacked)."""
        if not self.packed:
            return ()
        every = dsp_packing.oau_interval(self.group, max(self.weight_bits))
        return tuple(g for g in range(1, self.groups) if (g * self.group) % every == 0)

    @property
    def p_bits(self) -> int:
        """Cascade width: exactly what the longest sum needs (the DSP holds 48)."""
        prod_bits = 16 + (self.slices - 1).bit_length() + 1
        if not self.packed:
            return prod_bits
        return min(dsp_packing.P_BITS, dsp_packing.LANE_BITS + prod_bits)

    # --- timing ----------------------------------------------------------------------------
    @property
    def latency(self) -> int:
        """Cycles from a pass being accepted to its results being valid (no stalls).

        Slice i sees the pass i cycles late (input skew), registers it (A/B), multiplies (M) and
        adds
        the cascade (P): its P holds the pass at cycle i + 3. The last slice closes every pass;
        the taps of earlier groups are delayed to line up with it, and the reduction network that
        forms the results from the aligned taps is combinational.
        """
        return self.slices - 1 + MAC_PIPELINE

    @property
    def passes_per_cycle(self) -> int:
        return 1

    def results_per_cycle(self, n: int) -> float:
        """Finished INT32 results per cycle in steady state, all tokens of the pass together."""
        return self.tokens * self.results_per_pass(n) / self.passes_per_row(n)

    def macs_per_cycle(self) -> int:
        return self.slices * self.tokens
