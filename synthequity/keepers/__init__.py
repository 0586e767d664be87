"""Keepers: decision logic as pure functions over plain data (`logic`), chain I/O as a thin
shell (`runner`) — the MakerDAO keeper split. The order and liquidation keepers share one loop
(`shell`: ticks, jobs, decisions, counters) over the `ChainIO` protocol, which `transport`
implements over Ape and JSON-RPC batches."""
