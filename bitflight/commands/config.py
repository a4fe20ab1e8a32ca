"""``bitflight config``: list, show and validate hardware configurations."""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("config", help="list, show or validate hardware configs",
                       description="Hardware configurations (configs/*.yaml or any YAML path).")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    actions.add_parser("list", help="built-in config names with their description")
    show = actions.add_parser("show", help="the validated config, defaults filled in, as JSON")
    show.add_argument("config", help="config name or YAML path")
    check = actions.add_parser("validate", help="validate config files; exit 2 on the first error")
    check.add_argument("files", nargs="+", help="YAML paths or config names")
    actions.add_parser("schema", help="the schema as Markdown (what docs/config.md holds)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..base import config

    if args.action == "list":
        for name in config.available():
            cfg = config.load(name)
            engines = "+".join(e for e in ("bitmod", "csd") if getattr(cfg, e) is not None)
            print(f"{name:14s} {cfg.clock_mhz:7.1f} MHz  {engines:11s} {cfg.description}")
    elif args.action == "show":
        print(json.dumps(config.load(args.config).model_dump(mode="json"), indent=2))
    elif args.action == "validate":
        for item in args.files:
            cfg = config.load(item)
            print(f"{item}: ok ({cfg.name})")
    else:
        print(config.schema_markdown(), end="")
    return 0
