# DigitRec: `make run` to try it, `make test` to check it, `make stack` for production-like.
PORT ?= 8000
HOST ?= 127.0.0.1
VENV := .venv
PYTHON := $(VENV)/bin/python
MANAGE := $(PYTHON) manage.py

.PHONY: run test stack

# One virtualenv with the dev requirements (they include the runtime ones) and the
# command-line client, rebuilt whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt clients/python/pyproject.toml
	@py=$$(command -v python3.11 || command -v python3) || { \
		echo "Python 3.11 is required: neither python3.11 nor python3 was found." >&2; exit 1; }; \
	$$py -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
		echo "Python 3.11 is required, but $$py is $$($$py --version 2>&1)." >&2; exit 1; }; \
	test -x $(PYTHON) || $$py -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt
	$(PYTHON) -m pip install --quiet -e ./clients/python  # the command-line client, for its tests
	touch $@

# Translations (README "Languages"): the .po files in locale/ are the source, edited by hand;
# the compiled .mo files are committed too, so a clean checkout runs without gettext.
# `make messages` refreshes the .po files from the code (then translate what is new) and
# compiles them; it needs GNU gettext, installed once, as root, when missing (as `make test`
# does for its catalog checks).
MESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=tests --ignore=benchmarks --ignore=scripts \
	--ignore=static/vendor --ignore=locale
MSGFMT := /usr/bin/msgfmt
$(MSGFMT):
	@echo "Installing GNU gettext for the translation tests (apt-get)..."
	@apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null

.PHONY: messages
messages: $(VENV)/.installed $(MSGFMT)
	$(MANAGE) makemessages -l ta -l hi --add-location=file $(MESSAGES_IGNORE)
	$(MANAGE) makemessages -d djangojs -l ta -l hi --add-location=file $(MESSAGES_IGNORE)
	$(MANAGE) compilemessages --ignore=.venv

# The embedded default: SQLite and in-process inference, no PostgreSQL or Redis needed.
# One process (the model is loaded once per process) with threads; no autoreloader,
# which would load the model twice. granian's access-log format leaves out the query string,
# where reset and verification links carry their token (tests/digitrec/test_access_log.py).
run: $(VENV)/.installed
	$(MANAGE) migrate --noinput
	@echo "DigitRec on http://$(HOST):$(PORT)/"
	$(VENV)/bin/granian --interface wsgi --http 1 --no-ws --host $(HOST) --port $(PORT) --workers 1 \
		--blocking-threads 16 --access-log digitrec.wsgi:application

# The browser tests drive Debian's chromium (Playwright's own browser download needs the
# internet); installed once, as root, when missing, and silent once it is there.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@echo "Installing chromium for the browser tests (apt-get)..."
	@apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# The suite runs on PostgreSQL and Redis; both must be running. Two pytest-xdist workers
# (TEST_WORKERS=0 for one process), each with its own test database. --dist worksteal hands out
# tests by their place in the collection (each worker starts with one contiguous half, so a
# module's fixtures are mostly built once), so the nine schemathesis cases, which
# share one node id, all run (--dist loadfile ran only one of them).
TEST_WORKERS ?= 2
test: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/digitrec
test: export REDIS_URL ?= redis://127.0.0.1:6379/0
test: $(VENV)/.installed $(CHROMIUM) $(MSGFMT)
	DJANGO_ENV=development $(PYTHON) -m pytest -n $(TEST_WORKERS) --dist worksteal

# Production-like on one machine: the granian web server, Celery workers and beat (Procfile),
# run in the foreground by honcho; Ctrl-C stops them all. Sized for 2 cores by default: two
# web processes of 32 threads (a thread waiting for a result sleeps in Redis), and
# two worker processes of 8 task threads each sharing one model (micro-batching), and one
# webhook worker (deliveries have a queue of their own). A secret key is generated once into
# var/secret_key unless DJANGO_SECRET_KEY is set.
stack: export DJANGO_ENV := production
stack: export DJANGO_SECURE_SSL_REDIRECT ?= 0
stack: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/digitrec
stack: export CELERY_BROKER_URL ?= redis://127.0.0.1:6379/0
# Production needs an explicit way out for mail: SMTP with EMAIL_HOST, else files in var/mail/.
stack: export EMAIL_BACKEND ?= $(if $(EMAIL_HOST),smtp,file)
stack: export PORT := $(PORT)
stack: export HOST := $(HOST)
stack: $(VENV)/.installed
	@mkdir -p var && test -s var/secret_key || (umask 077 && \
		$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > var/secret_key)
	export DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat var/secret_key)}" && \
	$(MANAGE) createdatabase && \
	$(MANAGE) migrate --noinput && \
	$(MANAGE) collectstatic --noinput --verbosity 0 && \
	exec $(VENV)/bin/honcho start -f Procfile -c worker=$${CELERY_PROCESSES:-2}

# The model (see README "The model"). train reproduces the shipped model with its seed and
# activates it; evaluate prints every figure of the serving model against its floor, measured on
# MNIST test and the measuring part of the realistic sets (built under var/evalsets if missing).
.PHONY: fetch-mnist train evaluate benchmark
fetch-mnist: $(VENV)/.installed
	$(MANAGE) fetch_mnist

train: $(VENV)/.installed
	$(MANAGE) fetch_mnist
	$(MANAGE) migrate --noinput  # the new version is registered and activated in the database
	$(MANAGE) train_model --activate

evaluate: $(VENV)/.installed
	$(MANAGE) fetch_mnist
	$(MANAGE) migrate --noinput  # the serving model is the database's active version
	$(MANAGE) evaluate_model

benchmark: $(VENV)/.installed
	$(PYTHON) -m benchmarks.inference

# DigitRec (make stack) and the original report's app under the same Locust load, one
# after the other (see docs/BENCHMARKS.md). Needs PostgreSQL and Redis, like make stack.
.PHONY: bench-load
bench-load: $(VENV)/.installed
	$(MANAGE) fetch_mnist
	$(PYTHON) -m benchmarks.compare

# Five minutes of load with a worker SIGKILL and a Redis restart (docs/RELIABILITY.md).
.PHONY: soak
soak: $(VENV)/.installed
	$(MANAGE) fetch_mnist
	$(PYTHON) -m benchmarks.soak
