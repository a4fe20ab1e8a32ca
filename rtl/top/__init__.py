"""The accelerator top: fetch, six in-order queues with wait/release tokens, LD/ST DMA engines on
AXI4 master ports, on-chip buffers with arbitration, SYS and AXI4-Lite control (docs/rtl/top.md)."""
