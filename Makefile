# The two commands of the README: `make run` and `make test`. Each sets up .venv first if needed.
PYTHON ?= python3
VENV := .venv
READY := $(VENV)/.ready

.PHONY: run test lint

$(READY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(READY)

run: $(READY)
	$(VENV)/bin/stormline serve

lint: $(READY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest
