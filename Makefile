# Quick start: `make demo` runs the camera-ownership demo, `make test` runs the whole suite.
# Both create the virtual environment in .venv first (Python >= 3.11, pip).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" sh examples/camera-ownership/demo.sh

# buf (for `buf curl`, the independent gRPC client the API tests use), from npm.
BUF := .tools/node_modules/.bin/buf
$(BUF):
	npm install --no-audit --no-fund --prefix .tools @bufbuild/buf@1.75.0

test: $(BIN)/.installed $(BUF)
	CATENARY_BUF="$(CURDIR)/$(BUF)" $(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/engine_throughput.py

clean:
	rm -rf $(VENV) .tools .catenary examples/camera-ownership/out
