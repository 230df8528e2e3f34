# Tournée: `make run` serves the demo, `make test` runs the whole suite. Nothing else is needed.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PORT ?= 8000
export FLASK_APP := webapp

.PHONY: run test install translations chromium lint typecheck pytest serve migrate demo vendor clean lighthouse

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed translations

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d webapp/translations -f >/dev/null

migrate: install
	$(BIN)/flask db upgrade

demo: migrate
	$(BIN)/flask demo load

# The web server and one background worker (optimisations, nightly jobs), stopped together.
run: demo
	$(BIN)/huey_consumer webapp.tasks.huey --workers 1 --worker-type thread & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 --access-logfile - \
	    webapp.wsgi:app

# Debian's Chromium drives the browser tests (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

# axe-core (accessibility checks in the browser tests) and lighthouse@12, pinned by
# package-lock.json; lighthouse 13 needs Node >= 22, this machine has Node 20.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

pytest: install chromium node_modules/.installed
	$(BIN)/pytest -q

test: lint typecheck pytest

# Refresh the vendored front-end files from the npm registry (not needed to run or test).
vendor:
	npm install --no-audit --no-fund --prefix /tmp/tournee-vendor htmx.org@2
	cp /tmp/tournee-vendor/node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

# Lighthouse 12 (mobile) on a signed-in carer's pages; not part of `make test` (~15 s a page).
lighthouse: install chromium node_modules/.installed
	$(PY) -m bench.lighthouse

clean:
	rm -rf node_modules $(VENV) instance .pytest_cache .mypy_cache .ruff_cache

# Re-extract the French source strings and merge them into the English catalogue.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -o webapp/translations/messages.pot .
	$(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations -w 100
