# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned and installed first: an unpinned torch would pull a CUDA build of several GB.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[train,demo,dev]'
	touch $(STAMP)

install: $(STAMP)

# The server runs with a Celery worker and beat (the periodic schedules), on kombu's filesystem
# broker under var/celery/ in embedded mode (REDIS_URL set: Redis); all stop with the server.
# DEBUG is on for the demo only: settings default it to off (a debug page shows every setting).
demo: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py shop_seed_demo --if-empty
	$(BIN)/python manage.py recommendations_train --full
	$(BIN)/python manage.py shop_demo_admin
	DJANGO_DEBUG=1 CELERY_BROKER_URL=filesystem:// $(BIN)/python manage.py shop_demo_serve 127.0.0.1:8000

# Two workers (pytest-xdist): most of the slow tests wait on processes they start, so two share
# two cores well; TEST_WORKERS=0 runs the suite in one process. tests/parallel.py gives each
# worker a Redis database of its own.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -p tests.parallel -n $(TEST_WORKERS) $(PYTEST_ARGS)

# ruff check and ruff format --check, mypy over the app (config in pyproject.toml), plus the API
# schema (every view documented, no warnings).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy recommendations
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .ruff_cache
