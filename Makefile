# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint typecheck worker beat bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo
	@echo "Tutor is starting on http://$(HOST):$(PORT)/  (log in with a demo login above; Ctrl-C to stop)"
	$(PY) -m uvicorn tutor.asgi:application --host $(HOST) --port $(PORT)

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy tutor curriculum evals frontend
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy tutor curriculum evals frontend

worker: install
	@test -n "$$CELERY_BROKER_URL" || (echo "Set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) to run a worker; without it tasks run in-process." && exit 2)
	$(VENV)/bin/celery -A tutor worker -l info

beat: install
	@test -n "$$CELERY_BROKER_URL" || (echo "Set CELERY_BROKER_URL to run the scheduler." && exit 2)
	$(VENV)/bin/celery -A tutor beat -l info

clean:
	rm -rf var/ .pytest_cache

bench: install
	@$(PY) -c "import pyBKT" 2>/dev/null || ($(PIP) install --quiet wheel && \
	  $(PIP) install --quiet --no-build-isolation --no-binary pyBKT pyBKT==1.4.3) || \
	  echo "pyBKT (C++ build) could not be installed: the knowledge-tracing comparison will skip it"
	$(PY) -m bench.run
