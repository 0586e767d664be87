"""Keepers: decision logic as pure functions over plain data (`logic`), chain I/O as a thin
shell (`runner`) — the MakerDAO keeper split."""
