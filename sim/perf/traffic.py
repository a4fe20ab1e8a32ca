"""Off-chip traffic of one matrix operation, with the on-chip buffer refetch rule.

Rule (the BitMoD artifact's, docs/references.md#bitmod-3.3): when the stationary operand (weights or
K/V) fits its
buffer, or the activations fit theirs, each is read once. When neither fits, the operation is
tiled so that one operand is re-read: either all weights once per activation buffer-full
(``ceil(input / act_buffer)`` times) or all activations once per weight buffer-full
(``ceil(weights / weight_buffer)`` times), whichever moves fewer bytes. Outputs are written once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .result import OpTiming
from .workload import MatMul, VectorOp


@dataclass(frozen=True)
class Traffic:
    weight_bytes: float
    input_bytes: float
    output_bytes: float
    weight_fetches: int = 1
    input_fetches: int = 1

    @property
    def read(self) -> float:
        return self.weight_bytes * self.weight_fetches + self.input_bytes * self.input_fetches

    @property
    def written(self) -> float:
        return self.output_bytes


def with_refetch(weight: float, inputs: float, outputs: float, weight_buffer: float,
                 act_buffer: float) -> Traffic:
    """Traffic of one operation under the refetch rule (all sizes in bytes)."""
    if weight <= weight_buffer or inputs <= act_buffer:
        return Traffic(weight, inputs, outputs)
    input_refetch = math.ceil(weight / weight_buffer)
    weight_refetch = math.ceil(inputs / act_buffer)
    if weight_refetch * weight + inputs < input_refetch * inputs + weight:
        return Traffic(weight, inputs, outputs, weight_fetches=weight_refetch)
    return Traffic(weight, inputs, outputs, input_fetches=input_refetch)


def kv_bytes(t: Traffic, op: MatMul) -> float:
    """The part of ``t`` that is K/V-cache traffic (attention operands, appended K/V rows)."""
    cache = t.weight_bytes * t.weight_fetches if op.kind != "linear" else 0.0
    return cache + (t.written if op.out_is_kv else 0.0)


def memory_cycles(t: Traffic, op: MatMul, bytes_per_cycle: float,
                  kv_bytes_per_cycle: float) -> float:
    """Cycles to move ``t``: K/V-cache bytes at the K/V rate, the rest at the normal rate."""
    kv = kv_bytes(t, op)
    return (t.read + t.written - kv) / bytes_per_cycle + kv / kv_bytes_per_cycle


def sfu_timing(op: VectorOp, lanes: int, energy_pj_per_element: float | None) -> OpTiming:
    """SFU work: ``elements x passes / lanes`` cycles; its operands stay on chip."""
    cycles = math.ceil(op.elements * op.passes / lanes)
    energy = None if energy_pj_per_element is None else op.elements * energy_pj_per_element
    return OpTiming(op.name, op.kind, "sfu", op.count, 0, cycles, 0.0, energy_pj=energy)
