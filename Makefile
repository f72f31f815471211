# Everything a fresh machine needs: `make run` and `make test` create .venv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { $(PYTHON) -m pip install --user virtualenv && $(PYTHON) -m virtualenv $(VENV); }

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev,beam,airflow]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m pipelines.run
	@echo "Results: ./out/sample/ (data/, ledger/, manifest.json, README.md, report.html, validation/)"

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# datatrove's processing extras clash with ours (two `fasttext` modules): the reference gets its own venv.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed:
	$(PYTHON) -m venv $(BENCH_VENV)
	echo '*' > $(BENCH_VENV)/.gitignore
	$(BENCH_VENV)/bin/python -m pip install 'datatrove[processing]>=0.10,<0.11' spacy orjson pyarrow
	touch $@

# Benchmark baselines only, beside our packages, not in .venv: the dedup benchmark's text-dedup
# baseline (datasketch) and the extraction benchmark's resiliparse.
BENCH_DEPS := .bench-deps
$(BENCH_DEPS)/.installed: | $(BIN)/python
	$(BIN)/python -m pip install --target $(BENCH_DEPS) --no-deps 'datasketch>=1.6' scipy 'resiliparse>=0.15,<3'
	touch $@

bench: install $(BENCH_VENV)/.installed $(BENCH_DEPS)/.installed
	$(BIN)/python benchmarks/speed_vs_datatrove.py
	$(BIN)/python benchmarks/language_id.py
	$(BIN)/python benchmarks/quality_and_pii.py
	PYTHONPATH=$(BENCH_DEPS) $(BIN)/python benchmarks/dedup_quality.py
	PYTHONPATH=$(BENCH_DEPS) $(BIN)/python benchmarks/extraction.py
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf out .pytest_cache
