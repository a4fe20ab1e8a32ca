"""What ``bitflight quantize`` and ``bitflight prune`` share: the input file arguments and the
packed output (one tensor: its raw packed layout; several: a safetensors file of uint8 blobs)."""
from __future__ import annotations


def add_input(p, verb: str) -> None:
    """The positional weight file and ``--tensor``."""
    p.add_argument("file", help="a .pt/.pth/.bin (tensor or state dict), .npy or .safetensors "
                   "file, or a model: smollm2, a .gguf file or a Hugging Face folder")
    p.add_argument("--tensor", metavar="NAME",
                   help=f"tensor to {verb} (default: every 2-D floating-point tensor)")


def add_output(p) -> None:
    p.add_argument("-o", "--output", metavar="OUT", help="write the packed result here")


def write_packed(path: str, blobs: dict[str, bytes]) -> None:
    """Write the packed tensors atomically and say so."""
    from ..base.atomic_file import write_atomic
    from ..golden.llm import tensor_io
    data = next(iter(blobs.values())) if len(blobs) == 1 else tensor_io.packed_container(blobs)
    write_atomic(path, data)
    print(f"wrote {path} ({len(data)} bytes)")
