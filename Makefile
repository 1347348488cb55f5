# sahel-causal: the two commands of the quick start, and the heavier optional targets.
#   make reproduce    set up .venv and rebuild data/processed/ and every table and figure in results/
#   make test         set up .venv and run the test suite (reduced Monte Carlo; SAHEL_CAUSAL_FULL_MC=1 for full)
#   make paper        build paper/main.pdf from results/ (needs TeX: see paper/README.md)
#   make calibration  the full Monte Carlo of the size and coverage of every inference method (many minutes)
#   make multiverse   estimate the two multiverses on their own (resumable; `make reproduce` includes them)
#   make bench        benchmark scripts (ratios against named baselines, printed)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
JOBS ?= 2

.PHONY: reproduce test venv clean-venv check paper calibration multiverse bench

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e ".[test,parquet]"
	@touch $(STAMP)

venv: $(STAMP)

reproduce: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m sahel_causal.cli reproduce --jobs $(JOBS)

test: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -q

check: $(STAMP)
	$(PY) -m sahel_causal.cli data check

paper: $(STAMP)
	@command -v latexmk >/dev/null || { echo "make paper needs latexmk and TeX Live: apt-get install texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended lmodern latexmk"; exit 1; }
	$(MAKE) -C paper

calibration: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) -m sahel_causal.tasks.calibration

multiverse: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m sahel_causal.cli multiverse coups
	OMP_NUM_THREADS=1 $(PY) -m sahel_causal.cli multiverse violence

bench: $(STAMP)
	$(PY) benchmarks/bench_multiverse.py --quick
	$(PY) benchmarks/bench_did.py
	$(PY) benchmarks/bench_synth.py
	OMP_NUM_THREADS=1 $(PY) benchmarks/bench_inference.py

clean-venv:
	rm -rf $(VENV)
