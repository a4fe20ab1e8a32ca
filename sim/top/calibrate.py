"""Calibration of sim.perf's event model against the accelerator top's cycle counter (issue 12).

The compiled tiny-model programs (a prefill of the 3 tokens ``PROMPT``, then ``--decode`` decode
steps, 2 to 4 of them: one bucket) run once on the Verilated top (sim/top/runner.py, every
instruction on its engine) and once through :func:`bitflight.sim.perf.events.simulate`; per
program the table prints the RTL's ``CYCLES`` (start to irq), the model's cycles, the error, and
per queue the RTL's ``BUSY[q]`` against the model's busy cycles (the union of its events'
intervals, less the issue cycle the RTL's counter does not see), so the queue that disagrees
most is visible; ``--kinds`` splits the model's cycles by instruction kind.

``python -m bitflight.sim.top.calibrate [--policy P ...] [--config tiny] [--decode 2]
[--json OUT] [--rtl-json FILE] [--kinds]``: ``--rtl-json`` reuses the RTL counters a previous
``--json`` wrote (the RTL run takes ~9 min per policy on the 2-core VM) and only re-times the
model, e.g. after a change of its cost terms. ``--mode`` picks the model's calibration
(``rtl``: the top as built, the default here; ``config``: the config as given, what the
paper-reproduction numbers use).
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

QUEUES = ("LD", "ST", "MM", "MV", "MISC", "SYS")
PROMPT = [1, 2, 3]


@dataclass
class ProgramRun:
    """One program: the RTL's counters and the model's timing."""
    policy: str
    step: str                       # "prefill" or "decode k"
    instructions: int
    rtl_cycles: int
    rtl_busy: dict[str, int]
    model_cycles: float = 0.0
    model_busy: dict[str, float] = field(default_factory=dict)
    model_kinds: dict[str, list] = field(default_factory=dict)   # kind -> [count, cycles]

    @property
    def error(self) -> float:
        """(model - RTL) / RTL, against the RTL's measured counter."""
        return (self.model_cycles - self.rtl_cycles) / self.rtl_cycles


def decode_ids(n: int) -> list[int]:
    return [5 + k for k in range(n)]


def programs(cfg, policy: str, decode: int, prompt: list[int] = PROMPT):
    """(image, channel sizes, [(program, Step)]) of the prefill and ``decode`` decode steps."""
    from .compiled import steps_for
    return steps_for("tiny-golden", cfg, policy, prompt, decode_ids(decode))


def step_names(n: int) -> list[str]:
    return ["prefill"] + [f"decode {k}" for k in range(n - 1)]


def run_rtl(cfg, policy: str, decode: int, prompt: list[int] = PROMPT
            ) -> tuple[list[ProgramRun], list]:
    """Run the programs on the top (one cocotb process, state carried between the steps); the
    runs and the compiled programs (for :func:`time_model`)."""
    from . import runner
    from .compiled import has_engine
    from .job import Job
    image, sizes, steps = programs(cfg, policy, decode, prompt)
    missing = [i.kind for p, _ in steps for i in p if not has_engine(i)]
    if missing:
        raise SystemExit(f"calibrate: no RTL engine for {sorted(set(missing))}")
    result = runner.run(runner.build(cfg), Job(channels=image, limits=sizes,
                                               steps=[s for _, s in steps], dump_buffers=False),
                        quiet=True)
    if result.error:
        raise SystemExit(f"calibrate: {policy}: {result.error}")
    return [ProgramRun(policy, name, len(p), s.cycles, dict(s.active))
            for name, (p, _), s in zip(step_names(len(steps)), steps, result.steps)], \
        [p for p, _ in steps]


def kind(instr) -> str:
    """The instruction kind a queue's cycles are split by (one engine or op each)."""
    from ...compiler import isa
    if instr.kind in ("MM", "MV"):
        what = "attention" if instr["skip_pad"] else isa.Engine(instr["engine"]).name
        return f"{instr.kind} {what}"
    if instr.kind == "MISC":
        return f"MISC {isa.MiscOp(instr['op']).name}"
    if instr.kind == "LD" and (instr["gather"] or instr["zero_fill"]):
        return "LD gather" if instr["gather"] else "LD zero_fill"
    return instr.kind


