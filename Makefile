# Thin entry points; the logic lives in linq/ (see README.md).
SHELL := /bin/bash
PY := .venv/bin/python
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: setup test lint unit stress demo devnet-up devnet-down clean-state

setup:            ## install every real part offline (cached in ~/.cache/linq)
	python3 -m linq.tools.setup

lint: setup       ## ruff (lint + format check) + mypy
	$(PY) -m ruff check linq components lpstack stacks tests bench
	$(PY) -m ruff format --check linq components lpstack stacks tests bench
	$(PY) -m mypy

test: setup lint  ## the whole suite: unit, integration on the real devnet, contracts (forge)
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

unit: setup       ## fast tests only (no servers)
	$(PY) -m pytest -p no:cacheprovider tests/unit $(PYTEST_ARGS)

stress: setup     ## on demand, not in CI: the integration suite beside 2 busy processes (bench/stress.py; --ci for all of .ci/run)
	$(PY) bench/stress.py --busy 2

demo: setup       ## the main job end to end on the embedded devnet
	$(PY) -m components.demo

devnet-up: setup
	.venv/bin/linq devnet up

devnet-down:
	.venv/bin/linq devnet down

clean-state:      ## forget the local devnet (stops it first)
	-.venv/bin/linq devnet down
	rm -rf .linq
