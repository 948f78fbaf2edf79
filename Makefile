# Two commands on a fresh machine: `make synth` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
CONFIG  ?= config/platform.yaml
OUT     ?= cdk.out
DIST    ?= dist
# What `make lint` checks with ruff (mypy's files are in pyproject.toml).
LINT_PATHS := app.py cdk_constructs compliance platform_config stacks lambda ml examples

# The pinned Node.js 22 and CDK CLI from node_modules come first, then the venv.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
# No AWS account is needed to synthesize or test; never ask instance metadata for one.
export AWS_EC2_METADATA_DISABLED := true
export CDK_DISABLE_VERSION_CHECK := true
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install synth review graphviz test deploy-local lint clean lock package package-check lint-python deploy test-lambda-runtime scan chromium

help:
	@echo "make help    - this list"
	@echo "make install - create .venv and node_modules from the pinned files (every target does this first)"
	@echo "make synth   - install pinned tools, synthesize dev, preprod and prod into $(OUT)/; fails on any unacknowledged compliance finding; then writes the review pack to $(OUT)/review/"
	@echo "make review  - rebuild the security review pack in $(OUT)/review/ from an existing synth"
	@echo "make scan    - checkov (the institution's IaC scanner, pinned, own venv) on $(OUT)/, then the review pack with its result"
	@echo "make chromium - install headless Chromium (for the review pack's browser test) where it is missing"
	@echo "make graphviz - install Graphviz (for the review pack's diagrams) where it is missing"
	@echo "make test    - install pinned tools, run the whole test suite"
	@echo "make package - build the library wheel (cdk_constructs, compliance, platform_config) into $(DIST)/"
	@echo "make package-check - build the wheel, install it into a fresh venv, synthesize examples/ from it (part of make test)"
	@echo "make lint    - ruff (lint + format check) and mypy on the package, stacks and Lambda code, then cfn-lint on $(OUT)/"
	@echo "make lint-python - ruff (lint + format check) and mypy only"
	@echo "make deploy  - synth, then cdk deploy every stage to its account in the order the templates need (PROFILE_<env>=<aws profile>)"
	@echo "make test-lambda-runtime - the Lambda tests and probes under the Lambda runtime's Python, or the closest pyenv has (part of make test)"
	@echo "make deploy-local - cdk deploy the dev stage into a local moto server, smoke-test it, stop it"
	@echo "make lock    - rewrite constraints.txt from the installed venv"
	@echo "make clean   - remove $(OUT)/ (the venv and node_modules stay)"
	@echo "Options: CONFIG=path/to/platform.yaml OUT=cdk.out"

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@# cdk.json runs the app with `python3 -O` (jsii's per-call Python type checks off; they run
	@# in the tests). Optimized bytecode is compiled once here: with PYTHONDONTWRITEBYTECODE,
	@# every synth would otherwise compile aws-cdk-lib from source (about 6 s).
	$(PY) -O -m compileall -q -j 0 $(VENV)/lib
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
	$(PY) -m pytest -n 2 --dist loadfile
	$(VENV)/bin/mypy
	ml/images/test_images.sh
	@$(MAKE) --no-print-directory test-lambda-runtime
	@$(MAKE) --no-print-directory package-check

# Real accounts: each stage with its own account's profile (PROFILE_dev=..., PROFILE_preprod=...),
# in the order compliance/_deploy_order.py derives from the templates (serving stages before the
# pipeline's, whose cross-account actions CodePipeline checks when it creates the pipeline).
deploy: synth
	@order="$$($(PY) -m compliance._deploy_order $(OUT))"; echo "Deploy order: $$order"; \
	for env in $$order; do \
	  profile_var="PROFILE_$$env"; profile="$${!profile_var:-}"; \
	  echo "cdk deploy '$$env/*'$${profile:+ --profile $$profile}"; \
	  cdk deploy "$$env/*" --app $(OUT) --no-notices --require-approval broadening \
	    $${profile:+--profile "$$profile"}; \
	done

# The Lambda tests and probes under the Lambda runtime's Python (part of `make test`). The
# functions run on python3.14 (RUNTIME in cdk_constructs/_platform_function.py, the latest, as
# cdk-nag's AwsSolutions-L1 requires); pyenv on these machines stops at 3.13, the closest, so
# that is used and the run says so. Pinned by constraints.txt; no CDK in this venv.
LAMBDA_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.14*/bin/python) $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python))
LAMBDA_VENV   := .venv-lambda
$(LAMBDA_VENV)/.installed: constraints.txt
	@test -x $(LAMBDA_VENV)/bin/python || $(LAMBDA_PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt \
	  boto3 "moto[s3,sagemaker,stepfunctions,dynamodb,sns,sqs]" aws-lambda-powertools aws-xray-sdk \
	  pytest numpy pyarrow scikit-learn cryptography pydantic PyYAML syrupy
	@touch $@

test-lambda-runtime:
	@if [ -z "$(LAMBDA_PYTHON)" ]; then \
	  echo "SKIPPED: no Python 3.14 or 3.13 under pyenv: tests/lambdas ran only under the venv's Python"; \
	else \
	  echo "tests/lambdas under $$($(LAMBDA_PYTHON) --version) (the runtime is python3.14)"; \
	  $(MAKE) --no-print-directory $(LAMBDA_VENV)/.installed && \
	  $(LAMBDA_VENV)/bin/python -m pytest tests/lambdas -q -p no:cacheprovider; \
	fi

# Deploy rehearsal (docs/deploy-rehearsal.md): no AWS account, nothing leaves localhost.
deploy-local: install
	$(PY) -m rehearsal.deploy_local --config $(CONFIG)

lint: install lint-python
	$(VENV)/bin/cfn-lint $(OUT)/assembly-*/*.template.json

# The library (docs/package.md). The wheel is built from the folders the app imports.
package: install
	rm -rf $(DIST)
	$(VENV)/bin/uv build --quiet --wheel --out-dir $(DIST)
	@ls $(DIST)/*.whl

# Builds the wheel, installs it with the app's pinned versions into a fresh venv (uv, from
# its cache) and synthesizes examples/secure_data_app/ from a temp folder with it alone.
package-check: install
	PACKAGE_CHECK=1 $(PY) -m pytest tests/test_package_wheel.py -q

# ruff and mypy, configured in pyproject.toml. Paths: $(LINT_PATHS).
lint-python: install
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy

lock: install
	$(PY) -m pip freeze --exclude-editable | grep -v '^xgboost==' > constraints.txt

clean:
	rm -rf $(OUT) $(OUT).next
