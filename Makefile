# shoestring: the README's two commands are `make up` and `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
STACK ?= dev
# Pinned tools (etcd, kube-apiserver, ..., pulumi) are built once into this cache, outside the repo.
export SHOESTRING_TOOLS ?= $(HOME)/.cache/shoestring/tools
GO ?= go

.PHONY: test unit lint tools preview up-stack cost

## test: everything CI runs — builds missing tools, then unit, render and end-to-end tests.
test: tools lint
	SHOESTRING_E2E=1 $(GO) test -count=1 ./...

## unit: the fast tests only (Pulumi mocks, pure functions); no tools needed.
unit:
	$(GO) test ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

tools:
	scripts/tools.sh

## preview / `up STACK=x`: real Pulumi against real clouds, for users with the Pulumi CLI installed.
## `make up` without STACK is the local dev flow below (render + apply on the local control plane).
preview:
	pulumi preview --stack $(STACK) --diff

up-stack:
	pulumi up --stack $(STACK)

## cost: the monthly cost estimate of a stack, from the price table in the repo.
cost:
	$(GO) run ./cmd/shoestring cost --stack $(STACK)

# --- local control plane, render, make up (issue 3) ---
# The local control plane (etcd, kube-apiserver, controllers, kwok with simulated nodes) lives in
# CLUSTER_DIR; Pulumi.dev.yaml's kubeconfig points at $(CLUSTER_DIR)/kubeconfig.
CLUSTER_DIR ?= .state/cluster
RENDER_DIR ?= .state/render
SHOESTRING := .state/bin/shoestring
.PHONY: up down cluster-up cluster-down cluster-status cluster-tools render render-golden shoestring-cli

# Only the control plane's binaries: `make up` does not need the Pulumi CLI.
cluster-tools:
	scripts/tools.sh

shoestring-cli:
	@mkdir -p $(dir $(SHOESTRING)) && $(GO) build -o $(SHOESTRING) ./cmd/shoestring

## up: the dev stack on the local control plane: build what is missing, start it, render, apply, wait.
## `make up STACK=sandbox` (STACK given on the command line or in the environment) runs the real
## `pulumi up` of that stack instead.
ifneq ($(filter command line environment,$(origin STACK)),)
up: up-stack
else
up: local-up
endif
.PHONY: local-up
local-up: cluster-up shoestring-cli
	$(SHOESTRING) render --stack dev --out $(RENDER_DIR)/dev
	$(SHOESTRING) apply --kubeconfig $(CLUSTER_DIR)/kubeconfig --dir $(RENDER_DIR)/dev --wait
	@echo "make up: done. The nodes are kwok's simulations: objects, scheduling and status are real Kubernetes, no container runs."
	@echo "make up: KUBECONFIG=$(CLUSTER_DIR)/kubeconfig kubectl get pods -A; make down removes it all."

## down: stop the local control plane and remove its state and renders.
down: cluster-down
	rm -rf $(RENDER_DIR)

cluster-up: cluster-tools shoestring-cli
	$(SHOESTRING) cluster up --dir $(CLUSTER_DIR)

cluster-down: shoestring-cli
	$(SHOESTRING) cluster down --dir $(CLUSTER_DIR)

cluster-status: shoestring-cli
	$(SHOESTRING) cluster status --dir $(CLUSTER_DIR)

## render: a stack's manifests, apply order and cloud summary in $(RENDER_DIR)/$(STACK).
render: shoestring-cli
	$(SHOESTRING) render --stack $(STACK) --out $(RENDER_DIR)/$(STACK)

## render-golden: rewrite internal/render/testdata/golden after an intended change of the program's output.
render-golden:
	$(GO) test ./internal/render -run TestGoldenRenders -update
# --- end local control plane ---

# --- edge (issue 5) ---
.PHONY: edge-conf edge-test
## edge-conf: print the nginx.conf the edge runs for STACK, generated from its routes.
edge-conf:
	$(GO) run ./cmd/shoestring edge-conf --stack $(STACK)

## edge-test: the edge's tests with real nginx (nginx -t of every stack, routing on loopback) and
## its rollout on the local control plane (needs nginx: apt-get install -y nginx).
edge-test: tools
	SHOESTRING_E2E=1 $(GO) test -count=1 ./components/edge/... ./stacks/ ./infra/program/ ./cmd/shoestring/ -run 'Edge|Nginx|Hostname|Route'
# --- end edge ---

# --- dns sync (issue 7) ---
.PHONY: dnssync dnssync-fuzz dnssync-measure

## dnssync: the controller as a static binary (bin/dnssync); the image is cmd/dnssync/Dockerfile
## (`docker build -f cmd/dnssync/Dockerfile .` where a Docker engine runs).
dnssync:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/dnssync ./cmd/dnssync

## dnssync-fuzz: explore the plan function beyond its seed corpus (FUZZTIME=1m by default).
dnssync-fuzz:
	$(GO) test ./internal/dnssync -run '^$$' -fuzz FuzzMakePlan -fuzztime $${FUZZTIME:-1m}

## dnssync-measure: convergence time, requests, RSS and CPU of the controller (README "DNS sync").
dnssync-measure: cluster-tools
	scripts/measure-dnssync.sh -gomemlimit 16MiB -gogc 50
# --- end dns sync ---

# --- dev tooling (issue 6) ---
# The Pulumi CLI (stack-lifecycle tests) and actionlint are pinned tools too, built for `make test`
# (not for `make up`); `make lint` (so `make test`) checks every GitHub Actions workflow.
test: dev-tools
lint: actionlint
.PHONY: dev-tools actionlint playground-list playground-report
dev-tools:
	scripts/tools.sh pulumi actionlint
actionlint:
	scripts/tools.sh actionlint >/dev/null
	$(SHOESTRING_TOOLS)/bin/actionlint -color=false
## playground-list / playground-report: the playgrounds of BASE (default sandbox), with age and cost.
BASE ?= sandbox
playground-list:
	$(GO) run ./cmd/shoestring playground list --base $(BASE)
playground-report:
	$(GO) run ./cmd/shoestring playground report --base $(BASE)
# --- end dev tooling ---
