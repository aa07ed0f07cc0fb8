# Stereo — every target creates .venv when it is missing and installs what it needs, no more.
#   make generate: the base package only (grafanalib, PyYAML, Jinja2)
#   make test:     the Debian programs the tests run (tools/setup-test-deps.sh) + every extra + dev tools
# Each install leaves a stamp, so `make generate` after `make test` installs nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE := $(VENV)/.installed-base
STAMP := $(VENV)/.installed
PIP := $(BIN)/pip install --quiet --disable-pip-version-check

.PHONY: generate test test-deps check lint bench demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BASE): pyproject.toml | $(BIN)/python
	$(PIP) -e .
	touch $@

$(STAMP): pyproject.toml $(BASE)
	$(PIP) -e '.[correlate,service,heatmap,dev]'
	touch $@

generate: $(BASE)
	$(BIN)/stereo generate

test-deps:
	tools/setup-test-deps.sh

# the suite on TEST_WORKERS pytest-xdist workers (`make test TEST_WORKERS=0` runs it serially); tests sharing an
# expensive fixture run on one worker, the groups in the order tests/conftest.py gives (tests/xdist_groups.py)
# PYTHONDONTWRITEBYTECODE is cleared for the suite: with it, each of its many Python processes (xdist workers,
# `stereo` subprocesses, service workers) compiles Stereo's modules again and pytest rewrites every test module again
TEST_WORKERS ?= 3
test: test-deps $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(TEST_WORKERS)

check: $(BASE)
	$(BIN)/stereo generate --check
	@command -v promtool >/dev/null || tools/setup-test-deps.sh
	promtool check rules rules/*.yaml alerts/*.yaml

lint: $(STAMP)
	$(BIN)/ruff check generator tests tools bench

bench: test-deps $(STAMP)
	$(BIN)/python -m bench

demo: $(STAMP)
	$(BIN)/python -m generator.demo

clean:
	rm -rf $(VENV) .pytest_cache .cache .demo
