# The two commands of the README (make run, make test) each set up what they need on a fresh machine:
# a virtualenv in .venv with the project installed; the Kafka jars (Maven) and PostgreSQL are started
# by the glassbox CLI and the test fixtures themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench openapi infra-down clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/glassbox run

test: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench.relay_bench
	$(BIN)/python -m bench.api_bench
	$(BIN)/python -m bench.gateway_bench
	$(BIN)/python -m bench.clients_import_bench
	$(BIN)/python -m bench.clients_scale_bench
	$(BIN)/python -m bench.deals
	$(BIN)/python -m bench.analytics
	$(BIN)/python -m bench.billing
	$(BIN)/python -m bench.billing.statements
	$(BIN)/python -m bench.notifications

openapi: $(STAMP)
	$(BIN)/glassbox openapi all

infra-down: $(STAMP)
	$(BIN)/glassbox infra down

clean:
	rm -rf $(VENV) var
