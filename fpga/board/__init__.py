"""Board flows: files a user runs with the vendor's tools on a board we do not have here
(the Alveo U280 Vitis RTL-kernel package) and the open ECP5 flow (docs/hardware-flow.md,
"On a board")."""
