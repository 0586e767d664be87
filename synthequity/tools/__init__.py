"""Developer tools run by `make lint` (contract review aids)."""
