"""Format policy pass: every linear of the IR gets its engine mode and operand types from a
policy (schema: ``golden.policy``; files: ``configs/policies/*.yaml``).

Before: ``linear`` ops carry only their weight name and shape. After: each also has a
:class:`LinearPlan` in ``plans`` (weight spec, engine mode, A/B/O element types).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import CompileError, Graph
from ..isa import DTYPES, DType, Engine

_B_DTYPE = {info.scheme: dt for dt, info in DTYPES.items() if info.scheme is not None}


@dataclass(frozen=True)
class LinearPlan:
    """How one linear layer runs: the resolved golden WeightSpec and the MM operand types."""
    name: str
    n: int
    k: int
    spec: object                 # golden.policy.WeightSpec
    engine: Engine
    a_dt: DType
    b_dt: DType
    o_dt: DType = DType.FP16
    # packed layout of quantized tiles: (block rows, chunk columns, None: the group, last block
    # stored whole, section alignment in bytes); (1, None, False, 8) is version 1, row by row;
    # a BitMoD plan gets its arrays' (passes.packing.array_layout)
    layout: tuple[int, int | None, bool, int] = (1, None, False, 8)

    @property
    def group(self) -> int:
        return self.spec.group_size if self.spec.group_size is not None else self.k

    @property
    def groups(self) -> int:
        """Groups per row, ceil(K / group): when the group does not divide K (SmolLM2's 576 in
        groups of 128) the last one is zero-padded in the packed tile and streamed whole, its
        padding the code of 0 (golden.quant ``pad=True``; docs/formats.md)."""
        return -(-self.k // self.group)

    def packed_bytes(self, rows: int) -> int:
        """Bytes of a packed tile of ``rows`` output rows (exact for dense formats; for N:M the
        policy's density, so an estimate). Used to tile and to size the memory image when
        weights are not materialized; materialized tiles are measured (``passes.packing``)."""
        from ...golden.quant import packing as qpack
        from ...golden.sparse import packing as spack
        if self.b_dt == DType.FP16:
            return 2 * rows * self.k
        if self.engine == Engine.SPARSE:
            sp = self.spec.sparsity
            density = sp.density if sp.density is not None else sp.n / 16
            return spack.packed_size(rows, self.k, int(rows * self.k * density), self.spec.bits)
        id_bits = 2 if self.spec.scheme == "bitmod" else 0
        block, chunk, full, align = self.layout
        blocked = qpack.is_blocked(self.group, block, chunk)
        _, total = qpack.layout(rows, self.groups, self.group, self.spec.bits, id_bits,
                                self.spec.scale_mode, self.spec.scheme == "int_asym", blocked,
                                qpack.stored_rows(rows, block, full and blocked),
                                align if blocked else qpack.ALIGN)
        return total


class FormatPolicy:
    """The pass object: ``FormatPolicy(policy).run(graph) -> {weight name: LinearPlan}``."""

    def __init__(self, policy) -> None:
        self.policy = policy

    def plan(self, name: str, n: int, k: int) -> LinearPlan:
        spec = self.policy.weight_for(name)
        b_dt = _B_DTYPE.get((spec.scheme, spec.bits))
        if b_dt is None:
            raise CompileError(f"linear '{name}': weight scheme {spec.scheme} with {spec.bits} "
                               "bits has no engine datatype in the ISA")
        if self.policy.engine == "bitmod":
            engine, a_dt = Engine.BITMOD, DType.FP16
        elif spec.scheme == "fp16":
            engine, a_dt = Engine.DENSE, DType.FP16
        else:
            engine = Engine.SPARSE if spec.sparsity is not None else Engine.DENSE
            a_dt = DType.INT8
        if engine == Engine.DENSE and a_dt == DType.INT8 and k % (spec.group_size or k):
            # a BitMoD plan zero-pads a partial last group (LinearPlan.groups); the INT
            # engine's per-group INT32 accumulators (golden.ops.int_linear) need whole groups
            raise CompileError(f"linear '{name}': K={k} is not a whole number of groups of "
                               f"{spec.group_size} (the INT engine needs whole groups; use "
                               "group_size: null for per-row scales)")
        if engine == Engine.SPARSE and (n % 16 or k % 16):
            raise CompileError(f"linear '{name}': N:M sparsity needs N and K multiples of 16, "
                               f"got {n}x{k}")
        return LinearPlan(name, n, k, spec, engine, a_dt, b_dt)

    def run(self, graph: Graph) -> dict[str, LinearPlan]:
        plans = {}
        for op in graph.ops:
            if op.kind == "linear":
                plans[op.weight] = self.plan(op.weight, op.attrs["out_features"],
                                             op.attrs["in_features"])
        return plans
