# One command installs and runs the demo (`make demo`); one installs and runs the tests (`make test`).
VENV      := .venv
PY        := $(VENV)/bin/python
PIP       := $(PY) -m pip
STATE_DIR := .tfpipe
export TF_CLI_CONFIG_FILE := $(CURDIR)/$(STATE_DIR)/terraform.rc
export TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE := true

.PHONY: install test lint demo bench clean

install: $(VENV)/.installed $(STATE_DIR)/terraform.rc

# The toolchain check runs with the system Python (stdlib only) before anything is installed,
# so a missing or old Terraform is reported first and clearly.
$(STATE_DIR)/terraform.rc: tfpipe/toolchain.py
	python3 tfpipe/toolchain.py --state-dir $(STATE_DIR)

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	$(PIP) install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

lint: install
	$(VENV)/bin/ruff check .

test: install lint
	$(VENV)/bin/pytest

demo: install
	$(VENV)/bin/tfpipe demo

bench: install
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) $(STATE_DIR) .pytest_cache .ruff_cache
