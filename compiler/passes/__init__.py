"""Compiler passes: each a small object or function with a before/after test in tests/compiler."""
