# Bootstrap on a machine with only python3 and pip, then the project's commands.
#   make demo   generate the demo dataset and build every demo publication
#   make test   run the test suite
#   make lab    open JupyterLab on notebooks/ with the demo dataset in place
#   make bench  benchmark the indicators on the large synthetic scale (prints figures)
#   make mutants  mutation testing of the code that decides publication numbers (docs/testing.md; ~25 min)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lab bench mutants clean strip

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/yibao demo --data data/demo --out reports

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

lab: $(STAMP)
	$(BIN)/yibao demo --data data/demo --out reports --only-data
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_indicators.py

# not part of `make test`: CPU heavy; tools/mutants.py needs nothing beyond requirements.txt (stdlib ast + pytest)
mutants: $(STAMP)
	$(BIN)/python tools/mutants.py

strip: $(STAMP)
	$(BIN)/nbstripout notebooks/*.ipynb

clean:
	rm -rf $(VENV) reports/* .pytest_cache
