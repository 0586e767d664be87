"""Vault liquidation keeper decisions (docs/spec.md §9)."""
