# Two commands on a fresh machine: `make synth` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
CONFIG  ?= config/platform.yaml
OUT     ?= cdk.out

# The pinned Node.js 22 and CDK CLI from node_modules come first, then the venv.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
# No AWS account is needed to synthesize or test; never ask instance metadata for one.
export AWS_EC2_METADATA_DISABLED := true
export CDK_DISABLE_VERSION_CHECK := true
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install synth review scan chromium graphviz test deploy-local lint clean lock

help:
	@echo "make synth   - install pinned tools, synthesize dev, preprod and prod into $(OUT)/ with compliance checks, and write the review pack to $(OUT)/review/"
	@echo "make review  - rebuild the security review pack in $(OUT)/review/ from an existing synth"
	@echo "make test    - install pinned tools, run the whole test suite"
	@echo "make deploy-local - cdk deploy the dev stage into a local moto server, smoke-test it, stop it"
	@echo "make clean   - remove $(OUT)/ (the venv and node_modules stay)"
	@echo "Options: CONFIG=path/to/platform.yaml"

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@node --version | grep -q '^v22\.' || { echo "node_modules/.bin/node is not Node 22"; exit 1; }
	@touch $@

install: $(VENV)/.installed node_modules/.installed

synth: install
	rm -rf $(OUT)
	cdk synth --quiet --no-notices --output $(OUT) -c config=$(CONFIG)
	@echo "Synthesized $$(ls -d $(OUT)/assembly-* | xargs -n1 basename | tr '\n' ' ')into $(OUT)/ with zero unacknowledged compliance findings."
	@$(MAKE) --no-print-directory review

# The security review pack (controls, acknowledgements, IAM, cost, diagrams) from $(OUT)/.
# BASELINE=<git ref | cdk.out folder> adds the change review; FAIL_ON_BROADEN=1 makes it a gate.
review: graphviz
	$(PY) -m review $(OUT) --config $(CONFIG) $(if $(BASELINE),--baseline $(BASELINE)) \
	  $(if $(filter 1 yes true,$(FAIL_ON_BROADEN)),--fail-on-broaden)

# checkov, the institution's IaC scanner, in its own venv (its dependencies clash with the CDK's).
SCAN_VENV := .venv-scan
$(SCAN_VENV)/.installed: requirements-scan.txt
	@test -x $(SCAN_VENV)/bin/python || python3 -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	@touch $@

scan: $(SCAN_VENV)/.installed
	$(PY) -m review.checkov $(OUT) --checkov $(SCAN_VENV)/bin/checkov
	@$(MAKE) --no-print-directory review

# Headless Chromium (a Debian package) for the review pack's browser test; skipped where missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Chromium missing: installing it with apt-get (the browser test is skipped if that fails)"; \
	  { apt-get install -y -qq chromium >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }; } || \
	  echo "Chromium could not be installed (no apt or no root): the browser test will be skipped."; }

# Diagrams need Graphviz (a Debian package). Install it where missing; never fail the synth.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "Graphviz missing: installing it with apt-get (diagrams are skipped if that fails)"; \
	  { apt-get install -y -qq graphviz >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq graphviz >/dev/null 2>&1; }; } || \
	  echo "Graphviz could not be installed (no apt or no root): architecture diagrams will be skipped."; }

test: install chromium $(SCAN_VENV)/.installed
	$(PY) -m pytest

# Deploy rehearsal (docs/deploy-rehearsal.md): no AWS account, nothing leaves localhost.
deploy-local: install
	$(PY) -m rehearsal.deploy_local --config $(CONFIG)

lint: install
	$(VENV)/bin/cfn-lint $(OUT)/assembly-*/*.template.json

lock: install
	$(PY) -m pip freeze --exclude-editable | grep -v '^xgboost==' > constraints.txt

clean:
	rm -rf $(OUT)
