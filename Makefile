# sahel-causal: the two commands of the quick start.
#   make reproduce   set up .venv and rebuild data/processed/ and results/
#   make test        set up .venv and run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: reproduce test venv clean-venv check

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e ".[test]"
	@touch $(STAMP)

venv: $(STAMP)

reproduce: $(STAMP)
	$(PY) -m sahel_causal.cli reproduce

test: $(STAMP)
	$(PY) -m pytest -q

check: $(STAMP)
	$(PY) -m sahel_causal.cli data check

clean-venv:
	rm -rf $(VENV)
