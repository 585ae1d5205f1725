# OneDesk: two commands. `make run` opens the demo app, `make test` runs the static checks (ruff, mypy) and every
# test offscreen.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The oldest Qt OneDesk ships (the aarch64 desks' constraints file), in a second venv: `make test-oldest`.
OLDEST := .venv-oldest
OLDEST_STAMP := $(OLDEST)/.installed
# Which tests run on the oldest Qt as well: the Qt-facing ones (see test-oldest below).
OLDEST_TESTS ?= -m gui tests
OLDEST_MORE ?= tests/test_printing.py
VENV_INPUTS := pyproject.toml $(wildcard constraints/*.txt) constraints/choose.py

.PHONY: run test test-oldest setup setup-oldest check-constraints package clean bench

# A venv $(1) with OneDesk's dependencies, wheels only; constraints/choose.py says which constraints file and
# extras this machine takes (`choose.py args $(2)`: Qt 6.9.3 / 6.8.0.2 on an older glibc, else the newest Qt with
# PySide6-Pdf) and checks the result (QtPdf, QtMultimedia there, no QtWebEngine). A venv from before issue 17
# holds the PySide6 meta-package and QtWebEngine, and uninstalling those would delete files the remaining Qt
# wheels share (PySide6/__init__.py, the .pyi stubs): such a venv is made anew. A clean clone (CI) always starts
# with none.
define make-venv
	if [ -x $(1)/bin/python ] && $(1)/bin/python constraints/choose.py stale; then \
	  echo "$(1): the PySide6 meta-package or QtWebEngine is installed (a venv from before issue 17): made anew"; \
	  rm -rf $(1); fi
	test -d $(1) || $(PYTHON) -m venv $(1)
	test -e $(1)/.gitignore || echo '*' > $(1)/.gitignore
	$(1)/bin/python -m pip install --quiet --upgrade pip
	set -f; $(1)/bin/python -m pip install --quiet --only-binary=:all: $$($(1)/bin/python constraints/choose.py args $(2))
	$(1)/bin/python constraints/choose.py verify
	touch $(1)/.installed
endef

$(STAMP): $(VENV_INPUTS)
	$(call make-venv,$(VENV),)

$(OLDEST_STAMP): $(VENV_INPUTS)
	$(call make-venv,$(OLDEST),--oldest)

setup: $(STAMP)

setup-oldest: $(OLDEST_STAMP)

# On Linux, first the system libraries Qt's screen plugin needs: installed with apt-get when possible, else the
# one command that installs them is printed and the app is not started.
run: $(STAMP)
	PY=$(PY) .ci/qt-system-libs
	$(PY) main.py --demo --data-dir $(CURDIR)/.demo-data

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# The tests on the oldest Qt OneDesk ships (6.8.0.2, constraints/linux-aarch64-glibc2.31.txt; the same wheels
# install on x86_64). Only the Qt-facing tests by default: every test driving widgets (-m gui) plus printing and
# the PDF preview and Qt's own Chinese words; the rest does not touch Qt and already ran in `make test`. The whole
# suite: make test-oldest OLDEST_TESTS=tests OLDEST_MORE=
test-oldest: $(OLDEST_STAMP)
	QT_QPA_PLATFORM=offscreen $(OLDEST)/bin/python -m pytest -q $(OLDEST_TESTS)
	test -z "$(OLDEST_MORE)" || QT_QPA_PLATFORM=offscreen $(OLDEST)/bin/python -m pytest -q $(OLDEST_MORE)

# Every constraints file re-resolved against the package index for its platform (network; not in pytest).
check-constraints: $(STAMP)
	$(PY) constraints/check.py

package: ; packaging/linux/build-deb

clean:
	rm -rf $(VENV) $(OLDEST) .demo-data .pytest_cache .mypy_cache .ruff_cache
