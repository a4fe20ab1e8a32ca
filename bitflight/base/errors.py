"""The user-facing errors: one hierarchy under :class:`BitflightError`.

The CLI prints a ``BitflightError`` as one line, ``bitflight CMD: error: <message>``, and exits 2;
anything else that escapes a command is a bug and keeps its traceback. So code that rejects user
input (a file, a field, a command-line value, an instruction, a graph node) raises the subclass
for that input at the place that knows it, with a message naming it. Argument checks of library
functions that only a caller's bug can fail stay plain ``ValueError``/``TypeError``.

Every subclass is also a ``ValueError`` (``RuntimeError`` for run-time failures) so callers that
catch the builtin class keep working.
"""


class BitflightError(Exception):
    """A user-facing error: its message names the file, field or graph node at fault."""


class ConfigError(BitflightError, ValueError):
    """A hardware configuration is missing, malformed, holds an impossible value, or lacks the
    engine or number an operation needs."""


class ModelError(BitflightError, ValueError):
    """A model source (GGUF file, Hugging Face folder, shape config, tensor file, tokenizer,
    evaluation corpus) is missing, malformed or uses a feature bitflight does not implement."""


class PolicyError(BitflightError, ValueError):
    """A quantization or performance policy is missing, invalid, or does not fit the model or
    engine it is used with (the message names the policy, layer and field)."""


class UsageError(BitflightError, ValueError):
    """A command-line value or combination of options that cannot be carried out."""


class OutputError(BitflightError, ValueError):
    """A result cannot be written (the message names the path the user asked for)."""


class CompileError(BitflightError, ValueError):
    """A graph or request the compiler cannot handle (the message names the graph node, weight
    or bucket)."""


class ProgramError(BitflightError, ValueError):
    """A program file, compiled folder or assembly text that is malformed or inconsistent."""


class SimError(BitflightError, RuntimeError):
    """A program that cannot run (an out-of-range access, a deadlock, a missing bucket); the
    message names the instruction."""


class HardwareFlowError(BitflightError):
    """A hardware-flow step (Verilog export, lint, synthesis, simulator build) failed or its
    tool is missing."""
