# Two commands on a fresh machine (see README.md): `make synth`, then `make test`.
# Both set up what is missing (.venv, node_modules) and are fast once set up.

ENV ?= dev
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
# The venv's python first, so cdk.json's `python3 app.py` runs inside it.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Node 20 works with this CDK; only its end-of-life banner is silenced.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# Never let synth or tests reach a real account by accident.
SYNTH_ENV := AWS_EC2_METADATA_DISABLED=true

.PHONY: setup synth test lint typecheck unit diff deploy destroy bench clean

setup: $(VENV)/.installed node_modules/.installed .venv-checkov/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# checkov (tests/security/test_checkov.py) in its own venv: its pins would downgrade boto3.
.venv-checkov/.installed: requirements-checkov.txt
	test -x .venv-checkov/bin/python || python3 -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Synthesize every stack of ENV (default dev) with cdk-nag enforced, then summarize.
synth: setup
	$(SYNTH_ENV) $(CDK) synth --quiet -c env=$(ENV)
	$(PY) -m stacks.summary cdk.out

## Every check: lint, format, types, tests.
test: setup lint typecheck unit

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy

# Bytecode caching on even where the shell turns it off (PYTHONDONTWRITEBYTECODE): both workers
# import every test module, and pytest's rewritten asserts are cached as bytecode too.
unit:
	$(SYNTH_ENV) env -u PYTHONDONTWRITEBYTECODE $(VENV)/bin/pytest -n 2 --dist loadfile -q

## Real accounts only (need AWS credentials): make diff|deploy|destroy ENV=prod
diff: setup
	$(CDK) diff --all -c env=$(ENV)

deploy: setup
	$(CDK) deploy --all -c env=$(ENV) --require-approval broadening

destroy: setup
	$(CDK) destroy --all -c env=$(ENV)

bench: setup
	$(PY) bench/bench_data.py

clean:
	rm -rf cdk.out .mypy_cache .ruff_cache .pytest_cache .hypothesis
