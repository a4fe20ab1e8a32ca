"""``bitflight formats``: the table of number formats (golden.formats)."""
from __future__ import annotations

from ..base.errors import UsageError

MAX_LISTED = 16     # longer level lists (int6, int8, fp16) are summarized


def register(sub) -> None:
    p = sub.add_parser("formats", help="print the table of number formats",
                       description="Every registered number format: bits, real levels (the "
                                   "BitMoD special value marked with *), special value, term "
                                   "slots on the bit-serial PE and source.")
    p.add_argument("names", nargs="*", metavar="NAME", help="only these formats (default: all)")
    p.set_defaults(func=run)


def _num(v: float) -> str:
    return f"{v:.4g}"


def levels_text(fmt) -> str:
    """Real levels as text; the special value is starred; long grids are summarized."""
    import numpy as np

    from ..golden import formats

    if isinstance(fmt, formats.BlockFormat):
        return (f"{fmt.element.name} elements x 2^e, shared E{fmt.scale_bits}M0 scale per "
                f"block of {fmt.block}")
    lv = fmt.levels
    if len(lv) > MAX_LISTED:
        steps = np.unique(np.diff(lv))
        step = f", step {_num(steps[0])}" if len(steps) == 1 else ""
        return f"{lv[0]:.6g} .. {lv[-1]:.6g} ({len(lv)} values{step})"
    return " ".join(_num(v) + ("*" if fmt.special is not None and v == fmt.special else "")
                    for v in lv)


def rows(names):
    from ..golden import formats

    out = []
    for name in names:
        f = formats.get(name)
        special = getattr(f, "special", None)
        slots = getattr(f, "term_slots", None)
        out.append((name, str(f.bits), levels_text(f),
                    "-" if special is None else _num(special),
                    "-" if slots is None else str(slots), getattr(f, "source", "")))
    return out


def run(args) -> int:
    from ..golden import formats

    names = args.names or formats.names()
    unknown = [n for n in names if n not in formats.names()]
    if unknown:
        raise UsageError(f"unknown format '{unknown[0]}' (known: {', '.join(formats.names())})")
    table = rows(names)
    head = ("name", "bits", "levels (real units, * = special)", "special", "slots", "source")
    widths = [max(len(r[i]) for r in table + [head]) for i in range(5)]
    for r in [head] + table:
        print("  ".join(c.ljust(w) for c, w in zip(r[:5], widths)) + "  " + r[5])
    return 0
