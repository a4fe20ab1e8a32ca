"""BitMoD bit-serial engine in Amaranth (docs/rtl/bitmod.md); arithmetic from golden.bitserial."""
