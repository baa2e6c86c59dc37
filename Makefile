# The README's commands. Each sets itself up on a fresh machine: a virtual environment
# with this machine's Python, uv inside it, then the locked dependencies. Nothing
# downloads a Python or any other toolchain.

PYTHON ?= python3
STACK ?= dev
UP_ARGS ?=
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
VENV := .venv
SYNCED := $(VENV)/.synced

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

NODE_MODULES := node_modules/.installed

.PHONY: run preview test lint format clean browser bench wrk

run: export ACKFLOW_EXIT_WITH_PARENT := 1
run: $(SYNCED)  ## Run the product: the dev stack, served on this machine (Ctrl-C stops)
	$(VENV)/bin/ackflow up --stack $(STACK) $(UP_ARGS)

preview: $(SYNCED)  ## The stack's offline plan
	$(VENV)/bin/ackflow preview --stack $(STACK)

test: $(SYNCED) browser wrk  ## Run the tests
	$(VENV)/bin/pytest

# The demo page's test drives Debian's Chromium (Playwright's own browser download cannot be
# used): installed here when make runs as root on Debian, else the command is printed.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "the browser test needs Chromium: sudo apt-get install chromium"; \
	  fi; \
	}

bench: $(SYNCED) wrk  ## Measure every figure beside its baseline; writes bench/results/
	$(VENV)/bin/python -m bench

# The bench's HTTP load client is Debian's wrk (its tests run it too): installed here when
# make runs as root on Debian, else the command is printed.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's wrk for make bench"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "make bench and its tests need wrk: sudo apt-get install wrk"; \
	  fi; \
	}

lint: $(SYNCED) $(NODE_MODULES)  ## ruff over the Python code, AWS's ESLint rules over the resolvers
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	npx --no-install eslint components/resolvers

format: $(SYNCED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(SYNCED): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python "$$(command -v $(PYTHON))"
	@touch $@

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

clean:
	rm -rf $(VENV) $(TOOLS) node_modules .ackflow .pytest_cache .ruff_cache