def time_model(runs: list[ProgramRun], cfg, decode: int, mode: str = "rtl",
               prompt: list[int] = PROMPT, compiled: dict[str, list] | None = None
               ) -> list[ProgramRun]:
    """Fill in the model's cycles and busy cycles of each run's program; ``compiled``: policy ->
    its programs when the caller has them already (otherwise they are compiled here)."""
    from ..perf.events import simulate
    from .perf_timing import ISSUE, RtlTiming
    by_policy: dict[str, list] = dict(compiled or {})
    for r in runs:
        if r.policy not in by_policy:
            by_policy[r.policy] = [p for p, _ in programs(cfg, r.policy, decode, prompt)[2]]
        k = step_names(decode + 1).index(r.step)
        program = by_policy[r.policy][k]
        pos0, ntok = (0, len(prompt)) if k == 0 else (len(prompt) + k - 1, 1)
        rtl = RtlTiming.for_policy(cfg, pos0, ntok, r.policy)
        timing = simulate(program, cfg, rtl if mode == "rtl" else None)
        r.model_cycles, r.model_busy = timing.cycles, timing.busy()
        r.model_kinds = {}
        for e in timing.events:
            entry = r.model_kinds.setdefault(kind(program[e.index]), [0, 0.0])
            entry[0] += 1
            entry[1] += e.end - e.start
        if mode == "rtl":     # BUSY[q] counts start..done; the model's busy adds the issue cycle
            for instr in program:
                r.model_busy[instr.queue.name] -= ISSUE
    return runs


def table(runs: list[ProgramRun]) -> str:
    head = ("| policy | program | instrs | RTL cycles | model cycles | error | "
            + " | ".join(f"{q} busy RTL / model" for q in QUEUES if q != "SYS") + " |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in runs:
        busy = " | ".join(
            f"{r.rtl_busy.get(q, 0):,} / {r.model_busy.get(q, 0):,.0f}" if r.rtl_busy.get(q)
            or r.model_busy.get(q) else "-" for q in QUEUES if q != "SYS")
        lines.append(f"| {r.policy} | {r.step} | {r.instructions} | {r.rtl_cycles:,} | "
                     f"{r.model_cycles:,.0f} | {100 * r.error:+.1f}% | {busy} |")
    return "\n".join(lines)


def kinds_table(runs: list[ProgramRun]) -> str:
    """The model's cycles per instruction kind (the RTL counts per queue only), largest first:
    which kind a queue's disagreement can come from."""
    lines = ["| policy | program | kind | instrs | model cycles |", "|---|---|---|---|---|"]
    for r in runs:
        for k, (n, c) in sorted(r.model_kinds.items(), key=lambda kv: -kv[1][1]):
            lines.append(f"| {r.policy} | {r.step} | {k} | {n} | {c:,.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from ...base import config
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policy", nargs="+", default=["bitmod-w4", "flightllm"])
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--decode", type=int, default=2, help="decode steps after the prefill")
    ap.add_argument("--mode", choices=("rtl", "config"), default="rtl",
                    help="the model's calibration: the top as built, or the config as given")
    ap.add_argument("--json", type=Path, help="write the runs here")
    ap.add_argument("--rtl-json", type=Path, help="take the RTL counters from this --json file")
    ap.add_argument("--kinds", action="store_true",
                    help="also print the model's cycles per instruction kind")
    args = ap.parse_args(argv)
    cfg = config.load(args.config)
    compiled: dict[str, list] = {}
    if args.rtl_json:
        saved = json.loads(args.rtl_json.read_text())
        args.decode = saved.get("decode", args.decode)
        keep = ("policy", "step", "instructions", "rtl_cycles", "rtl_busy")
        runs = [ProgramRun(**{k: d[k] for k in keep}) for d in saved["runs"]
                if d["policy"] in args.policy]
    else:
        runs = []
        for policy in args.policy:
            policy_runs, compiled[policy] = run_rtl(cfg, policy, args.decode)
            runs += policy_runs
    time_model(runs, cfg, args.decode, args.mode, compiled=compiled)
    print(table(runs))
    if args.kinds:
        print()
        print(kinds_table(runs))
    if args.json:
        args.json.write_text(json.dumps({"config": args.config, "decode": args.decode,
                                         "mode": args.mode, "prompt": PROMPT,
                                         "runs": [asdict(r) for r in runs]}, indent=1))


if __name__ == "__main__":
    main()
