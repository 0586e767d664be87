"""Reports a person reads at the end of a run: tables built from on-chain events."""
