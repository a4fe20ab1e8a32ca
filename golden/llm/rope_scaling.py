"""RoPE inverse frequencies, with LLaMA-3-style frequency scaling (``rope_type: llama3``).

LLaMA 3.1 stretches the context of a model trained at ``original_max_position`` tokens by slowing
down its low RoPE frequencies (Meta's reference ``apply_scaling``; Hugging Face
``_compute_llama3_parameters``). With ``wavelength = 2*pi / inv_freq``:

- wavelength < original_max / high_freq_factor (high frequencies): unchanged;
- wavelength > original_max / low_freq_factor (low frequencies): ``inv_freq / factor``;
- in between: ``(1 - s) * inv_freq / factor + s * inv_freq`` with
  ``s = (original_max / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor)``.

Everything here is plain Python arithmetic on ``float`` (IEEE double, ``math``), so the same
functions serve the float32 golden model (which rounds the results to float32) and RoPE tables
computed in float64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..ops.rope_table import default_inv_freq


@dataclass(frozen=True)
class Llama3RopeScaling:
    """The four parameters of ``rope_type: llama3`` (Hugging Face ``rope_parameters`` names)."""
    factor: float
    low_freq_factor: float
    high_freq_factor: float
    original_max_position: int

    def __post_init__(self):
        if not self.factor >= 1.0:
            raise ValueError(f"llama3 RoPE scaling: factor must be >= 1, got {self.factor}")
        if not 0 < self.low_freq_factor < self.high_freq_factor:
            raise ValueError("llama3 RoPE scaling: need 0 < low_freq_factor < high_freq_factor, "
                             f"got {self.low_freq_factor} and {self.high_freq_factor}")
        if not self.original_max_position > 0:
            raise ValueError("llama3 RoPE scaling: original_max_position_embeddings must be "
                             f"positive, got {self.original_max_position}")

    def scale(self, inv_freq: float) -> float:
        """One inverse frequency after scaling (see the module docstring)."""
        wavelength = 2 * math.pi / inv_freq
        if wavelength < self.original_max_position / self.high_freq_factor:
            return inv_freq
        if wavelength > self.original_max_position / self.low_freq_factor:
            return inv_freq / self.factor
        smooth = ((self.original_max_position / wavelength - self.low_freq_factor)
                  / (self.high_freq_factor - self.low_freq_factor))
        return (1 - smooth) * inv_freq / self.factor + smooth * inv_freq


def inverse_frequencies(head_dim: int, theta: float,
                        scaling: Llama3RopeScaling | None = None) -> list[float]:
    """The ``head_dim / 2`` RoPE inverse frequencies ``theta ** (-2i / head_dim)`` as floats,
    each scaled by ``scaling`` when given."""
    freqs = default_inv_freq(head_dim, theta)
    return freqs if scaling is None else [scaling.scale(f) for f in freqs]
