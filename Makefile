# Two commands matter: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
HOST_PYTHON ?= python3

PY_STAMP   := $(VENV)/.stamp-project
NODE_STAMP := node_modules/.stamp
SYS_STAMP  := $(VENV)/.stamp-system
EXAMPLES_STAMP := examples/.stamp
VIEWER_STAMP := viewer_web/dist/.stamp
VIEWER_SOURCES := $(shell find viewer_web/src viewer_web/static -type f 2>/dev/null) viewer_web/build.mjs

.PHONY: help setup demo test bench clean distclean

help:
	@echo "make demo   set up, export the example photo, serve the viewer"
	@echo "make test   set up and run every test"
	@echo "make bench  set up and print the benchmark figures"
	@echo "make setup  only set up (.venv/, node_modules/, chromium, examples/, the viewer bundle)"

setup: $(PY_STAMP) $(NODE_STAMP) $(SYS_STAMP) $(EXAMPLES_STAMP) $(VIEWER_STAMP)

# Python: a venv at the repo root, torch first (the local CPU wheel where present,
# so pip never pulls a multi-GB CUDA build), then the project itself, editable.
$(PY_STAMP): pyproject.toml tools/install_torch.sh
	@test -x $(PY) || $(HOST_PYTHON) -m venv $(VENV)
	@bash tools/install_torch.sh $(PY)
	@echo "installing the project into $(VENV) (editable)"
	@set -o pipefail; $(PIP) install -e '.[dev]' 2>&1 | { grep -v '^WARNING: Location' || true; }
	@touch $@

# Node: the viewer's build tool, the browser-test driver and MediaPipe's web assets.
$(NODE_STAMP): package.json package-lock.json
	@echo "installing npm packages"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The browser viewer's static bundle (viewer_web/dist/, served by lam-serve), rebuilt when its sources change.
$(VIEWER_STAMP): $(VIEWER_SOURCES) package.json $(NODE_STAMP)
	@npm run --silent build
	@touch $@

# Debian packages the browser tests need: chromium, and Xvfb + Mesa for the llvmpipe path.
$(SYS_STAMP): tools/install_system.sh | $(PY_STAMP)
	@bash tools/install_system.sh
	@touch $@

# Example inputs generated locally (nothing third-party is committed).
$(EXAMPLES_STAMP): $(PY_STAMP) lam_core/example_motions.py tools/make_examples.py
	@$(PY) tools/make_examples.py examples
	@touch $@

demo: setup
	@$(PY) tools/demo.py

test: setup
	@$(PY) -m pytest -q

bench: setup
	@$(PY) benchmarks/run_all.py

clean:
	rm -rf build dist *.egg-info .pytest_cache $(EXAMPLES_STAMP) viewer_web/dist viewer_web/dist.tmp

distclean: clean
	rm -rf $(VENV) node_modules
