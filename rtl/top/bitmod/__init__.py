"""The BitMoD engine of the accelerator top: MM/MV with engine BITMOD on ``rtl/bitmod``'s array."""
