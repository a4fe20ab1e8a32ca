"""sim.top.weight_path: at the U280 design point, more WGT banks never cost cycles, and with 128
(a beat of 1024 rows of 4-bit codes per row read) an MV runs within 50 % of its beats alone
(one beat per 2 cycles: 576 for 1536 x 576), where one bank is many times slower. The rest is
the header, each tile's first beat, the metadata reads' port cycles and, at the end, the last
tile's 512 results: 64 line writes into OUT."""
from bitflight.base import config
from bitflight.sim.top.weight_path import main, mv_cycles

CFG = config.load("configs/designs/u280-bitmod.yaml")


def _with_banks(banks):
    return CFG.model_copy(update={"bitmod": CFG.bitmod.model_copy(update={"sram_banks": banks})})


def test_banks_feed_the_column():
    n, k = 1536, 576
    beats = 2 * (k // 4) * -(-n // 1024)
    cycles = [mv_cycles(_with_banks(b), n, k) for b in (1, 8, 32, 128)]
    assert cycles == sorted(cycles, reverse=True)
    assert beats < cycles[-1] <= 1.5 * beats < 10 * beats < cycles[0]


def test_prints_a_row_per_bank_count(capsys):
    main(["--banks", "2,128", "--shapes", "576x1536"])
    rows = capsys.readouterr().out.splitlines()[2:]
    # banks, the beat reader's window rows (8-bit beats of 32 768 bits), the starting points of
    # a 3-bit beat in a row (row / gcd(12 288, row)), metadata fields per item
    assert [r.split()[:4] for r in rows] == [["2", "128", "1", "64"], ["128", "2", "4", "4"]]
