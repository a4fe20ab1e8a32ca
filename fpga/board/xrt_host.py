"""Host side of the U280 kernel: load a compiled model's memory image and programs into card
memory with XRT (pyxrt), drive the top's registers (docs/rtl/top.md, "Where the program lives and
how the host starts a step") and read the logits back. ``host.py`` of a ``bitflight board u280``
folder runs :func:`main`.

The kernel is ``user_managed`` (the top's own register map), so registers are reached through
``pyxrt.ip``: every AXI master's buffer is allocated in its bank (``board.json``), its device
address goes into the shell's base-address registers, ``LIMIT[c]`` gets the channel's size, then
per step ``PROG_ADDR`` (0: the program sits at the start of the ``imem`` buffer),
``PROG_WORDS``, ``POS0``, ``NTOK`` and ``CTRL`` = 1; completion is polled on ``STATUS`` (the
``interrupt`` pin carries the same level). pyxrt is imported only by :class:`XrtCard`, so the
protocol (:class:`BoardSession`) runs against any object with the same few methods; the tests
use one backed by the ISA simulator.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ...base.errors import HardwareFlowError
from ...compiler import build, output
from ...rtl.top import regs
from ...rtl.top.faults import Fault

PROGRAM_BYTES = 1 << 20          # the imem buffer: the largest bucket program must fit


class BoardError(HardwareFlowError):
    """The card, the xclbin or a step failed; the message says which and why."""


class XrtCard:
    """The card through pyxrt: ``alloc(bank, size)`` -> buffer with ``address()``,
    ``write(bytes, offset)``, ``read(size, offset)`` (each synced with the device), and the
    kernel's 32-bit registers ``read_register`` / ``write_register``."""

    def __init__(self, xclbin: Path, kernel: str, device_index: int = 0):
        try:
            import pyxrt
        except ImportError:
            raise BoardError("pyxrt is not installed (it comes with XRT: source "
                             "/opt/xilinx/xrt/setup.sh)") from None
        self.pyxrt = pyxrt
        self.device = pyxrt.device(device_index)
        image = pyxrt.xclbin(str(xclbin))
        uuid = self.device.load_xclbin(image)
        self.banks = {m.get_tag(): m.get_index() for m in image.get_mems()}
        self.ip = pyxrt.ip(self.device, uuid, kernel)

    def alloc(self, bank: str, size: int):
        if bank not in self.banks:
            raise BoardError(f"memory bank {bank} is not in the xclbin (has: "
                             f"{', '.join(sorted(self.banks))})")
        return _XrtBuffer(self.pyxrt, self.pyxrt.bo(self.device, size, self.pyxrt.bo.normal,
                                                    self.banks[bank]))

    def read_register(self, offset: int) -> int:
        return int(self.ip.read_register(offset))

    def write_register(self, offset: int, value: int) -> None:
        self.ip.write_register(offset, value)


class _XrtBuffer:
    def __init__(self, pyxrt, bo):
        self.pyxrt, self.bo = pyxrt, bo

    def address(self) -> int:
        return int(self.bo.address())

    def write(self, data: bytes, offset: int) -> None:
        self.bo.write(np.frombuffer(data, np.uint8), offset)
        self.bo.sync(self.pyxrt.xclBOSyncDirection.XCL_BO_SYNC_BO_TO_DEVICE, len(data), offset)

    def read(self, size: int, offset: int) -> bytes:
        self.bo.sync(self.pyxrt.xclBOSyncDirection.XCL_BO_SYNC_BO_FROM_DEVICE, size, offset)
        return bytes(np.asarray(self.bo.read(size, offset), np.uint8))


