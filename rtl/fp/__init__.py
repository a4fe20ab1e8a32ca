"""binary32 / binary16 arithmetic units: the elementary operations of docs/numerics.md in RTL
(docs/rtl/fp.md). Every unit works on raw bit patterns and equals golden/ops/binary32.py."""
from .add import Fp32Add
from .compare import Fp32Max
from .convert import F16ToF32, F32Rint, F32ToF16, I32ToF32
from .div import Fp32Div
from .mul import Fp32Mul
from .sqrt import Fp32Sqrt

__all__ = ["F16ToF32", "F32Rint", "F32ToF16", "Fp32Add", "Fp32Div", "Fp32Max", "Fp32Mul",
           "Fp32Sqrt", "I32ToF32"]
