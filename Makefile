# Two commands do everything on a fresh machine:
#   make demo   set up, start a local Kafka and a worker, stream events, show decisions
#   make test   set up and run every test: lint, types, unit, golden, property, integration
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: setup system-deps demo test lint unit integration bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

system-deps:
	bash scripts/install-system-deps.sh

demo: setup system-deps
	$(BIN)/guardrail demo

lint: setup
	$(BIN)/ruff check streams tests
	$(BIN)/mypy streams

test: setup system-deps lint
	$(BIN)/pytest -p no:cacheprovider tests

unit: setup lint
	$(BIN)/pytest -p no:cacheprovider -m "not integration" tests

integration: setup system-deps
	$(BIN)/pytest -p no:cacheprovider -m integration tests

bench: setup
	$(BIN)/guardrail bench engine

clean:
	rm -rf $(VENV) var .cache
