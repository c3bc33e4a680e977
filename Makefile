# The two commands of the README: `make run` and `make test`. Each sets up .venv first if needed.
PYTHON ?= python3
VENV := .venv
READY := $(VENV)/.ready

.PHONY: run test lint chromium

$(READY): pyproject.toml constraints.txt web/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	@# The map's libraries (Leaflet and its plugins), served by Stormline itself: the map must work with
	@# the internet down. From the npm registry at setup, pinned by the lock file; never copied into git.
	cd web && npm ci --no-audit --no-fund --silent
	touch $(READY)

run: $(READY)
	$(VENV)/bin/stormline serve

lint: $(READY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Page tests drive Debian's Chromium (a browser download by a test tool would not work here).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Page tests need Chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

# pytest runs on every core (pytest-xdist); the API fuzzing apart, in one process, because schemathesis
# expands its operations into tests only there (under xdist each of its four tests ran a fraction).
test: lint chromium
	$(VENV)/bin/pytest --ignore=tests/test_fuzz_api.py
	$(VENV)/bin/pytest -n 0 tests/test_fuzz_api.py
