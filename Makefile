# Tournée: `make run` serves the demo, `make test` runs the whole suite. Nothing else is needed.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PORT ?= 8000
export FLASK_APP := webapp

.PHONY: run test install translations chromium lint typecheck pytest serve migrate demo vendor clean lighthouse \
	test-postgres postgresql redis load

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
	$(BIN)/flask push keys >/dev/null
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

pytest: install chromium node_modules/.installed redis
	$(BIN)/pytest -q

test: lint typecheck pytest

# Debian's PostgreSQL and Redis (the Redis scale-out test starts its own redis-server).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

redis:
	@command -v redis-server >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

# The whole suite again on PostgreSQL: a throw-away cluster in a temp folder, on a free port,
# owned by the `postgres` user when run as root (PostgreSQL refuses to run as root); every
# test gets a database copied from one migrated template (tests/conftest.py).
test-postgres: install chromium node_modules/.installed postgresql redis
	@set -eu; bindir=$$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1); \
	dir=$$(mktemp -d /tmp/tournee-pg.XXXXXX); port=$$($(PY) -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	as=""; if [ "$$(id -u)" = 0 ]; then chown postgres "$$dir"; as="runuser -u postgres --"; fi; \
	$$as $$bindir/initdb -D "$$dir/data" -U tournee -A trust -E UTF8 --no-locale >/dev/null; \
	$$as $$bindir/pg_ctl -D "$$dir/data" -l "$$dir/log" -w -o "-p $$port -k $$dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null; \
	trap '$$as $$bindir/pg_ctl -D "$$dir/data" -m immediate stop >/dev/null; rm -rf "$$dir"' EXIT; \
	echo "PostgreSQL $$($$bindir/postgres --version | cut -d' ' -f3) on 127.0.0.1:$$port"; \
	TEST_DATABASE_URL="postgresql+psycopg://tournee@127.0.0.1:$$port/postgres" $(BIN)/pytest -q $(PYTEST_ARGS)

# Morning-peak load on gunicorn and SQLite (several minutes; not part of `make test`).
load: install
	$(PY) -m bench.load

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
