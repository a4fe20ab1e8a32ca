"""cocotb module: run a Job (sim.top.job) on the Verilated accelerator top.

Environment: TOP_JOB (pickled Job), TOP_RESULT (where the pickled Result goes), TOP_META
(JSON: channels, buffer names). The host side only writes registers, starts each step and
waits for ``irq``; the memories are cocotbext-axi RAMs.
"""
import json
import logging
import os
import time
import warnings
from itertools import cycle

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, RisingEdge, Timer
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam, AxiRamRead, AxiReadBus

from bitflight.compiler import isa
from bitflight.rtl.top import regs
from bitflight.rtl.top.decoder import FIELD_IDS
from bitflight.rtl.top.faults import Fault, message
from bitflight.sim.top.job import MemoryModel, Result, StepResult, load, save

PAGE = 4096
PERIOD_NS = 10


def _with_latency(ram: AxiRam, clock, latency: int) -> None:
    """Delay the first beat of every burst by ``latency`` cycles."""
    read_if, plain = ram.read_if, ram.read_if._read
    state = {"next": None}

    async def read(address, length):
        if address != state["next"]:
            await ClockCycles(clock, latency)
        state["next"] = address + length
        return await plain(address, length)
    read_if._read = read


def _throttle(ram: AxiRam, bandwidth: float) -> None:
    period = 64
    busy = max(1, round(bandwidth * period))
    pattern = [0] * busy + [1] * (period - busy)
    ram.read_if.r_channel.set_pause_generator(cycle(pattern))
    ram.write_if.w_channel.set_pause_generator(cycle(pattern))


class Host:
    def __init__(self, dut, meta):
        self.dut, self.meta = dut, meta
        self.ctrl = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "ctrl_"), dut.clk, dut.rst)
        self.imem = AxiRamRead(AxiReadBus.from_prefix(dut, "imem_"), dut.clk, dut.rst,
                               size=1 << 24)
        self.hbm = {}

    async def reg(self, name_or_offset):
        off = regs.offset(name_or_offset) if isinstance(name_or_offset, str) else name_or_offset
        return await self.ctrl.read_dword(off)

    async def wide(self, name):
        return await self.reg(f"{name}_LO") | await self.reg(f"{name}_HI") << 32

    async def run_step(self, step, max_cycles: int) -> StepResult:
        for ch, addr, data in step.writes:
            self.hbm[ch].write(addr, data)
        self.imem.write(0, step.words)
        for name, value in (("PROG_ADDR", 0), ("PROG_WORDS", len(step.words) // 4),
                            ("POS0", step.pos0), ("NTOK", step.ntok)):
            await self.ctrl.write_dword(regs.offset(name), value)
        await self.ctrl.write_dword(regs.offset("CTRL"), 1)
        if not self.dut.irq.value:
            await First(RisingEdge(self.dut.irq), Timer(max_cycles * PERIOD_NS, "ns"))
        status = await self.reg("STATUS")
        if not status & regs.STATUS_DONE:
            return StepResult(cycles=await self.wide("CYCLES"), stalls={}, active={},
                              error=f"step still running after {max_cycles} cycles (hung)")
        names = [q.name for q in isa.Queue]
        stalls = {n: await self.reg(regs.STALL_BASE + 4 * q) for q, n in enumerate(names)}
        active = {n: await self.reg(regs.BUSY_BASE + 4 * q) for q, n in enumerate(names)}
        result = StepResult(cycles=await self.wide("CYCLES"), stalls=stalls, active=active)
        if status & regs.STATUS_FAULT:
            result.error = await self._fault_message(status)
        return result

    async def _fault_message(self, status) -> str:
        code = Fault(status >> regs.STATUS_CODE_SHIFT & 0xFF)
        queue = status >> regs.STATUS_QUEUE_SHIFT & 7
        args = (await self.wide("ERR_ARG0"), await self.wide("ERR_ARG1"),
                await self.reg("ERR_ARG2"))
        heads = {}
        for q in isa.Queue:
            head = await self.reg(regs.HEAD_BASE + 4 * q)
            if head >> 31:
                heads[int(q)] = head & regs.INDEX_MASK
        dispatch = await self.reg("DISPATCH")
        blocked = (dispatch & regs.INDEX_MASK, dispatch >> 28 & 7) if dispatch >> 31 else None
        return message(code, await self.reg("ERR_INDEX"), queue, args, heads,
                       tuple(self.meta["buffer_bytes"]), FIELD_IDS, blocked)

    def _memory(self, b: isa.Buf):
        """The buffer's memory, its words and a word's bytes (a WGT word is a row of banks)."""
        size = self.meta["buffer_bytes"][b] // isa.LINE_BYTES
        word = isa.LINE_BYTES * (self.meta.get("wgt_lines", 1) if b == isa.Buf.WGT else 1)
        mem = getattr(self.dut.buffers, f"mem_{b.name.lower()}")
        return mem, size * isa.LINE_BYTES // word, word

    def buffers(self) -> dict[str, bytes]:
        out = {}
        for b in isa.Buf:
            mem, words, size = self._memory(b)
            out[b.name] = b"".join(int(mem[i].value).to_bytes(size, "little")
                                   for i in range(words))
        return out

    def load_buffers(self, contents: dict[str, bytes]) -> None:
        for b in isa.Buf:
            mem, words, size = self._memory(b)
            data = contents[b.name]
            for i in range(words):
                mem[i].value = int.from_bytes(data[size * i:size * (i + 1)], "little")


@cocotb.test()
async def run_job(dut):
    job = load(os.environ["TOP_JOB"])
    # cocotbext-axi logs every burst at INFO: formatting them costs more than simulating them
    logging.getLogger(f"cocotb.{dut._name}").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\.axi")
    meta = json.loads(os.environ["TOP_META"])
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
    host = Host(dut, meta)
    for ch in range(meta["channels"]):
        size = max(job.limits.get(ch, 0), PAGE)
        ram = AxiRam(AxiBus.from_prefix(dut, f"hbm{ch}_"), dut.clk, dut.rst, size=size)
        ram.write(0, job.channels.get(ch, b""))
        model = job.memory.get(ch, MemoryModel())
        if model.latency:
            _with_latency(ram, dut.clk, model.latency)
        if model.bandwidth < 1:
            _throttle(ram, model.bandwidth)
        host.hbm[ch] = ram
    if job.buffers is not None:
        host.load_buffers(job.buffers)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    assert await host.reg("ID") == regs.ID_VALUE, "control port does not answer with the top's ID"
    for ch in range(meta["channels"]):
        await host.ctrl.write_dword(regs.limit(ch), job.limits.get(ch, 0))
    await host.ctrl.write_dword(regs.offset("MODE"), int(job.skip_missing))
    start = time.perf_counter()
    steps = []
    for step in job.steps:
        steps.append(await host.run_step(step, job.max_cycles))
        if steps[-1].error and job.stop_on_error:
            break
    wall = time.perf_counter() - start
    hbm = {ch: bytes(host.hbm[ch].read(0, job.limits.get(ch, 0))) for ch in host.hbm}
    bufs = host.buffers() if job.dump_buffers else {}
    save(Result(steps=steps, hbm=hbm, buffers=bufs, wall_seconds=wall), os.environ["TOP_RESULT"])
