"""Errors the CLI reports as one line (no traceback)."""


class BitflightError(Exception):
    """A user-facing error: its message names the file, field or graph node at fault."""


class ConfigError(BitflightError, ValueError):
    """A configuration file is missing, malformed or holds an impossible value."""
