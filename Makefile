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

.PHONY: help install synth review graphviz test deploy deploy-local lint clean lock

help:
	@echo "make install - create .venv and node_modules from the pinned files (every target does this first)"
	@echo "make synth   - install pinned tools, synthesize dev, preprod and prod into $(OUT)/; fails on any unacknowledged compliance finding; then writes the review pack to $(OUT)/review/"
	@echo "make review  - rebuild the security review pack in $(OUT)/review/ from an existing synth"
	@echo "make graphviz - install Graphviz (for the review pack's diagrams) where it is missing"
	@echo "make test    - install pinned tools, run the whole test suite"
	@echo "make deploy  - synth, then cdk deploy every stage to its account in the order the templates need (PROFILE_<env>=<aws profile>)"
	@echo "make deploy-local - cdk deploy the dev stage into a local moto server, smoke-test it, stop it"
	@echo "make lint    - cfn-lint every template of an existing synth in $(OUT)/"
	@echo "make lock    - rewrite constraints.txt from the installed venv"
	@echo "make clean   - remove $(OUT)/ (the venv and node_modules stay)"
	@echo "Options: CONFIG=path/to/platform.yaml OUT=cdk.out"

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@node --version | grep -q '^v22\.' || { echo "node_modules/.bin/node is not Node 22"; exit 1; }
	@touch $@

install: $(VENV)/.installed node_modules/.installed

# The app itself fails on any unacknowledged finding (compliance/gate.py). It synthesizes into
# $(OUT).next and replaces $(OUT) only on success: a bad configuration or a finding leaves the
# previous $(OUT) as it was ($(OUT).next keeps the failed run's report).
synth: install
	rm -rf $(OUT).next
	cdk synth --quiet --no-notices --output $(OUT).next -c config=$(CONFIG)
	rm -rf $(OUT) && mv $(OUT).next $(OUT)
	@echo "Synthesized $$(ls -d $(OUT)/assembly-* | xargs -n1 basename | tr '\n' ' ')into $(OUT)/ with zero unacknowledged compliance findings."
	@$(MAKE) --no-print-directory review

# The security review pack (controls, acknowledgements, IAM, cost, diagrams) from $(OUT)/.
review: graphviz
	$(PY) -m review $(OUT) --config $(CONFIG)

# Diagrams need Graphviz (a Debian package). Install it where missing; never fail the synth.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "Graphviz missing: installing it with apt-get (diagrams are skipped if that fails)"; \
	  { apt-get install -y -qq graphviz >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq graphviz >/dev/null 2>&1; }; } || \
	  echo "Graphviz could not be installed (no apt or no root): architecture diagrams will be skipped."; }

test: install
	$(PY) -m pytest

# Real accounts: each stage with its own account's profile (PROFILE_dev=..., PROFILE_preprod=...),
# in the order compliance/deploy_order.py derives from the templates (serving stages before the
# pipeline's, whose cross-account actions CodePipeline checks when it creates the pipeline).
deploy: synth
	@order="$$($(PY) -m compliance.deploy_order $(OUT))"; echo "Deploy order: $$order"; \
	for env in $$order; do \
	  profile_var="PROFILE_$$env"; profile="$${!profile_var:-}"; \
	  echo "cdk deploy '$$env/*'$${profile:+ --profile $$profile}"; \
	  cdk deploy "$$env/*" --app $(OUT) --no-notices --require-approval broadening \
	    $${profile:+--profile "$$profile"}; \
	done

# Deploy rehearsal (docs/deploy-rehearsal.md): no AWS account, nothing leaves localhost.
deploy-local: install
	$(PY) -m rehearsal.deploy_local --config $(CONFIG)

lint: install
	$(VENV)/bin/cfn-lint $(OUT)/assembly-*/*.template.json

lock: install
	$(PY) -m pip freeze --exclude-editable | grep -v '^xgboost==' > constraints.txt

clean:
	rm -rf $(OUT) $(OUT).next
