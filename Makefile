# Two commands on a fresh machine: `make run` runs hdbot, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint locales locales-update clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Compile the gettext catalogues (.po → .mo).
locales: install
	$(BIN)/pybabel compile --domain hdbot --directory locales --statistics

# Extract messages from the code and merge them into both catalogues.
locales-update: install
	$(BIN)/python locales/sync.py

run: locales
	$(BIN)/hdbot db upgrade
	$(BIN)/hdbot run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: locales lint
	$(BIN)/pytest -p no:cacheprovider -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
