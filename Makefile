# Two entry points for a fresh machine: `make demo` (the main job) and `make test` (the suite).
# Both create the virtual environment in .venv on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.eegaffect-installed

.PHONY: demo test install bench clean-venv

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --constraint constraints.txt torch torchaudio torchvision
	$(BIN)/python -m pip install --constraint constraints.txt --editable '.[dev]'
	$(BIN)/python -m pip install --no-deps heartpy==1.2.7 pyhrv==0.5.0
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/eegaffect demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --durations=15

bench: $(STAMP)
	$(BIN)/eegaffect bench kernels

clean-venv:
	rm -rf $(VENV)
