"""The offline evaluation corpus: English prose shipped with the project.

``golden/data/python_reference.txt`` is the first 27 topics (alphabetical: "assert" ...
"debugger", 151,923 characters, 37,047 SmolLM2 tokens) of the help topics that every CPython
installation ships in ``pydoc_data/topics.py`` (the text of the Python Language Reference and
Library Reference sections used by ``help()``), here taken verbatim from CPython 3.11.7.
Licence: Python Software Foundation License Version 2 (permissive; copies must keep the PSF
copyright notice: Copyright (c) 2001-2023 Python Software Foundation; All Rights Reserved).
It is technical English with some grammar and code lines, not encyclopedic text like WikiText-2,
so absolute perplexities are not comparable with published WikiText-2 numbers; differences
between weight formats on the same tokens are what the evaluation reports.
"""
from __future__ import annotations

from ...base.errors import ModelError, UsageError
from ...base.yaml_model import package_dir

CORPUS_PATH = package_dir("bitflight.golden.data", "python_reference.txt")
CORPUS_NAME = "CPython 3.11 pydoc topics (Python Language/Library Reference), PSF License v2"


def corpus_text() -> str:
    if not CORPUS_PATH.is_file():
        raise ModelError(f"{CORPUS_PATH}: evaluation corpus missing from the installation")
    return CORPUS_PATH.read_text(encoding="utf-8")


def corpus_tokens(tokenizer, n_tokens: int | None = None) -> list[int]:
    """The corpus tokenized (no BOS), cut to the first ``n_tokens`` (all when None)."""
    ids = tokenizer(corpus_text())["input_ids"]
    if n_tokens is not None:
        if n_tokens > len(ids):
            raise UsageError(f"--tokens {n_tokens}: the corpus has only {len(ids)} tokens")
        ids = ids[:n_tokens]
    return list(ids)
