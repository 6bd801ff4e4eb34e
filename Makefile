# make run   - set up (venv, install, database, demo), serve on 127.0.0.1:5000 and run the
#              worker beside it (bin/run: two processes, Ctrl-C stops both)
# make test  - set up, lint, run the whole suite (SQLite, and PostgreSQL when it answers)
# make bench - run the benchmarks and print their figures
# make lint  - ruff (check + format) and the import-linter layer contracts
# make setup - the venv and its packages, then the C extensions (native_build: the batch
#              sealer and the list row scanner, each rebuilt when its .c changes; without
#              cc, or OpenSSL headers for the sealer, it warns and the Python loops are used)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint bench format setup native db clean

setup: $(STAMP) native

# Cheap when up to date: the script compares each module's time with its source's.
native: $(STAMP)
	$(BIN)/python -m survey_service.native_build


$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

db: setup
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty

run: db
	FLASK="$(FLASK)" HOST=$(HOST) PORT=$(PORT) bin/run

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache survey_service/privacy/_sealer.*.so \
		survey_service/lists/parsing/_rowscan.*.so
