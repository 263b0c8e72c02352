# Airlock: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed-stamp
OPS_VENV ?= .venv-ops
OPS_STAMP := $(OPS_VENV)/.installed-stamp
WHEELHOUSE ?= .cache/wheelhouse
WHEELHOUSE_STAMP := $(WHEELHOUSE)/.built-stamp
PYTEST_ARGS ?=

.PHONY: demo test lint unit system-packages ops-tools wheelhouse bench clean

$(PY):
	python3 -m venv $(VENV)

# CPU PyTorch first: with torch==2.13.0 (the CPU build on this machine kind) already present,
# no later requirement can pull the multi-GB CUDA build from the registry.
$(STAMP): pyproject.toml gpu-bench/pyproject.toml | $(PY)
	$(PIP) install --quiet "torch==2.13.0"
	@$(PY) -c "import torch, sys; v = torch.__version__; sys.exit(0 if '+cpu' in v or not torch.version.cuda else 'refusing CUDA torch ' + v)"
	$(PIP) install --quiet -e '.[dev,bundle]' -e './gpu-bench[keycloak]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/airlock demo

test: $(STAMP) system-packages ops-tools wheelhouse lint unit

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The storage and audit tests start a throwaway PostgreSQL from the machine's server binaries;
# the egress-firewall test loads nftables rules in a private network namespace. In CI (root on
# Debian) a missing package is installed rather than its tests skipped.
system-packages:
	@missing=""; \
	[ -x "$$(pg_config --bindir 2>/dev/null)/initdb" ] || missing="$$missing postgresql"; \
	command -v nft >/dev/null || [ -x /usr/sbin/nft ] || missing="$$missing nftables"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$${CI:-}" = "true" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's$$missing for the test suite"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "note: not installed:$$missing; their tests will skip"; \
	fi

# ansible-core, ansible-lint, checkov and promtool for the packaging tests, apart from .venv.
ops-tools: $(OPS_STAMP)
# promtool (checks and unit-tests the alert rules) comes from Debian's prometheus package,
# unpacked into the ops venv: nothing is installed system-wide and no service starts.
$(OPS_STAMP): requirements-ops.txt
	python3 -m venv $(OPS_VENV)
	$(OPS_VENV)/bin/pip install --quiet -r requirements-ops.txt
	cd $(OPS_VENV) && { apt-get download -qq prometheus 2>/dev/null || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get download -qq prometheus; }; } && \
		dpkg-deb -x prometheus_*.deb prometheus && rm prometheus_*.deb && \
		ln -sf ../prometheus/usr/bin/promtool bin/promtool
	@touch $(OPS_STAMP)

# Wheels of Airlock and every runtime dependency: what the offline bundle and the Ansible
# tests install from, with no index.
wheelhouse: $(WHEELHOUSE_STAMP)
$(WHEELHOUSE_STAMP): pyproject.toml | $(PY)
	$(PIP) wheel --quiet --wheel-dir $(WHEELHOUSE) "torch==2.13.0" .
	@touch $(WHEELHOUSE_STAMP)

bench: $(STAMP)
	$(PY) benchmarks/bench_audit.py

clean:
	rm -rf $(VENV) $(OPS_VENV) .cache .pytest_cache .mypy_cache .ruff_cache
