# Programmamonitor: one entry point for setting up, running and testing.
# Works from a fresh clone: every target that needs Python depends on the venv stamp.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
#: The port `make run` serves on: `make run PORT=8080`.
PORT ?= 5000
STAMP := $(VENV)/.installed-dev
FLASK := $(VENV)/bin/flask --app app

.PHONY: venv run test serve clean screenshots bench

venv: $(STAMP)

# One venv with the dev dependencies serves both running and testing. The stamp is
# rebuilt whenever a requirements or constraints file changes; constraints.txt pins
# every transitive version, so a fresh clone gets exactly the tested set.
$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -r requirements-dev.txt -c constraints.txt
	touch $@

# Local demo on SQLite (data/programmamonitor.db): migrate, load the demo programme
# only into an empty database, then serve on http://127.0.0.1:$(PORT) (5000 unless PORT is given).
run: venv
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty --with-users
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# The whole suite on SQLite, then on PostgreSQL (see scripts/test.sh).
test: venv
	bash scripts/test.sh

# Benchmarks with floors from the same run (bench/run.py): SQLite and PostgreSQL at 100 and
# 10,000 projects; LARGE=1 adds 100,000. Prints a table, writes bench/results.json.
# B5 loads gunicorn with wrk, from Debian's packages; installed here when missing (as root).
bench: venv
	@command -v wrk >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y -q wrk || { apt-get update -q && apt-get install -y -q wrk; }; \
		else echo "make bench: wrk ontbreekt; installeer het met: sudo apt-get install wrk" >&2; exit 1; fi; }
	$(VENV)/bin/python -m bench.run $(if $(LARGE),--large) $(BENCH_ARGS)

# README screenshots from the demo programme (headless Debian chromium).
screenshots: venv
	bash scripts/need-chromium.sh
	@# Date fields read 30-11-2026 only with chromium's Dutch locale (chromium-l10n); the pages of the
	@# workbook and the Word annex are printed by LibreOffice and drawn by pdftoppm (poppler-utils).
	@need=""; test -e /usr/lib/chromium/locales/nl.pak || need="$$need chromium-l10n"; \
	command -v soffice >/dev/null || need="$$need libreoffice-calc libreoffice-writer fonts-liberation"; \
	command -v pdftoppm >/dev/null || need="$$need poppler-utils"; \
	if [ -n "$$need" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y -q --no-install-recommends $$need; \
		else echo "make screenshots: voor Nederlandse datums en de documentpagina's: sudo apt-get install$$need" >&2; fi; fi
	$(VENV)/bin/python scripts/screenshots.py

# Production-style serving: no demo fallbacks, so the configuration must be explicit.
# Settings (workers, timeouts, access log, no control socket) live in gunicorn.conf.py.
serve: venv
	@if [ -z "$${DATABASE_URL:-}" ] || [ -z "$${SECRET_KEY:-}" ] || [ -z "$${AUDIT_KEY:-}" ]; then \
		echo "make serve: DATABASE_URL, SECRET_KEY en AUDIT_KEY moeten in de omgeving staan," >&2; \
		echo "  bijv. DATABASE_URL=postgresql+psycopg://app:app@127.0.0.1:5432/portfolio SECRET_KEY=... AUDIT_KEY=... make serve" >&2; \
		exit 1; \
	fi
	$(VENV)/bin/gunicorn --config gunicorn.conf.py 'app:create_app()'

# Caches only. Never data/: it holds the database and exports.
clean:
	rm -rf .pytest_cache
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
