"""Design-space exploration: ``bitflight sweep`` (docs/dse.md).

A sweep spec (:mod:`.spec`) names a base design and the axes to vary; :mod:`.space` turns the
axes into points (a grid, random samples, or Optuna's NSGA-II in :mod:`.search`); :mod:`.points`
resolves each point into a validated config, policy, model and lengths and keys it by content
hash; :mod:`.evaluate` computes its metrics in a worker (perf model, compiler check, area by
synthesis through :mod:`.area`, perplexity); :mod:`.executors` run those tasks on a local
process pool or a Ray cluster; :mod:`.store` keeps every result in one SQLite file so a rerun
resumes; :mod:`.pareto` and :mod:`.report` draw the fronts and write the table.
"""
