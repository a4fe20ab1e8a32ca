"""What the front end knows about each node of an exported graph while lifting it.

* ``Act``: an activation (depends on the token ids through the network), named by its IR value;
* ``Aux``: depends only on constants and buffers (positions, RoPE tables, masks);
* ``Param``: a model parameter (its path without the trailing ``.weight``);
* ``Part``: an intermediate of a pattern being recognised (RoPE, RMSNorm, attention), only legal
  as an operand of the pattern's next op.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# ops that only move or view an activation: IR activations are [T, features], the head layout
# lives in the attention ops' attributes and is checked against traced shapes where it matters
LAYOUT = {"view", "reshape", "_unsafe_view", "transpose", "unsqueeze", "expand", "contiguous",
          "clone", "alias", "to", "_to_copy", "permute", "squeeze", "dropout", "detach"}
# assertions export inserts; they compute nothing
IGNORED = {"_assert_tensor_metadata", "_assert_scalar", "sym_constrain_range_for_size"}


@dataclass(frozen=True)
class Act:
    value: str


@dataclass(frozen=True)
class Aux:
    pass


@dataclass(frozen=True)
class Param:
    name: str


@dataclass(frozen=True)
class Part:
    pattern: str      # rope: slice_lo slice_hi neg_hi rot_half x_cos rot_sin;
                      # rmsnorm: sq mean ms_eps rstd normed; attention: score scaled masked probs
    value: str        # the activation the pattern started from
    data: Any = None  # what the pattern has collected so far (eps; key value and scale)


def op_name(node) -> str:
    """``aten.linear.default`` -> ``linear``."""
    target = node.target
    return getattr(target, "__name__", str(target)).split(".")[0]
