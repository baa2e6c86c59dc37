# The README's commands. Each sets itself up on a fresh machine: a virtual environment
# with this machine's Python, uv inside it, then the locked dependencies. Nothing
# downloads a Python or any other toolchain.

PYTHON ?= python3
STACK ?= dev
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
VENV := .venv
SYNCED := $(VENV)/.synced

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run preview test lint format clean

run: $(SYNCED)  ## Run the product: the dev stack's offline plan
	$(VENV)/bin/ackflow preview --stack $(STACK)

preview: run

test: $(SYNCED)  ## Run the tests
	$(VENV)/bin/pytest

lint: $(SYNCED)  ## ruff over the Python code
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(SYNCED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(SYNCED): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python "$$(command -v $(PYTHON))"
	@touch $@

clean:
	rm -rf $(VENV) $(TOOLS) .ackflow .pytest_cache .ruff_cache
