# Every target sets up .venv itself from constraints.txt, so a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test test-fast lint bench baselines check readme clean browser wheel

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# The default scenario, its results in results/runs/brussels-south/ and its report
# (report.html, path printed); .[dev] includes the report extra (matplotlib).
run: $(STAMP)
	$(BIN)/capsim run scenarios/brussels-south.yaml --report

# The whole suite, after the guard rails: ruff (lint and import order) and mypy.
# The import-graph contracts run inside the suite (tests/test_architecture.py).
test: lint browser
	$(BIN)/python -m pytest

# The edit loop (under a minute): the guard rails and every test not marked slow, on two
# processes (pytest-xdist). `make test` stays on one: its tests start worker processes of their own.
test-fast: lint
	$(BIN)/python -m pytest -m "not slow" -q -n 2

# The report's browser tests need Debian's chromium: installed when missing (tools/install-browser).
browser:
	tools/install-browser

lint: $(STAMP)
	$(BIN)/ruff check sim tests tools benchmarks
	$(BIN)/mypy

# The benchmark: the reference loss system in heapq, idiomatic SimPy, Ciw and capsim,
# then capsim's scaling and memory rows; prints PASS/FAIL per target and exits 1 if one is missed.
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks

# Rerun every scenario with the seed in its file into results/<name>/, the baselines
# that `capsim check` compares to. Regenerate after an intended change of the model
# or of a scenario, and review the diff of summary.json before committing.
baselines: $(STAMP)
	for f in scenarios/*.yaml; do $(BIN)/capsim run $$f --out results/$$(basename $$f .yaml) --quiet || exit 1; done

# What CI runs after the tests: every scenario against its baseline, both tiers.
check: $(STAMP)
	.ci/check-baselines $(BIN)/capsim

# Rerun the commands of the README's examples and paste their real output; answer the
# scenario library's questions in scenarios/README.md from fresh runs.
readme: $(STAMP)
	$(BIN)/python tools/readme_examples.py README.md
	$(BIN)/python tools/scenario_answers.py scenarios/README.md

# A wheel of capsim (dist/capsim-VERSION-py3-none-any.whl), for another project's CI:
# pip install dist/capsim-*.whl (README, "capsim check in another project").
wheel: $(STAMP)
	$(BIN)/pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist .

clean:
	rm -rf $(VENV) results/runs dist
