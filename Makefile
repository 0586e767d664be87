# synthequity — `make demo` and `make test` work on a fresh machine (Python 3.11, Node 20):
# each installs what is missing into .venv and node_modules first, and is safe to re-run.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# ape-vyper finds the pip-installed vyper and ape-foundry finds npm's anvil through PATH.
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: help install install-runtime lock demo test test-fast lint layout format bench bench-keepers \
	compile clean dapp dapp-build dapp-assets

help:
	@echo "make demo    local chain + deploy + the 2022 drawdown replayed with agents and keepers + report"
	@echo "make test    the whole suite (HYPOTHESIS_PROFILE=nightly for the deep run)"
	@echo "make lint    ruff + mamushi (Vyper formatting) + mypy --strict + storage layouts and code sizes"
	@echo "make dapp    local chain + deploy + keepers + the wallet dapp on http://127.0.0.1:8611/"
	@echo "make dapp-build NETWORK=<deployments key> RPC_URL=<url>  the dapp as a static folder"
	@echo "make bench   receipt gas of the docs/spec.md §10 operations + the keeper's checks per second"
	@echo "make bench-keepers  the liquidation keeper against 10,000 positions (ACCOUNTS=N)"
	@echo "make install-runtime  only what a keeper operator needs (no tests, charts, linters)"
	@echo "make lock    constraints.txt from pyproject.toml's ranges (uv pip compile)"

# `make test` and `make demo` need every extra (titanoboa for the in-process tests, matplotlib
# for the charts, the linters): `.[dev]` pulls `.[sim,test]` in. A venv that only had the
# runtime set (`make install-runtime`) is completed here: its stamp is another file.
$(PY_STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

# A keeper operator's or wallet user's install: the runtime set only (pyproject.toml's
# `dependencies`), pinned by constraints.txt.
install-runtime: $(NODE_STAMP)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .

# constraints.txt from the declared ranges (every extra, Python 3.11), keeping the versions it
# already pins unless a range excludes them; `make lock UPGRADE=1` moves to the newest allowed.
# uv comes with the dev extra (installed here if missing); it reads PyPI, nothing else.
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet 'uv>=0.5'
	$(BIN)/uv pip compile pyproject.toml --all-extras --python-version 3.11 --no-annotate \
		--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) -o constraints.txt

# `npm install --no-save` rather than `npm ci`: npm 11 records anvil's platform packages only
# for the platform that wrote the lock, and `npm ci` then refuses the lock everywhere.
$(NODE_STAMP): package.json package-lock.json
	npm install --no-save --no-audit --no-fund --loglevel=error
	@test -x node_modules/.bin/anvil
	@touch $@

# The dapp's own packages (Vite, viem, Vitest, playwright-core: no browser download; the
# browser tests drive Debian's /usr/bin/chromium).
DAPP_STAMP := dapp/node_modules/.installed
$(DAPP_STAMP): dapp/package.json dapp/package-lock.json
	cd dapp && npm install --no-save --no-audit --no-fund --loglevel=error
	@touch $@

install: $(PY_STAMP) $(NODE_STAMP) $(DAPP_STAMP)

# Ape does not see edits to modules it does not compile alone (snake_case .vy files), so
# every entry point rebuilds; it takes a few seconds.
compile: install
	ape compile --force

demo: compile
	python -m synthequity.dev.demo

# Three parallel lanes (boa, Ape unit, Ape integration), each Ape lane on its own anvil, with
# a progress line every 30 s; logs in .test-logs/ (synthequity/dev/test_lanes.py).
test: compile
	python -m synthequity.dev.test_lanes

# The page's ABIs come from the compiled contracts, its NYSE sessions and its formulas' test
# vectors from the Python side (synthequity.dev.dapp_data); the bundle's size is printed.
dapp-assets: compile
	python -m synthequity.dev.dapp_data
	cd dapp && npm run build

dapp: dapp-assets
	python -m synthequity.dev.dapp

NETWORK ?=
RPC_URL ?=
dapp-build: dapp-assets
	@test -n "$(NETWORK)" -a -n "$(RPC_URL)" || \
		{ echo "usage: make dapp-build NETWORK=<deployments/ key> RPC_URL=<public rpc>"; exit 2; }
	python -m synthequity.dev.dapp_build --network $(NETWORK) --rpc-url $(RPC_URL)

test-fast: compile
	HYPOTHESIS_PROFILE=dev ape test tests -p no:cacheprovider -q -m "not integration"

# mamushi would rewrite `#pragma optimize codesize` as `# pragma ...`, which ape-vyper does not
# read (it then compiles for gas and the file's pragma conflicts): such files are skipped.
VY_FORMATTED = $(shell grep -rL '^\#pragma optimize' contracts interfaces --include='*.vy' --include='*.vyi')

lint: install
	ruff check synthequity scripts tests
	ruff format --check synthequity scripts tests
	mamushi --check -l 100 $(VY_FORMATTED)
	mypy  # --strict on synthequity/model and synthequity/keepers/*/logic.py ([tool.mypy])
	python -m synthequity.tools.contract_review

# Accept a reviewed storage-layout change (docs/storage-layout/) and the interfaces users
# call at an extended deployable (docs/abi/).
layout: install
	python -m synthequity.tools.contract_review --update

format: install
	ruff check --fix synthequity scripts tests
	ruff format synthequity scripts tests
	mamushi -l 100 $(VY_FORMATTED)

bench: compile
	python -m synthequity.dev.devchain -- ape run bench --network ethereum:local:foundry

# A fresh anvil of our own (no --steps-tracing: bulk transactions run several times faster).
ACCOUNTS ?= 10000
bench-keepers: compile
	python -m synthequity.dev.devchain -- ape run bench_keepers --accounts $(ACCOUNTS) \
		--network ethereum:local:foundry

clean:
	rm -rf .build .cache .devchain .test-logs reports deployments/ethereum-local.json dapp/dist
