# Fengqiao: `make demo` runs the platform with demo data; `make test` runs every check CI runs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install messages demo test lint check test-sqlite test-postgres test-e2e serve clean check-reliability

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed messages

# Compile every gettext catalogue under src/fengqiao (project and per-app); .mo files are build
# output, not committed.
messages: $(VENV)/.installed
	cd src/fengqiao && $(CURDIR)/$(BIN)/django-admin compilemessages -v 0

demo: install
	FENGQIAO_DEMO=1 $(BIN)/fengqiao demo

serve: install
	$(BIN)/fengqiao serve

test: install
	bash tools/run_tests.sh

# The full fault, fuzz and load checks (minutes to an hour); `make test` runs their small versions.
check-reliability: install
	bash tools/check_reliability.sh

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

clean:
	rm -rf var/test*.sqlite3* build dist *.egg-info
