"""synthequity: synthetic US equities on EVM chains — reference models, keepers, SDK."""

__version__ = "0.1.0"
