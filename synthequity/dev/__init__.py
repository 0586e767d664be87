"""Dev-only code, apart from what keepers and users run: the gas and keeper benches
(`make bench`, `make bench-keepers`), the local anvil they and the tests start (`devchain`) and
`make demo`. Nothing under `synthequity.keepers`, `synthequity.user` or `scripts/` that an
operator or a wallet user runs imports it; the in-process deploy API for tests and auditors is
`synthequity.testing`."""
