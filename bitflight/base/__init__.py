"""The base layer: what every other folder may import and what imports nothing else of the project.

- :mod:`.config` — the hardware config schema and loader (configs/*.yaml)
- :mod:`.errors` — the user-facing error hierarchy under ``BitflightError``
- :mod:`.yaml_model` — YAML files validated into pydantic models, one-line errors
- :mod:`.atomic_file` — whole-or-absent output files and folders
"""
