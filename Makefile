# `make run`: install everything and serve Lightbox with demo data on http://127.0.0.1:5000
# `make test`: install what the tests need (Chromium included) and run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000
# The demo seals its synthetic identifiers with a key made once and kept in instance/ (git ignores it). A
# deployment sets IDENTIFIER_KEY or IDENTIFIER_KEY_FILE itself (README: Key management), which wins.
DEMO_KEY := instance/identifier_key
DEMO_ENV := IDENTIFIER_KEY_FILE=$${IDENTIFIER_KEY_FILE:-$(CURDIR)/$(DEMO_KEY)}

.PHONY: run test bench install install-test system system-test db vendor

run: install db
	@echo "Lightbox is at http://$(HOST):$(PORT)  (demo: test NHS numbers 999... are accepted)"
	ALLOW_TEST_NHS_NUMBERS=$${ALLOW_TEST_NHS_NUMBERS:-true} $(DEMO_ENV) $(FLASK) run --host $(HOST) --port $(PORT)

test: install install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks print their figures; the README records them. Not part of CI (timings belong to no test).
bench: install
	@bash scripts/system-deps.sh bench
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/anonymise.py
	$(BIN)/python bench/live_poll.py
	$(BIN)/python bench/sign_in_burst.py
	$(BIN)/python bench/certificates.py
	$(BIN)/python bench/action_register.py
	$(BIN)/python bench/minutes_pdf.py
	$(BIN)/python bench/calendar_feeds.py
	$(BIN)/python bench/governance.py
	$(BIN)/python bench/identifiers.py

install: system $(VENV)/.installed static/vendor/.installed

install-test: system-test $(VENV)/.installed-test

system:
	@bash scripts/system-deps.sh run

system-test:
	@bash scripts/system-deps.sh test

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

static/vendor/.installed: node_modules/.installed scripts/vendor.py
	$(BIN)/python scripts/vendor.py
	touch $@

vendor: static/vendor/.installed

$(DEMO_KEY): | $(VENV)/.installed
	@mkdir -p $(dir $@)
	@umask 077 && $(FLASK) new-identifier-key > $@.tmp && mv $@.tmp $@

db: install $(DEMO_KEY)
	$(DEMO_ENV) $(FLASK) db upgrade
	$(DEMO_ENV) $(FLASK) seed-demo --if-empty