class BoardSession:
    """One sequence on the card: ``prefill(ids)`` then ``decode(token)``, each returning fp16
    logits as float32 ``[rows, vocab]``, as ``sim.isa``'s Session does."""

    def __init__(self, card, board: dict, compiled: Path, timeout_s: float = 60.0):
        self.card, self.board, self.compiled = card, board, Path(compiled)
        self.timeout_s = timeout_s
        man = self.manifest = output.read_manifest(self.compiled)
        sizes = {int(c): n for c, n in man.get("channel_bytes", {}).items()}
        masters = board["masters"]
        self.buffers = {}
        for name, info in masters.items():
            if name == "imem":
                size = PROGRAM_BYTES
            else:
                size = max(sizes.get(int(name.removeprefix("hbm")), 0), 4096)
            self.buffers[name] = buf = card.alloc(info["bank"], size)
            base = buf.address()
            card.write_register(info["base_offset"], base & 0xFFFFFFFF)
            card.write_register(info["base_offset"] + 4, base >> 32)
        for ch in range(board["channels"]):
            card.write_register(regs.limit(ch), sizes.get(ch, 0))
        for ch, name in man.get("image", {}).items():
            self.buffers[f"hbm{ch}"].write(output.read_file(self.compiled, man, name), 0)
        if card.read_register(regs.offset("ID")) != regs.ID_VALUE:
            raise BoardError("the kernel does not answer with the accelerator's ID register")
        card.write_register(regs.offset("MODE"), 0)
        self.length = 0

    def _region(self, name: str) -> tuple[int, int, int]:
        r = self.manifest["regions"][name]
        return r["channel"], r["addr"], r["size"]

    def _logits(self, rows: int) -> np.ndarray:
        """Rows ``0..rows`` of the logits region(s) (``logits`` or blocks ``logits.i``)."""
        max_rows = self._region("input")[2] // 4            # uint32 ids of the largest bucket
        names = sorted((n for n in self.manifest["regions"] if n.split(".")[0] == "logits"),
                       key=lambda n: int(n.partition(".")[2] or 0))
        row_bytes = sum(self._region(n)[2] for n in names) // max_rows
        raw, left = b"", rows
        for name in names:
            ch, addr, size = self._region(name)
            take = min(left, size // row_bytes)
            raw += self.buffers[f"hbm{ch}"].read(take * row_bytes, addr)
            left -= take
            if not left:
                break
        return np.frombuffer(raw, np.float16).reshape(rows, row_bytes // 2).astype(np.float32)

    def _step(self, mode: str, ids: list[int], bucket_len: int) -> np.ndarray:
        man = self.manifest
        bucket = build.bucket_for(mode, bucket_len, man["max_len"], man["prefill_step"],
                                  man["decode_step"], pos0=self.length if mode == "prefill" else 0)
        words = output.read_program(self.compiled, bucket)
        if len(words) > PROGRAM_BYTES:
            raise BoardError(f"bucket {bucket}: {len(words)} program bytes exceed the imem "
                             f"buffer ({PROGRAM_BYTES})")
        tokens = build.parse_bucket(bucket)[1]
        padded = (list(ids) + [0] * tokens)[:tokens]
        ch, addr, _ = self._region("input")
        self.buffers[f"hbm{ch}"].write(np.asarray(padded, "<u4").tobytes(), addr)
        self.buffers["imem"].write(words, 0)
        card = self.card
        for name, value in (("PROG_ADDR", 0), ("PROG_WORDS", len(words) // 4),
                            ("POS0", self.length), ("NTOK", len(ids)), ("CTRL", 1)):
            card.write_register(regs.offset(name), value)
        deadline = time.monotonic() + self.timeout_s
        while not (status := card.read_register(regs.offset("STATUS"))) & regs.STATUS_DONE \
                or status & regs.STATUS_BUSY:
            if time.monotonic() > deadline:
                raise BoardError(f"bucket {bucket}: no end of step after {self.timeout_s} s "
                                 f"(STATUS 0x{status:08x})")
            time.sleep(0.001)
        if status & regs.STATUS_FAULT:
            code = Fault(status >> regs.STATUS_CODE_SHIFT & 0xFF)
            index = card.read_register(regs.offset("ERR_INDEX"))
            raise BoardError(f"bucket {bucket}: fault {code.name} at instruction #{index}")
        self.length += len(ids)
        return self._logits(len(ids))

    def prefill(self, ids: list[int]) -> np.ndarray:
        return self._step("prefill", ids, len(ids))

    def decode(self, token: int) -> np.ndarray:
        return self._step("decode", [token], self.length + 1)


def main(argv: list[str], board: Path) -> int:
    """``host.py --xclbin F --compiled OUT --tokens ID ... [--decode N]``: prefill the tokens,
    then N greedy decode steps; prints each step's top token and cycle count."""
    parser = argparse.ArgumentParser(description="run a compiled model on the U280 kernel")
    parser.add_argument("--xclbin", required=True, type=Path)
    parser.add_argument("--compiled", required=True, type=Path,
                        help="a `bitflight compile` output folder (with its image)")
    parser.add_argument("--tokens", required=True, type=int, nargs="+")
    parser.add_argument("--decode", type=int, default=0, help="greedy decode steps after")
    parser.add_argument("--device", type=int, default=0)
    args = parser.parse_args(argv)
    info = json.loads(Path(board).read_text())
    session = BoardSession(XrtCard(args.xclbin, info["kernel"], args.device), info,
                           args.compiled)
    logits = session.prefill(args.tokens)
    for step in range(args.decode + 1):
        token = int(np.argmax(logits[-1]))
        cycles = session.card.read_register(regs.offset("CYCLES_LO"))
        print(f"step {step}: next token {token} ({cycles} cycles)")
        if step < args.decode:
            logits = session.decode(token)
    return 0
