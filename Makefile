# `make run` serves a working IdP with a demo tenant; `make test` runs the whole suite.
# Both install what they need on a fresh machine (system packages via apt when root).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
IDP_BASE_URL ?= http://127.0.0.1:8000
export IDP_BASE_URL
IDP_INSTANCE_DIR ?= $(CURDIR)/instance
export IDP_INSTANCE_DIR
# pytest-xdist workers (one per core); PYTEST_ARGS='-m "not browser"' skips the Chromium tests locally.
TEST_WORKERS ?= auto
# Debian packages: xmlsec1 (SAML signing), PostgreSQL (database tests on both backends),
# Redis (rate-limit storage for scale-out), nginx (the topology test's reverse proxy, deploy/nginx),
# Chromium + a Japanese font (browser tests, screenshots); gcc builds the native argon2 library at
# install time (setup.py; without it the slower portable argon2-cffi runs, with a warning).
APT_PACKAGES := xmlsec1 gcc postgresql redis-server nginx-light chromium fonts-noto-cjk
RUN_APT_PACKAGES := xmlsec1 gcc

.PHONY: run test venv system-deps system-deps-run i18n clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: setup.cfg setup.py pyproject.toml $(wildcard third_party/argon2/*.c third_party/argon2/src/*.c third_party/argon2/src/blake2/*) | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

system-deps:
	@./.ci/system-deps $(APT_PACKAGES)

system-deps-run:
	@./.ci/system-deps $(RUN_APT_PACKAGES)

run: system-deps-run venv
	@$(BIN)/idp demo
	@echo "Mail outbox: $(IDP_INSTANCE_DIR)/outbox/"
	@echo "SMS outbox (MFA codes, when IDP_SMS_URL is unset): $(IDP_INSTANCE_DIR)/sms/"
	@echo "Serving on $(IDP_BASE_URL) (Ctrl-C to stop)"
	$(BIN)/idp serve --workers 2

test: system-deps venv
	$(BIN)/flake8
	$(BIN)/lint-imports
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup $(if $(shell ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null),--postgres,) $(PYTEST_ARGS)

i18n: venv
	$(BIN)/pybabel extract -F idp/translations/babel.cfg -o idp/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i idp/translations/messages.pot -d idp/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d idp/translations

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
