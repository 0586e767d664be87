"""Perp market keepers: order execution and liquidation (docs/spec.md §9)."""
