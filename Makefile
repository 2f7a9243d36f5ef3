# The two commands a new user needs are `make demo` and `make test`; both install what they need
# (npm packages incl. Node 24, and the control-plane binaries, built once from Go modules).
SHELL := /bin/bash
.DEFAULT_GOAL := help

NPM ?= npm
DEPS_STAMP := node_modules/.deps-installed

.PHONY: help
help: ## Show the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

# `npm install` honours package-lock.json and, unlike `npm ci` (which the image uses), keeps
# node_modules when package.json changes. package.json's allowScripts lets the `node` package
# (Node 24) and esbuild run their install scripts.
$(DEPS_STAMP): package.json package-lock.json
	$(NPM) install --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: $(DEPS_STAMP) ## Install npm packages (Node 24 comes as the dev dependency `node`)

.PHONY: control-plane
control-plane: ## Build kube-apiserver, etcd, kubectl, kube-controller-manager once (~8 min first time)
	@bash hack/build-control-plane.sh >/dev/null

.PHONY: build
build: deps ## Compile TypeScript to dist/
	$(NPM) run build

.PHONY: lint
lint: deps ## Biome (lint + format check) and the TypeScript type check
	$(NPM) run lint

.PHONY: generate
generate: deps ## Regenerate crds/ and manifests/ from src/api
	$(NPM) run generate

.PHONY: monitoring-tools
monitoring-tools: ## Build promtool and fetch the Prometheus operator's CRDs once (the monitoring test checks with them)
	@bash hack/build-monitoring-tools.sh >/dev/null

.PHONY: test
test: deps control-plane monitoring-tools ## Lint, then every test (unit + integration against a real API server)
	$(NPM) run lint
	$(NPM) test

.PHONY: demo
demo: deps control-plane build ## Run the provider against a local control plane (Ctrl-C to stop)
	$(NPM) run demo

.PHONY: bench
bench: deps control-plane ## Allocator and end-to-end benchmarks (JSON lines)
	$(NPM) run bench:allocator
	$(NPM) run bench:e2e

.PHONY: clean
clean: ## Remove build output (not the control-plane binaries)
	rm -rf dist coverage reports
