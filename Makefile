# Quick start:  make run   (sets everything up, runs the housing pipeline)
#               make test  (sets everything up, runs the test suite)
VENV ?= .venv
PY := $(VENV)/bin/python
RECIPE ?= housing
ARGS ?=
PYTEST_ARGS ?=
export PYTHON

.PHONY: run test test-fast lint bench lock clean venv

$(VENV)/.installed: requirements.lock pyproject.toml scripts/bootstrap.sh scripts/find_python.sh
	bash scripts/bootstrap.sh $(VENV)

venv: $(VENV)/.installed

run: venv
	$(VENV)/bin/tke run --recipe $(RECIPE) $(ARGS)

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: venv
	$(PY) -m pytest -m 'not e2e' $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

bench: venv
	$(PY) bench/taxi_vs_tfx.py

# Re-resolve the pinned stack (needs uv; bootstrap puts one in .tools/uv).
lock:
	$(or $(shell command -v uv),.tools/uv/bin/uv) pip compile requirements.in --universal \
	  --python-version 3.10 -o requirements.lock

clean:
	rm -rf $(VENV) .tools runs .pytest_cache
