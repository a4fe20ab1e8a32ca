"""Pieces of the top's SFU engine (rtl/top/sfu_engine.py): operand lines, checks, element
walker, result writer, timing model."""
