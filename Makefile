# Stereo — every target creates .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: generate test check lint bench demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[correlate,service,heatmap,dev]'
	touch $(STAMP)

generate: $(STAMP)
	$(BIN)/stereo generate

test: $(STAMP)
	$(BIN)/python -m pytest

check: $(STAMP)
	$(BIN)/stereo generate --check
	promtool check rules rules/*.yaml alerts/*.yaml

lint: $(STAMP)
	$(BIN)/ruff check generator tests tools bench

bench: $(STAMP)
	$(BIN)/python -m bench

demo: $(STAMP)
	$(BIN)/python -m generator.demo

clean:
	rm -rf $(VENV) .pytest_cache .cache .demo
