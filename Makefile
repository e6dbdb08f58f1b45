# Two commands on a fresh machine: `make demo` and `make test`.
# Both build .venv/ from the hash-locked requirements when it is missing or stale.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv bench lock clean bytecode

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 以上が必要です")'
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(MAKE) --no-print-directory bytecode
	touch $(STAMP)

# The package's own bytecode, compiled ahead (pip does it for the dependencies, not for an editable
# install): every command then starts without compiling its modules, also where PYTHONDONTWRITEBYTECODE
# keeps Python from caching them itself. Up-to-date files are skipped.
bytecode:
	$(VENV)/bin/python -m compileall -q councilbot

demo: $(STAMP) bytecode
	$(VENV)/bin/councilbot demo

test: lint
	@scripts/ensure-test-tools.sh
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

# Lint, format and type checks (mypy strict for domain and services); part of `make test`, so CI runs them.
lint: $(STAMP)
	$(VENV)/bin/ruff check councilbot tests bench
	$(VENV)/bin/ruff format --check councilbot tests bench
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/python bench/search_quality.py
	$(VENV)/bin/python bench/search_speed.py --sizes 20000
	$(VENV)/bin/python bench/export_speed.py
	$(VENV)/bin/python bench/draft_quality.py
	$(VENV)/bin/python bench/minutes_quality.py
	$(VENV)/bin/python bench/commitment_quality.py
	$(VENV)/bin/python bench/startup.py
	$(VENV)/bin/python bench/embedding_speed.py
	$(VENV)/bin/python bench/import_memory.py --records 20000

# Regenerate the lock after changing dependencies in pyproject.toml (needs uv).
lock:
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) data index/* exports/*
