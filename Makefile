# The two set-up commands: `make repro` and `make test`. `make help` lists the rest.
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# Stage commands run `python` and `dvc`: use the project's environment for them.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.DEFAULT_GOAL := help
.PHONY: help venv repro verify test check report exps explore bench sweep sweep-plan \
	sweep-gather lint format lock plots-template clean params-check

# Variables. `make help` lists each with the comment above it and its default. They reach
# commands through the environment, as single words, never as shell code; SWEEP alone is
# shell words on purpose (its -S values may be quoted).

# The grid: -S param=value[,value...] as for `dvc exp run -S`; several -S multiply.
SWEEP ?= -S 'train.hidden_layer_sizes=[50],[100]' -S train.learning_rate_init=0.1,0.2
# The shard of the grid that `make sweep` runs here: I/N.
SHARD ?= 1/1
# A git remote to push each finished point to (and to skip points already there).
PUSH ?=
# A git remote to pull the grid's experiments from before `make sweep-gather`.
PULL ?=
# How many machines `make sweep-plan` splits the grid over, at most.
WORKERS ?= 4
# The git revision `make report` compares the workspace with.
BASELINE ?= HEAD
# Also list other branches' or tags' experiments (exps, explore): branches, tags or both.
REFS ?=
# The directory of the four MNIST .gz files that `make bench` times the pipeline on.
MNIST ?= $(DATA_MIRROR)
export SHARD PUSH PULL WORKERS BASELINE MNIST

help:  ## Show the targets and variables
	@awk -F ':.*## ' '/^[a-z-]+:.*## / {name[++n] = $$1; text[n] = $$2; if (length($$1) > w) w = length($$1)} \
		/^# / {comment = substr($$0, 3)} \
		/^[A-Z]+ [?]=/ {split($$0, kv, " [?]= ?"); vname[++m] = kv[1]; vdefault[m] = kv[2]; vtext[m] = comment} \
		END {print "Targets:"; for (i = 1; i <= n; i++) printf "  make %-*s  %s\n", w, name[i], text[i]; \
		print "Variables (name=default):"; for (i = 1; i <= m; i++) printf "  %s=%s\n      %s\n", vname[i], vdefault[i], vtext[i]}' \
		$(MAKEFILE_LIST)

# How .venv/ is built. `make venv` runs it under a lock, into an empty .venv/.
# uv (pinned and hash-checked in requirements-uv.lock) installs the same hash-checked lock
# as pip, several times faster (docs/performance.md); pip is the fallback. uv leaves
# bytecode for Python to compile and cache on first import; where PYTHONDONTWRITEBYTECODE
# forbids that cache, every process would compile its imports again, so uv compiles
# everything up front instead.

# What installs .venv/ from the lock file: uv (pip when uv cannot be had), or pip.
INSTALLER ?= uv
UV_INSTALL := $(VENV)/bin/uv pip install --quiet --python $(PYTHON) \
	$(if $(PYTHONDONTWRITEBYTECODE),--compile-bytecode)
PIP_INSTALL := $(PYTHON) -m pip install --quiet
define VENV_BUILD
python3 -m venv $(VENV)
if [ "$(INSTALLER)" = uv ] && $(PIP_INSTALL) --require-hashes -r requirements-uv.lock; then \
	$(UV_INSTALL) --require-hashes --no-deps -r requirements.lock \
	&& $(UV_INSTALL) --no-deps --no-build-isolation --editable . ; \
else \
	$(PIP_INSTALL) --require-hashes --no-deps -r requirements.lock \
	&& $(PIP_INSTALL) --no-deps --no-build-isolation --editable . ; \
fi
endef

# Two makes started at once (`make repro & make test`) must not both install into .venv/:
# the build runs under an exclusive lock on .venv.lock (flock(1) from util-linux, else the
# same flock(2) through Python), and the make that waited finds .venv/ up to date. The
# marker $(INSTALLED) is written last, so a .venv/ without it was interrupted half-built:
# it is removed and built again, never reused.
PYFLOCK := python3 -c 'import fcntl, subprocess, sys; lock = open(sys.argv[1], "a"); fcntl.flock(lock, fcntl.LOCK_EX); sys.exit(subprocess.call(sys.argv[2:]))'
FLOCK := $(or $(shell command -v flock 2>/dev/null),$(PYFLOCK))
ifdef VENV_LOCKED
$(INSTALLED): requirements.lock requirements-uv.lock pyproject.toml
	rm -rf $(VENV)
	$(VENV_BUILD)
	touch $@
