# The two set-up commands: `make repro` and `make test`. Run `make help` for the rest.
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# Stage commands run `python` and `dvc`: use the project's environment for them.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.DEFAULT_GOAL := help
.PHONY: help venv repro test report bench sweep sweep-plan sweep-gather compare lint format lock plots-template clean

# `make sweep SWEEP="-S train.alpha=0.0001,0.001 -S train.max_iter=10,20" SHARD=2/3`
SWEEP ?= -S 'train.hidden_layer_sizes=[50],[100]' -S train.learning_rate_init=0.1,0.2
SHARD ?= 1/1
JOBS ?= 1
WORKERS ?= 4

help:  ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(INSTALLED): requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(PYTHON) -m pip install --quiet --no-deps --no-build-isolation --editable .
	touch $@

venv: $(INSTALLED)  ## Create .venv/ from the lock file

repro: $(INSTALLED)  ## Create .venv/ if needed, then run the pipeline (dvc repro)
	dvc repro

# The browser tests open pages in Debian's headless Chromium.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq chromium

test: $(INSTALLED) $(CHROMIUM)  ## Create .venv/ (and install chromium) if needed, run all tests
	pytest

MNIST ?= $(DATA_MIRROR)
bench: $(INSTALLED)  ## Time the pipeline against the plain example (MNIST=dir of the .gz files)
	python -m benchmarks.bench --data $(MNIST)

BASELINE ?= main
report: $(INSTALLED)  ## Write reports/report.md and report.html against BASELINE (main)
	python -m mnist_mlp.report --baseline $(BASELINE)

sweep: $(INSTALLED)  ## Run shard SHARD (I/N, default 1/1) of the grid SWEEP="-S ..."
	python -m mnist_mlp.sweep run --shard $(SHARD) --jobs $(JOBS) $(SWEEP)

sweep-plan: $(INSTALLED)  ## Check the grid SWEEP, print its shards for WORKERS machines (JSON)
	@python -m mnist_mlp.sweep plan --max-workers $(WORKERS) $(SWEEP)

sweep-gather: $(INSTALLED)  ## Pull the grid SWEEP, write reports/sweep.{csv,md,png}
	python -m mnist_mlp.sweep gather --csv reports/sweep.csv --markdown reports/sweep.md \
		--figure reports/sweep.png $(SWEEP)

compare: $(INSTALLED)  ## Draw this commit's experiments side by side (dvc_plots/compare.png)
	python -m mnist_mlp.compare $(RUNS)

lint: $(INSTALLED)  ## Check style with ruff
	ruff check src stages tests benchmarks
	ruff format --check src stages tests benchmarks

format: $(INSTALLED)  ## Format with ruff
	ruff format src stages tests benchmarks
	ruff check --fix src stages tests benchmarks

lock: $(INSTALLED)  ## Re-resolve requirements.lock from pyproject.toml
	CUSTOM_COMPILE_COMMAND='make lock' pip-compile --quiet --generate-hashes --allow-unsafe --extra dev --strip-extras \
		--no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

plots-template: $(INSTALLED)  ## Rebuild templates/dvc_plots.html (offline Vega) from npm
	rm -rf .vega && mkdir .vega
	cd .vega && npm pack --silent vega@5.33.1 vega-lite@5.23.0 vega-embed@6.29.0 \
		&& for f in *.tgz; do mkdir "$${f%.tgz}" && tar xzf "$$f" -C "$${f%.tgz}"; done
	python -m mnist_mlp.offline_plots templates/dvc_plots.html \
		.vega/vega-5.33.1/package/build/vega.min.js \
		.vega/vega-lite-5.23.0/package/build/vega-lite.min.js \
		.vega/vega-embed-6.29.0/package/build/vega-embed.min.js
	rm -rf .vega

clean:  ## Remove .venv/ and caches (not data or the DVC cache)
	rm -rf $(VENV) .pytest_cache .ruff_cache dvc_plots
