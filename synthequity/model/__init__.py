"""Reference models: independent Python implementations of the on-chain math and state
machines, used by the tests (contract == model) and by the keepers' decisions."""
