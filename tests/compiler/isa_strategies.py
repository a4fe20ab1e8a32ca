"""Hypothesis strategies for ISA instructions (shared by the ISA tests)."""
from __future__ import annotations

from hypothesis import strategies as st

from bitflight.compiler import isa


def _field_values(f: isa.Field) -> st.SearchStrategy[int]:
    if f.enum is not None:
        return st.sampled_from([int(m) for m in f.enum])
    return st.one_of(st.integers(0, f.max), st.sampled_from([0, 1, f.max]))


def _mask(own: isa.Queue) -> st.SearchStrategy[int]:
    others = [q for q in isa.Queue if q != own]
    return st.lists(st.sampled_from(others), unique=True).map(isa.mask)


@st.composite
def instrs(draw, op: str | None = None, **fixed: int) -> isa.Instr:
    """Any instruction (of type ``op`` when given); ``fixed`` pins field values."""
    name = op or draw(st.sampled_from(sorted(isa.TYPES)))
    itype = isa.TYPES[name]
    args = {f.name: fixed[f.name] if f.name in fixed else draw(_field_values(f))
            for f in itype.fields}
    return isa.make(name, wait=draw(_mask(itype.queue)), release=draw(_mask(itype.queue)),
                    **args)


programs = st.lists(instrs(), min_size=1, max_size=12)
