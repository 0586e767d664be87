"""Perp market keepers: order execution and liquidation (SPEC.md §9)."""
