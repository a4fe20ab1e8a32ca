"""Data shipped with the golden models (the evaluation corpus; see golden/llm/corpus.py)."""
