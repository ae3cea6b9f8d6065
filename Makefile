# The two commands of the README. Both set up everything they need on a fresh machine.
.PHONY: demo test lint typecheck bench clean

VENV ?= .venv
PYTHON ?= python3

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/queue-app demo

test: $(VENV)/.installed
	VENV=$(VENV) scripts/test

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

bench: $(VENV)/.installed
	VENV=$(VENV) scripts/with-postgresql $(VENV)/bin/python -m bench.serve_load
	VENV=$(VENV) scripts/with-postgresql $(VENV)/bin/python -m bench.request_cost

clean:
	rm -rf $(VENV) instance build *.egg-info
