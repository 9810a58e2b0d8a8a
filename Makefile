# One Model, Three Ways. `make help` lists the targets; `make demo` and `make test` are the two
# that matter on a fresh clone, and each installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV)/bin)
UV_VERSION := 0.13.9
ARTIFACTS := model/artifacts
MODEL := $(ARTIFACTS)/model.onnx
PORT ?= 8000

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# ---------------------------------------------------------------- environment
$(VENV)/.installed: requirements/dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements/dev.txt
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

.PHONY: setup
setup: $(VENV)/.installed ## Create .venv with every pinned dependency (uv, from requirements/dev.txt)

.PHONY: lock
lock: ## Re-pin requirements/*.txt from pyproject.toml (no registry hosts in the output)
	$(BIN)/uv pip compile -q pyproject.toml --all-extras --python-version 3.11 -o requirements/dev.txt
	$(BIN)/uv pip compile -q pyproject.toml --extra serving --python-version 3.11 -c requirements/dev.txt -o requirements/serving.txt
	$(BIN)/uv pip compile -q pyproject.toml --extra lambda --python-version 3.11 -c requirements/dev.txt -o requirements/lambda.txt

# ---------------------------------------------------------------- model and app
$(MODEL): model/train.py requirements/dev.txt | $(VENV)/.installed
	$(BIN)/python -m model.train

.PHONY: model
model: $(MODEL) ## Train, export to ONNX and check parity (a no-op when nothing changed)

.PHONY: serve
serve: $(MODEL) ## Run the app locally with uvicorn on 127.0.0.1:8000 (PORT=... to change)
	$(BIN)/uvicorn serving.app:app --host 127.0.0.1 --port $(PORT) --no-access-log

# ---------------------------------------------------------------- quality
.PHONY: lint
lint: $(VENV)/.installed ## ruff, ruff format --check and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy model serving infra loadtests tests

.PHONY: format
format: $(VENV)/.installed ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: test
test: $(MODEL) ## Lint, then run the whole test suite
	$(MAKE) lint
	$(BIN)/pytest

# ---------------------------------------------------------------- the demo
.PHONY: demo
demo: $(MODEL) ## Train, export, serve locally and send real requests
	$(BIN)/python -m loadtests.smoke
