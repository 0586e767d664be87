"""Vault liquidation keeper decisions (SPEC.md §9)."""
