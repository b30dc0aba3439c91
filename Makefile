# Guichet — `make run` and `make test` do all set-up on a machine with python3 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=
# Every installed version is pinned here (constraints): a clean clone installs what CI
# tested and what `pip-audit` checked. `make lock` refreshes it after a change to
# pyproject.toml.
LOCK   := .ci/requirements.lock

.PHONY: run test alone install install-dev lock translations messages migrate demo lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(LOCK) -e .
	@touch $@

install-dev: $(VENV)/.installed-dev
$(VENV)/.installed-dev: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[dev]'
	@touch $@ $(VENV)/.installed

# Resolve pyproject.toml's dependencies afresh (newest allowed) and pin the result.
lock: | $(BIN)/python
	rm -rf $(VENV)/lock && $(PYTHON) -m venv $(VENV)/lock
	$(VENV)/lock/bin/pip install --quiet -e '.[dev]'
	$(VENV)/lock/bin/pip freeze --exclude-editable | LC_ALL=C sort > $(LOCK)
	rm -rf $(VENV)/lock

translations: install
	$(BIN)/pybabel compile -d app/locales -D messages --statistics 2>&1 | grep -v "^$$" || true
	@test -f app/locales/fr/LC_MESSAGES/messages.mo

# Developer tool: collect new strings into the catalogues (then translate app/locales/fr).
messages: install
	$(BIN)/pybabel extract --no-location --omit-header -F babel.cfg -o app/locales/messages.pot app templates
	$(BIN)/pybabel update --no-fuzzy-matching --omit-header -i app/locales/messages.pot -d app/locales -D messages

migrate: install
	$(BIN)/guichet migrate

demo: migrate
	$(BIN)/guichet demo --if-empty

run: install translations demo
	HOST=$(HOST) PORT=$(PORT) $(BIN)/guichet serve

# The suite on two workers, one test module per worker at a time (each module has its own
# databases), then the browser tests in this process (Playwright's sync API keeps an
# event loop in the main thread). Exit code 5 is "nothing of that kind selected".
test: install-dev translations
	$(BIN)/pytest -n 2 --dist loadfile -m "not e2e" $(PYTEST_ARGS)
	$(BIN)/pytest -m e2e $(PYTEST_ARGS) || [ $$? -eq 5 ]

# A random sample of 30 tests, each run alone in its own process (a test that passes only
# after another one fails here). ALONE_SEED=<the seed it printed> runs the same sample.
alone: install-dev translations
	$(BIN)/python .ci/alone.py

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Writes bench/results.json and bench/RESULTS.md; PostgreSQL figures when it answers
# on 127.0.0.1:5432; the load test needs wrk (apt-get install wrk).
bench: install-dev translations
	if pg_isready -q -h 127.0.0.1; then $(BIN)/python -m bench.assignment --postgres; \
	  else $(BIN)/python -m bench.assignment; fi
	$(BIN)/python -m bench.aggregation
	rm -f bench/letters.json
	# A goal not met is reported in RESULTS.md; the other benchmarks still run.
	-$(BIN)/python -m bench.letters
	if pg_isready -q -h 127.0.0.1; then \
	  psql -h 127.0.0.1 -U postgres -qc 'DROP DATABASE IF EXISTS bench_letters' -qc 'CREATE DATABASE bench_letters' && \
	  BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_letters $(BIN)/python -m bench.letters; \
	  psql -h 127.0.0.1 -U postgres -qc 'DROP DATABASE IF EXISTS bench_letters'; \
	fi
	rm -f bench/surge.json
	$(BIN)/python -m bench.surge
	rm -f bench/queries.json
	if pg_isready -q -h 127.0.0.1; then $(BIN)/python -m bench.queries --postgres; \
	  else $(BIN)/python -m bench.queries; fi
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
