# Developer entry points. `make run` works from a fresh clone: it creates the
# virtualenv, trains the missing model artifacts and starts everything.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install models run test lint clean

install: $(STAMP)

# The stamp makes pip rerun only when a requirements file changes; it is
# touched last, so an interrupted install is retried next time.
$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed; try: make PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements-dev.txt -c constraints.txt
	touch $@

# Migrates the registry (var/registry.sqlite unless DATABASE_URL says otherwise) and trains the
# built-in models it lacks.
models: install
	$(BIN)/python -m models.build

# `make run FLOWER=1` adds the Flower dashboard (http://127.0.0.1:5555).
run: models
	$(BIN)/python -m tools.run_local $(if $(FLOWER),--with flower)

# The suite under coverage: every Python process the tests start is measured too
# (pyproject.toml's [tool.coverage.run] patch), then the data files are combined.
test: install
	rm -rf .coverage && mkdir -p .coverage
	$(BIN)/python -m coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/python -m coverage combine -q
	$(BIN)/python -m coverage report
	@echo "lines and branches covered in jobqueue, web, worker and models (at least 90 %):"
	$(BIN)/python -m coverage report --include='jobqueue/*,web/*,worker/*,models/*' --format=total --fail-under=90

# The checks CI runs before the tests (the pre-commit hooks run the same).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var models/store models/seed .coverage
