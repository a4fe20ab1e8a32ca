"""The quantization scheme names: the one list the CLI choices, the policy schema and the
evaluation read (torch-free, so ``bitflight --help`` can list them). ``schemes.SCHEMES`` holds an
implementation for each name (tests/golden/test_quant_schemes.py checks the two agree)."""

SCHEME_NAMES: tuple[str, ...] = ("int_sym", "int_asym", "fp", "ant", "mx", "nf4", "bitmod")
UNQUANTIZED = "fp16"                  # policies and evaluations name full precision this way