else
$(INSTALLED): requirements.lock requirements-uv.lock pyproject.toml
	$(FLOCK) $(VENV).lock $(MAKE) --no-print-directory VENV_LOCKED=1 $@
endif

venv: $(INSTALLED)  ## Create .venv/ from the lock file (uv, or INSTALLER=pip)

# DVC itself would spend minutes and gigabytes on a YAML alias bomb in params.yaml: the
# project's bounded reader goes first.
params-check: $(INSTALLED)
	@python -m mnist_mlp.io.params params.yaml

repro: $(INSTALLED) params-check  ## Create .venv/ if needed, then run the pipeline (dvc repro)
	dvc repro

verify: $(INSTALLED) params-check  ## Rehash what dvc.lock records (cache and workspace); list repairs
	python -m mnist_mlp.tools.verify

# The browser tests skip without Chromium (Debian's `chromium`), except under CI=true.
# worksteal: a worker that runs out of tests takes some of the other's, so the long pipeline
# tests do not leave a core idle at the end.
test: $(INSTALLED)  ## Create .venv/ if needed, run every test on every core
	pytest -n auto --dist worksteal

check: $(INSTALLED) lint  ## Fast loop: unit tests (no dvc runs, full MNIST or browser) and lint
	pytest -q -n auto --dist worksteal -m "not pipeline and not mnist and not browser"

report: $(INSTALLED) params-check  ## Write reports/report.md and report.html: workspace vs BASELINE
	python -m mnist_mlp.tools.report --baseline="$$BASELINE"

exps: $(INSTALLED) params-check  ## Print every experiment, best test_score first, in 100 columns
	@python -m mnist_mlp.tools.experiments $(if $(findstring branches,$(REFS)),--all-branches) \
		$(if $(findstring tags,$(REFS)),--all-tags)

explore: $(INSTALLED) params-check  ## Write reports/explore.html: every experiment on one page
	python -m mnist_mlp.tools.explore $(if $(findstring branches,$(REFS)),--all-branches) \
		$(if $(findstring tags,$(REFS)),--all-tags)

sweep: $(INSTALLED)  ## Run shard SHARD of the grid SWEEP here; PUSH=<remote> pushes each point
	python -m mnist_mlp.tools.sweep run --shard="$$SHARD" --push="$$PUSH" $(SWEEP)

sweep-plan: $(INSTALLED)  ## Check the grid SWEEP; print its shards for WORKERS machines (JSON)
	@python -m mnist_mlp.tools.sweep plan --workers="$$WORKERS" $(SWEEP)

sweep-gather: $(INSTALLED)  ## Tabulate the grid SWEEP in reports/sweep.{csv,md}; PULL=<remote> first
	python -m mnist_mlp.tools.sweep gather --pull="$$PULL" --csv=reports/sweep.csv \
		--markdown=reports/sweep.md $(SWEEP)

bench: $(INSTALLED)  ## Time the pipeline against the plain example (needs MNIST=<dir>)
	$(if $(MNIST),,$(error make bench needs MNIST=<directory of the four MNIST .gz files>))
	python -m benchmarks.bench --data="$$MNIST"

lint: $(INSTALLED)  ## Check style (ruff), types (mypy) and the GitHub workflows (zizmor, schema)
	ruff check src stages tests benchmarks
	ruff format --check src stages tests benchmarks
	mypy
	zizmor --offline .github/
	check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml

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
	python -m mnist_mlp.tools.offline_plots templates/dvc_plots.html \
		.vega/vega-5.33.1/package/build/vega.min.js \
		.vega/vega-lite-5.23.0/package/build/vega-lite.min.js \
		.vega/vega-embed-6.29.0/package/build/vega-embed.min.js
	rm -rf .vega

clean:  ## Remove .venv/ and caches (not data or the DVC cache)
	$(FLOCK) $(VENV).lock rm -rf $(VENV)
	rm -rf .pytest_cache .ruff_cache dvc_plots
