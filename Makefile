# The two commands of the README (make run, make test) each set up what they need on a fresh machine:
# a virtualenv in .venv with the project installed; the Kafka jars (Maven) and PostgreSQL are started
# by the glassbox CLI and the test fixtures themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench openapi infra-down clean web-test

# The web app (web/): npm ci when the lockfile changes, a build when its sources change; the gateway serves web/dist.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json
web/node_modules/.installed: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run build

web-test: web/dist/index.html
	cd web && npm test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP) web/dist/index.html
	$(BIN)/glassbox run --demo

test: $(STAMP) web-test
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
	$(BIN)/python -m bench.web

openapi: $(STAMP)
	$(BIN)/glassbox openapi all

infra-down: $(STAMP)
	$(BIN)/glassbox infra down

clean:
	rm -rf $(VENV) var

# The deployment files checked by the real tools that run here (no Docker engine is needed): docker-compose
# (Debian's, installed with apt-get when missing) reads docker-compose.yml; promtool and helm are built from their
# Go modules into var/tools once (Go's module and build caches stay in their usual places, so a fresh clone on the
# same machine only links them again); then the pytest checks of tests/deploy, helm-rendering ones included.
TOOLS            := var/tools
PROMTOOL_VERSION := v0.316.0
HELM_VERSION     := v3.22.0

.PHONY: check-deploy

$(TOOLS)/promtool:
	mkdir -p $(TOOLS)
	GOBIN=$(abspath $(TOOLS)) GOFLAGS=-buildvcs=false go install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)

$(TOOLS)/helm:
	mkdir -p $(TOOLS)
	GOBIN=$(abspath $(TOOLS)) GOFLAGS=-buildvcs=false go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

check-deploy: $(STAMP) $(TOOLS)/promtool $(TOOLS)/helm
	command -v docker-compose > /dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose)
	docker-compose -f docker-compose.yml config --quiet
	$(TOOLS)/promtool check config deploy/prometheus/prometheus.yml deploy/prometheus/kubernetes.yml
	$(TOOLS)/promtool check rules deploy/prometheus/rules/*.yml
	cd deploy/prometheus && ../../$(TOOLS)/promtool test rules tests/*.yml
	$(TOOLS)/helm lint --strict deploy/helm/glassbox
	$(TOOLS)/helm template glassbox deploy/helm/glassbox > /dev/null
	$(BIN)/pytest tests/deploy
