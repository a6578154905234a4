# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint install completions bench chaos fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

# A realistic deploy event, printed as the receiver would get it; nothing is sent.
demo: $(VENV)/.installed
	$(BIN)/stac-events event send DeployEvent \
	    --title "Deployed checkout 1.4.2 to staging" \
	    --text "Rolled out by make demo" \
	    -i urn:service:/checkout urn:service:/checkout-db \
	    -s demo-pipeline -c Changes \
	    -d version=1.4.2 environment=staging \
	    --links "Release notes: https://example.com/releases/1.4.2" \
	    -t env:staging team:payments \
	    --dry-run

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

# Regenerate completions/ after changing a command or an option (a test checks it).
completions: $(VENV)/.installed
	$(BIN)/python -m stac_events.cli.completion_scripts completions

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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
