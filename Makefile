# One command installs and runs the demo (`make demo`); one installs and runs the tests (`make test`).
VENV      := .venv
CHECKOV_VENV := .venv-checkov
PY        := $(VENV)/bin/python
PIP       := $(PY) -m pip
STATE_DIR := .tfpipe
export TF_CLI_CONFIG_FILE := $(CURDIR)/$(STATE_DIR)/terraform.rc
export TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE := true

.PHONY: install test lint demo bench clean package

install: $(VENV)/.installed $(STATE_DIR)/terraform.rc $(CHECKOV_VENV)/.installed

# The toolchain check runs with the system Python (stdlib only) before anything is installed,
# so a missing or old Terraform is reported first and clearly. It runs as a module (`-m`), so the
# repository root, not tfpipe/, is first on sys.path (tests/test_stdlib_names.py keeps it that way).
$(STATE_DIR)/terraform.rc: tfpipe/toolchain.py
	python3 -m tfpipe.toolchain --state-dir $(STATE_DIR)

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	$(PIP) install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# checkov (make test runs it over terraform/ and examples/) gets a venv of its own: it pins a boto3 that
# conflicts with the pipeline's. Its full pin set is constraints-checkov.txt.
$(CHECKOV_VENV)/.installed: constraints-checkov.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check checkov==3.3.30 -c constraints-checkov.txt
	touch $@

# Two-step deploy, step 1: `chalice package` the app for STAGE into terraform/ (chalice.tf.json,
# deployment.zip), reconciled with the root's provider constraints, role and settings. Step 2 is
# `terraform -chdir=terraform apply` (README, Deploy).
STAGE ?= dev
package: install
	$(PY) terraform/package_app.py --stage $(STAGE)

lint: install
	$(VENV)/bin/ruff check .

# Two workers, a test file each at a time: one embedded stack per process, so files never share one.
# Most tests wait on Step Functions, Batch jobs and Terraform, so two workers on two cores take the
# suite from about 14 minutes to about 9.
test: install lint
	$(VENV)/bin/pytest -n 2 --dist loadfile

# The demo needs the pipeline's venv and the Terraform CLI configuration, not checkov's venv.
# `make demo DEMO_ARGS=--keep` leaves the stack up when the story ends, to explore it.
DEMO_ARGS ?=
demo: $(STATE_DIR)/terraform.rc $(VENV)/.installed
	$(VENV)/bin/tfpipe demo $(DEMO_ARGS)

# Every bench runs and prints every figure; one that misses its target says MISSED (these machines are
# noisy). Only a bench that cannot run fails the target, after the others ran.
BENCHES ?= $(wildcard bench/bench_*.py)
bench: install
	@failed=""; for b in $(BENCHES); do echo "== $$b"; $(PY) $$b || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "could not run:$$failed"; exit 1; fi

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(STATE_DIR) .pytest_cache .ruff_cache
