# Quick start: `make demo` runs the camera-ownership demo, `make test` runs the whole suite.
# Both create the virtual environment in .venv first (Python >= 3.11, pip).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The explorer's vendored graph library (see `vendor` below).
VENDOR := catenary/web/static/vendor
VENDOR_STAMP := $(VENDOR)/.cytoscape-3.35.0-dagre-4.0.1

.PHONY: demo test bench clean vendor

# `.[test]` pulls every extra (postgres, dask, web, wasm, image): the suite covers them all.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed $(VENDOR_STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" sh examples/camera-ownership/demo.sh

# buf (for `buf curl`, the independent gRPC client the API tests use), from npm.
BUF := .tools/node_modules/.bin/buf
$(BUF):
	npm install --no-audit --no-fund --prefix .tools @bufbuild/buf@1.75.0

# The official JavaScript IPLD packages: the independent reader of proof bundles (tests/trust).
IPLD := .tools/node_modules/@ipld/car/package.json
$(IPLD):
	npm install --no-audit --no-fund --prefix .tools @ipld/car@5.4.7 @ipld/dag-cbor@10.0.2 multiformats@14.0.5 @noble/hashes@2.4.0

# The browser library (js/, docs/browser.md): its pinned packages (@ipld/car, @ipld/dag-cbor,
# multiformats; esbuild to build) in js/node_modules. `make js` also rebuilds the two files
# it ships in catenary/web/static/ (committed; tests/browser checks they are current).
JSDEPS := js/node_modules/.package-lock.json
$(JSDEPS): js/package.json
	npm install --no-audit --no-fund --prefix js
.PHONY: js
js: $(JSDEPS)
	node js/build.mjs

# gRPC for Node.js: the example executor written without catenary's code (examples/executors, tests/executors).
GRPCJS := .tools/node_modules/@grpc/proto-loader/package.json
$(GRPCJS):
	npm install --no-audit --no-fund --prefix .tools @grpc/grpc-js@1.14.7 @grpc/proto-loader@0.8.1

# The explorer's graph library (cytoscape.js with the dagre layout, which bundles dagre), from npm,
# copied next to the explorer's static files: its pages never load a script from elsewhere.
# Not committed (docs/web.md); `make vendor` alone refreshes it.
$(VENDOR_STAMP):
	npm install --no-audit --no-fund --prefix .tools cytoscape@3.35.0 cytoscape-dagre@4.0.1
	mkdir -p $(VENDOR)
	cp .tools/node_modules/cytoscape/dist/cytoscape.min.js .tools/node_modules/cytoscape-dagre/dist/cytoscape-dagre.min.js $(VENDOR)/
	cp .tools/node_modules/cytoscape/LICENSE $(VENDOR)/cytoscape.LICENSE
	cp .tools/node_modules/cytoscape-dagre/LICENSE $(VENDOR)/cytoscape-dagre.LICENSE
	touch $@
vendor: $(VENDOR_STAMP)

# Debian's Chromium for the explorer's browser tests (Playwright drives it; no browser download).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# PostgreSQL server binaries (initdb, pg_ctl): the tests start a throwaway server of their own
# (tests/pg.py). Installed from the distribution when /usr/lib/postgresql/*/bin/initdb is missing.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }
.PHONY: postgresql

test: $(BIN)/.installed $(BUF) $(IPLD) $(GRPCJS) $(JSDEPS) $(VENDOR_STAMP) $(CHROMIUM) postgresql
	CATENARY_BUF="$(CURDIR)/$(BUF)" $(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/engine_throughput.py

# Side by side with redun, Prefect 3 and Hamilton (each in its own venv under
# benchmarks/peers/.venvs/, none a dependency of catenary), then the plots (docs/benchmarks.md).
.PHONY: bench-peers
bench-peers: $(BIN)/.installed
	sh benchmarks/peers/setup.sh
	$(BIN)/python benchmarks/peers/run.py --json docs/benchmarks/peers.json
	benchmarks/peers/.venvs/tools/bin/python benchmarks/scaling/plot.py

clean:
	rm -rf $(VENV) .tools js/node_modules .catenary examples/camera-ownership/out $(VENDOR)
