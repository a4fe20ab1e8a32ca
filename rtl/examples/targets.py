"""Targets of the example package (discovered by bitflight.rtl.registry)."""
from ..registry import Target
from .counter import Counter

TARGETS = [
    Target("example-counter", lambda cfg: Counter(8),
           "8-bit enable-gated counter used to demonstrate the flow (ignores the config)"),
]
