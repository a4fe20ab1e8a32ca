"""bitflight board u280: the generated package's structure (XML, TCL, link config, shell lint) and
the XRT host protocol run against a card whose kernel is the ISA simulator."""
import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

from bitflight import cli
from bitflight.base import config
from bitflight.compiler import encoding, models
from bitflight.fpga import export
from bitflight.fpga.board import u280, xrt_host
from bitflight.golden.llm.accel import accelerator_model
from bitflight.golden.policy import load_policy
from bitflight.rtl.top import regs
from bitflight.sim.isa import scheduler
from bitflight.sim.isa.machine import Machine


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("u280") / "pkg"
    assert cli.main(["board", "u280", "--config", "tiny", "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    out = tmp_path_factory.mktemp("compiled") / "out"
    assert cli.main(["compile", "--model", "tiny-golden", "--config", "tiny", "--policy",
                     "flightllm", "--max-len", "32", "-o", str(out)]) == 0
    return out


def _shell_masters(package):
    """The AXI masters of the shell, from its (ANSI) port list: name -> data width."""
    shell = (package / "accelerator_kernel.v").read_text()
    return {name: int(msb) + 1 for msb, name in
            re.findall(r"input wire \[(\d+):0\] m_axi_(\w+)_rdata,", shell)}


def test_kernel_xml_has_every_axi_master_with_its_base_register(package):
    root = ET.parse(package / "kernel.xml").getroot()
    kernel = root.find("kernel")
    assert kernel.get("hwControlProtocol") == "user_managed" and kernel.get("interrupt") == "true"
    xml_ports = {p.get("name"): p for p in kernel.find("ports")}
    args = {a.get("name"): a for a in kernel.find("args")}
    masters = _shell_masters(package)
    # tiny: four HBM channels and the instruction port, every one a master of the shell
    assert set(masters) == {"imem", "hbm0", "hbm1", "hbm2", "hbm3"} == set(args)
    assert set(xml_ports) == {"s_axi_control"} | {f"m_axi_{m}" for m in masters}
    shell = (package / "accelerator_kernel.v").read_text()
    offsets = set()
    for name, arg in args.items():
        port = xml_ports[arg.get("port")]
        assert port.get("mode") == "master" and arg.get("addressQualifier") == "1"
        assert int(port.get("dataWidth")) == masters[name] == (32 if name == "imem" else 128)
        offset = int(arg.get("offset"), 16)
        # the shell captures this offset's low and high word into the master's base register
        assert f"12'h{offset:03X}) base_{name}[31:0]" in shell
        assert f"12'h{offset + 4:03X}) base_{name}[63:32]" in shell
        assert offset >= 0x200 and offset not in offsets   # beyond the top's own registers
        offsets.add(offset)
    assert int(xml_ports["s_axi_control"].get("range"), 16) == 1 << regs.ADDR_BITS


def test_link_config_maps_every_master_to_its_bank_and_sets_the_clock(package):
    text = (package / "link.cfg").read_text()
    sps = dict(re.findall(r"^sp=accelerator_kernel_1\.(\w+):(\S+)$", text, re.M))
    assert sps == {"imem": "DDR[0]", "hbm0": "HBM[0]", "hbm1": "HBM[1]", "hbm2": "HBM[2]",
                   "hbm3": "HBM[3]"}
    assert set(sps) == set(_shell_masters(package))
    assert "nk=accelerator_kernel:1:accelerator_kernel_1" in text
    assert "freqHz=100000000:accelerator_kernel_1" in text          # tiny: clock_mhz 100
    xdc = (package / "accelerator_kernel_ooc.xdc").read_text()
    assert "create_clock -period 10.000 -name ap_clk [get_ports ap_clk]" in xdc


def test_tcl_references_files_that_exist_and_every_interface(package):
    tcl = (package / "package_kernel.tcl").read_text()
    assert tcl.count("{") == tcl.count("}") and tcl.count("[") == tcl.count("]")
    referenced = set(re.findall(r"\$here/([\w.]+\.(?:v|xdc|xml))\b", tcl))
    assert referenced == {"accelerator_kernel.v", "accelerator.v", "accelerator_kernel_ooc.xdc",
                          "kernel.xml"}
    assert all((package / name).is_file() for name in referenced)
    busifs = set(re.findall(r"-busif (\S+) -clock ap_clk", tcl))
    xml_ports = {p.get("name") for p in ET.parse(package / "kernel.xml").getroot().iter("port")}
    assert busifs == xml_ports
    assert "package_xo -force -xo_path $here/accelerator_kernel.xo" in tcl
    assert "accelerator_kernel.xo" in (package / "build.sh").read_text()


def test_shell_and_top_lint_clean_together(package, tmp_path):
    combined = tmp_path / "kernel.v"
    combined.write_text((package / "accelerator_kernel.v").read_text()
                        + (package / "accelerator.v").read_text())
    export.lint(combined, "accelerator_kernel")


def test_unknown_hbm_channel_is_refused():
    assert u280.bank("hbm31") == "HBM[31]"
    with pytest.raises(ValueError, match="HBM channel 32: the U280 has pseudo-channels 0..31"):
        u280.bank("hbm32")


class IsaCard:
    """A card whose kernel is sim.isa: buffers at made-up device addresses, the registers of
    docs/rtl/top.md; CTRL = 1 runs the program found through the base registers."""

    def __init__(self, board, cfg):
        self.board, self.regs, self.buffers = board, {}, {}
        self.machine = Machine(cfg, {})
        self.status = 0

    def alloc(self, bank, size):
        address = (len(self.buffers) + 1) << 33            # above 4 GiB: tests the high word
        buf = self.buffers[address] = _Buffer(address, size)
        buf.bank = bank
        return buf

    def read_register(self, offset):
        return {regs.offset("ID"): regs.ID_VALUE,
                regs.offset("STATUS"): self.status}.get(offset, self.regs.get(offset, 0))

    def write_register(self, offset, value):
        assert 0 <= value < 1 << 32
        self.regs[offset] = value
        if offset == regs.offset("CTRL") and value & 1:
            self._run()

    def _master(self, name):
        off = self.board["masters"][name]["base_offset"]
        return self.buffers[self.regs[off] | self.regs[off + 4] << 32]

    def _run(self):
        imem = self._master("imem")
        start, words = self.regs[regs.offset("PROG_ADDR")], self.regs[regs.offset("PROG_WORDS")]
        raw = np.frombuffer(bytes(imem.data[start:start + 4 * words]), "<u4")
        channels = {c: self._master(f"hbm{c}") for c in range(self.board["channels"])}
        self.machine.hbm = {c: buf.data for c, buf in channels.items()}
        scheduler.run(self.machine, encoding.decode_words(raw.tolist()),
                      self.regs[regs.offset("POS0")], self.regs[regs.offset("NTOK")])
        self.status = regs.STATUS_DONE


class _Buffer:
    def __init__(self, address, size):
        self._address, self.data = address, bytearray(size)

    def address(self):
        return self._address

    def write(self, data, offset):
        self.data[offset:offset + len(data)] = data

    def read(self, size, offset):
        return bytes(self.data[offset:offset + size])


def test_host_runs_prefill_and_decode_like_golden(package, compiled):
    out = compiled
    board = json.loads((package / "board.json").read_text())
    card = IsaCard(board, config.load("tiny"))
    session = xrt_host.BoardSession(card, board, out)
    assert {b.bank for b in card.buffers.values()} == {m["bank"] for m in board["masters"].values()}
    manifest = json.loads((out / "manifest.json").read_text())
    for c in range(4):
        assert card.regs[regs.limit(c)] == manifest["channel_bytes"].get(str(c), 0)
    golden = accelerator_model(models.load("tiny-golden").golden, load_policy("flightllm"))
    ids = [5, 17, 3, 250, 9]
    want, cache = golden.prefill(torch.tensor([ids]))
    got = session.prefill(ids)
    assert card.regs[regs.offset("NTOK")] == 5 and card.regs[regs.offset("POS0")] == 0
    assert np.array_equal(got, want[0].float().numpy())
    token = int(got[-1].argmax())
    want_next = golden.decode(torch.tensor([token]), cache)[0].float().numpy()
    assert np.array_equal(session.decode(token), want_next)
    assert card.regs[regs.offset("POS0")] == 5 and card.regs[regs.offset("NTOK")] == 1


def test_host_reports_a_fault_in_one_line(package, compiled):
    out = compiled
    board = json.loads((package / "board.json").read_text())
    card = IsaCard(board, config.load("tiny"))
    session = xrt_host.BoardSession(card, board, out)
    fault = 3
    card._run = lambda: setattr(card, "status", regs.STATUS_DONE | regs.STATUS_FAULT
                                | fault << regs.STATUS_CODE_SHIFT)
    card.regs[regs.offset("ERR_INDEX")] = 42
    with pytest.raises(xrt_host.BoardError, match=r"bucket prefill:\d+: fault \w+ at "
                                                  r"instruction #42"):
        session.prefill([1, 2])
