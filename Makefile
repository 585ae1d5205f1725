# OneDesk: two commands. `make run` opens the demo app, `make test` runs the static checks (ruff, mypy) and every
# test offscreen.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test setup clean bench

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# On Linux, first the system libraries Qt's screen plugin needs: installed with apt-get when possible, else the
# one command that installs them is printed and the app is not started.
run: $(STAMP)
	PY=$(PY) .ci/qt-system-libs
	$(PY) main.py --demo --data-dir $(CURDIR)/.demo-data

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

clean:
	rm -rf $(VENV) .demo-data .pytest_cache .mypy_cache .ruff_cache
