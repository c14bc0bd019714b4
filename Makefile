# One setup path for people and CI: a virtual environment with the CPU build of torch first.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: setup demo test test-slow lint bench docs clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch==2.13.0 first: it is a CPU wheel on this disk; an open range would pull a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/layerlapse render linked-tori

# the fast lane (what a change needs before it is committed), then the slow lane: real Dask
# clusters, signals to real processes, headless Chromium; CI runs both
test: setup
	$(PY) -m pytest -q -m "not slow" --durations=15

test-slow: setup
	$(PY) -m pytest -q -m slow --durations=15

# ruff (style, imports, banned APIs), mypy (types, with the pydantic plugin) and lint-imports
# (the layering in pyproject.toml); CI runs all three
lint: setup
	$(VENV)/bin/ruff check layerlapse tests benchmarks examples tools
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# the docs site, offline, into build/site: the gallery rendered from the code first, then MkDocs
# (warnings are errors); open build/site/index.html
docs: setup
	$(PY) tools/build_gallery.py
	$(VENV)/bin/mkdocs build --strict

bench: setup
	$(PY) benchmarks/render_throughput.py

clean:
	rm -rf $(VENV) build *.egg-info
