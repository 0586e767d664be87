"""The oracle keeper: pushes an equity's price and market status into `EquityOracle`."""
