"""The code generation driver: walks one step's IR through the op lowerings (:mod:`.lower_ops`,
:mod:`.lower_attention`) on the bookkeeping of :class:`.codegen.Step`, cutting segments and
replaying identical layers (:mod:`.relocate`). It sits above the bookkeeping and the rules so
neither imports the other back."""
from __future__ import annotations

import copy

from . import isa
from .codegen import Step
from .lower_ops import LOWER, segment_labels
from .relocate import LayerTemplate, RegionMap, snapshot, state_of


def segments(step: Step) -> list[tuple[str, list[isa.Instr] | None, tuple[int, int] | None]]:
    """Segments as (label, instructions, replay). A replayed segment has no instructions of
    its own: ``replay = (index of the segment it copies, layer)``, and its instructions are
    that segment's relocated with ``step.region_map`` (after scheduling, so tokens carry
    over; see :func:`compiler.build.compile_step`)."""
    ops = step.graph.ops
    labels = segment_labels(ops)
    starts = [i for i, lbl in enumerate(labels) if lbl and lbl.endswith(".pre")]
    bounds = starts + [next((i for i, lbl in enumerate(labels) if lbl == "head"), len(ops))]
    layer_at = {s: (int(labels[s][1:].split(".")[0]), e) for s, e in zip(bounds, bounds[1:])}
    step.replays = []
    tmpl, regions, i = None, None, 0
    while i < len(ops):
        if i in layer_at:
            layer, end = layer_at[i]
            if layer == 1:
                tmpl = LayerTemplate(1, i, end, state_of(step), len(step.segments) + 1)
            elif tmpl is not None and tmpl.segments is not None and state_of(step) == \
                    tmpl.state and (regions := regions or RegionMap(
                        step.model.layout.regions, 1)).same_sizes(layer):
                step.region_map = regions
                _replay(step, tmpl, layer, i, end)
                i = end
                continue
        if labels[i] is not None:
            step.begin(f"{step.mode}@{step.row0}:{labels[i]}" if step.row0 else
                       f"{step.mode}:{labels[i]}")
        LOWER[ops[i].kind](step, ops[i])
        step.release_dead(i)
        if tmpl is not None and tmpl.segments is None and i == tmpl.end - 1:
            step.end()
            tmpl.segments = step.segments[tmpl.first_segment - 1:]
            tmpl.first_segment -= 1
            tmpl.after = snapshot(step)
            tmpl.out_homes = {op_i - tmpl.start: step.homes[ops[op_i].output]
                              for op_i in range(tmpl.start, tmpl.end)
                              if ops[op_i].output in step.homes}
        i += 1
    step.end()
    replays = step.replays + [None] * (len(step.segments) - len(step.replays))
    return [(label, instrs, rep) for (label, instrs), rep in zip(step.segments, replays)]


def _replay(step: Step, tmpl, layer: int, start: int, end: int) -> None:
    step.end()
    step.replays += [None] * (len(step.segments) - len(step.replays))
    for k, (label, _) in enumerate(tmpl.segments):
        step.segments.append((label.replace(":L1.", f":L{layer}."), None))
        step.replays.append((tmpl.first_segment + k, layer))
    for index in range(start, end):
        for name in step.dying.get(index, ()):
            step.homes.pop(name, None)
    arenas, scratch = copy.deepcopy(tmpl.after)
    step.arenas, step.scratch = arenas, scratch
    for rel, home in tmpl.out_homes.items():
        step.homes[step.graph.ops[start + rel].output] = home
