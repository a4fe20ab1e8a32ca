"""AXI4-Lite register map of the top (byte offsets of 32-bit registers): the one definition the
RTL register file and the host runner both read. 64-bit values are two registers, low first."""
from __future__ import annotations

from ...compiler import isa

ID_VALUE = 0x42460000 | isa.ISA_VERSION        # "BF" + ISA version

# single registers: name -> (offset, writable)
REGS: dict[str, tuple[int, bool]] = {
    "ID": (0x00, False),
    "CTRL": (0x04, True),          # write bit 0: start a step (ignored while busy)
    "STATUS": (0x08, False),       # STATUS_* bits below
    "PROG_ADDR": (0x0C, True),     # byte address of the program on the instruction port
    "PROG_WORDS": (0x10, True),    # 32-bit words of the program
    "POS0": (0x14, True),          # launch argument pos0
    "NTOK": (0x18, True),          # launch argument ntok
    "LAYER": (0x1C, False),        # imm of the last SYS LAYER
    "CYCLES_LO": (0x20, False),    # cycles of the last (or running) step
    "CYCLES_HI": (0x24, False),
    "ERR_INDEX": (0x28, False),    # program index of the faulting instruction
    "ERR_ARG0_LO": (0x2C, False),
    "ERR_ARG0_HI": (0x30, False),
    "ERR_ARG1_LO": (0x34, False),
    "ERR_ARG1_HI": (0x38, False),
    "ERR_ARG2": (0x3C, False),
    "DISPATCH": (0x40, False),     # bit 31: dispatch blocked; [30:28] queue; [23:0] index
    "MODE": (0x44, True),          # bit 0: skip instructions without an engine (bring-up)
}
STALL_BASE = 0x80      # + 4q: cycles queue q's head waited for a token (Queue order)
BUSY_BASE = 0xA0       # + 4q: cycles queue q's unit held an instruction
HEAD_BASE = 0xC0       # + 4q: bit 31 = queue q holds an instruction; [23:0] its head's index
LIMIT_BASE = 0x100     # + 4c: bytes of HBM channel c (0 = absent); range checks of LD/ST
ADDR_BITS = 12

STATUS_BUSY = 1 << 0
STATUS_DONE = 1 << 1       # the last step finished (with or without a fault); irq follows it
STATUS_FAULT = 1 << 2
STATUS_CODE_SHIFT = 8      # [15:8] Fault
STATUS_QUEUE_SHIFT = 16    # [18:16] queue of the faulting instruction
INDEX_MASK = (1 << 24) - 1


def offset(name: str) -> int:
    return REGS[name][0]


def limit(channel: int) -> int:
    return LIMIT_BASE + 4 * channel
