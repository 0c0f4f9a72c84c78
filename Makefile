# Entry point for people; `heritage --help` for everything else. `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
HERITAGE := $(VENV)/bin/heritage
PYTHON := $(VENV)/bin/python
RECORDS ?= 1000

.PHONY: help setup env up down status demo test fuzz lint typecheck bench dashboard

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## install everything the local stack needs (idempotent; tool output in .state/logs): .venv, jars, MinIO, PostgreSQL
	@bash scripts/setup.sh

env: ## generate .env with random credentials for docker compose
	@bash scripts/make_env.sh

up: setup ## start Kafka, MinIO and PostgreSQL on loopback
	@$(HERITAGE) services up

down: ## stop exactly the processes `make up` started
	@$(HERITAGE) services down

status: ## health, address and version of each service
	@$(HERITAGE) services status

demo: setup ## set up, start the stack and run the sample through every hop, then summarise
	@$(HERITAGE) demo --records $(RECORDS)

test: setup ## run the whole test suite against the real services (started and stopped as needed)
	@# Unit tests need no services: two workers share them out (pytest-xdist).
	@$(PYTHON) -m pytest -n 2 -m "not integration"
	@$(PYTHON) -m pytest -m "integration and not zones"
	@# Results that may depend on no time zone, far from UTC: every test marked zones (the
	@# integration ones run only here, once).
	@TZ=Pacific/Kiritimati HERITAGE_SPARK_TIMEZONE=Pacific/Pago_Pago $(PYTHON) -m pytest -q -m zones

fuzz: setup ## property-based fuzzing of every parser and mapper, 10,000 examples each (no services)
	@HERITAGE_FUZZ_EXAMPLES=10000 $(PYTHON) -m pytest -n 2 -m fuzz

lint: setup ## ruff, mypy, and the import layers (import-linter contracts, no cycles)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@bash scripts/typecheck.sh
	@bash scripts/import_layers.sh

bench: setup ## records/s per hop of the skeleton (RECORDS=10000 by default here)
	@$(HERITAGE) bench skeleton --records $(if $(filter 1000,$(RECORDS)),10000,$(RECORDS))

dashboard: ## open the Streamlit explorer
	@$(HERITAGE) dashboard
