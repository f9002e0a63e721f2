# shoestring: the README's two commands are `make up` and `make test`; `make help` lists the rest.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
GO ?= go
# Compiled packages are cached by their sources rather than by this clone's path, so a second
# clone reuses them (scripts/measure-local.sh: the CLI's build in a fresh clone, 53 s -> 15 s).
export GOFLAGS ?= -trimpath
# The pinned tools are built without cgo (scripts/tools.sh); the CLI and the tests are too, so that
# packages at the same version are compiled once for both: with tools/pulumi's versions aligned
# to go.mod's, the CLI's first build after the Pulumi CLI's took 342 s instead of 437 s on 2 cores.
export CGO_ENABLED ?= 0
# Pinned tools (etcd, kube-apiserver, ..., the Pulumi CLI and Kubernetes provider) are built once
# into this cache, outside the repo (scripts/tools.sh).
export SHOESTRING_TOOLS ?= $(HOME)/.cache/shoestring/tools
# The local control plane lives in CLUSTER_DIR; Pulumi.dev.yaml's kubeconfig points at
# $(CLUSTER_DIR)/kubeconfig. Local stacks keep their state under STATE_DIR.
CLUSTER_DIR ?= .state/cluster
STATE_DIR ?= .state/pulumi
RENDER_DIR ?= .state/render
SHOESTRING := .state/bin/shoestring
STACK ?= dev
# Every step that can take more than seconds runs under scripts/step.sh: it says what it does and
# what that usually takes on 2 cores, is never silent for more than 30 s, and adds its time to the
# table `make up` and `make test` print at the end.
STEP := scripts/step.sh

.PHONY: help
## help: this list.
help:
	@awk '/^## [a-z-]+: / {d = $$0; sub(/^## /, "", d); n = d; sub(/: .*/, "", n); sub(/^[a-z-]+: /, "", d); printf "  %-18s %s\n", n, d}' $(MAKEFILE_LIST)

# --- The two commands -----------------------------------------------------------------------------
.PHONY: up down test

## up: the dev stack on the local control plane with the real Pulumi engine (`make up STACK=x`: pulumi up -s x).
ifneq ($(filter command line environment,$(origin STACK)),)
up:
	pulumi up --stack $(STACK)
else
up: plan-up cluster-up
	$(STEP) "shoestring up" "usually 6 s with no change, 50 s from empty, on 2 cores" -- \
	  $(SHOESTRING) up --stack dev --state $(STATE_DIR)
	@$(STEP) --table
endif

## down: destroy the dev stack (when its cluster runs), then stop and remove the local control plane.
down: shoestring-cli
	if $(SHOESTRING) cluster status --dir $(CLUSTER_DIR) >/dev/null 2>&1; then \
	  $(SHOESTRING) destroy --stack dev --state $(STATE_DIR); fi
	$(SHOESTRING) cluster down --dir $(CLUSTER_DIR)
	rm -rf $(RENDER_DIR)

## test: everything CI runs: set-up (tools, nginx), gofmt, vet, actionlint, unit and end-to-end tests.
test: plan-test test-setup lint
	$(STEP) "go test (with e2e)" "compiles every package, then runs the suite; no 2-core figure yet" -- \
	  env SHOESTRING_E2E=1 $(GO) test -count=1 -timeout 45m ./...
	@$(STEP) --table

# The start of `make up` and `make test`: what the run will build and roughly how long, before
# it builds anything (scripts/plan.sh); it also empties the table of step times.
.PHONY: plan-up plan-test
plan-up:
	@scripts/plan.sh --cli $(SHOESTRING) $(if $(filter 0,$(REAL_NODES)),,--images)
plan-test:
	@scripts/plan.sh $(TEST_TOOLS)
	@echo "plan: then gofmt, go vet, actionlint and SHOESTRING_E2E=1 go test ./... (the real-node tests build the local images that are missing: about 13 minutes on 2 cores from an empty cache)"

# --- Tests ------------------------------------------------------------------------------------------
.PHONY: unit lint test-setup system-packages edge-test

## unit: the fast tests only (Pulumi mocks, pure functions); no tools needed.
unit:
	$(GO) test ./...

## lint: gofmt, go vet and actionlint on the workflows.
lint: tools-test
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(STEP) "go vet" "usually seconds; minutes with an empty Go build cache" -- $(GO) vet ./...
	$(SHOESTRING_TOOLS)/bin/actionlint -color=false

## test-setup: tools-test plus the system packages the tests and the real node use.
test-setup: tools-test system-packages

## system-packages: install the Debian packages that are missing (nginx, containerd, runc, CNI plugins, mmdebstrap, ...; needs root).
system-packages:
	$(STEP) system-packages "seconds when installed; apt-get's time when not" -- scripts/test-setup.sh

## edge-test: the edge's tests with real nginx and its rollout on the local control plane.
edge-test: test-setup
	SHOESTRING_E2E=1 $(GO) test -count=1 ./components/edge/... ./stacks/ ./infra/program/ ./cmd/shoestring/ -run 'Edge|Nginx|Hostname|Route'

# --- Tools --------------------------------------------------------------------------------------------
.PHONY: tools tools-test shoestring-cli

## tools: build what `make up` needs and is missing: control plane, Pulumi CLI, Kubernetes provider.
tools:
	$(STEP) --own-heartbeat tools "seconds when built before; the plan says what a build takes" -- scripts/tools.sh

TEST_TOOLS := kube etcd kwok coredns kube-network-policies pulumi kubernetes-provider actionlint
## tools-test: tools plus actionlint, for `make test`.
tools-test:
	$(STEP) --own-heartbeat tools "seconds when built before; the plan says what a build takes" -- scripts/tools.sh $(TEST_TOOLS)

## shoestring-cli: build the CLI into .state/bin/shoestring.
shoestring-cli:
	@mkdir -p $(dir $(SHOESTRING))
	$(STEP) shoestring-cli "usually 15 s with a warm Go build cache, about 6 minutes with an empty one, on 2 cores" -- \
	  $(GO) build -o $(SHOESTRING) ./cmd/shoestring

# --- Local control plane and local stacks ---------------------------------------------------------
.PHONY: cluster-up cluster-down cluster-status preview-local destroy-local images

# Nodes that run containers (containerd, kubelet, kube-proxy in a network namespace each); 0 keeps
# a simulated-only cluster.
REAL_NODES ?= 1
## cluster-up: start the local cluster: control plane, kwok with 3 simulated nodes, REAL_NODES (1) real nodes with images built here.
cluster-up: tools system-packages shoestring-cli $(if $(filter 0,$(REAL_NODES)),,images)
	$(STEP) "cluster up" "usually 11 s on 2 cores, images built" -- \
	  $(SHOESTRING) cluster up --dir $(CLUSTER_DIR) --real-nodes $(REAL_NODES)

## images: build the local cluster's images (cached by their inputs in the tools cache; each line names its archive).
images: tools system-packages shoestring-cli
	$(STEP) --own-heartbeat images "seconds when cached; about 13 minutes on 2 cores from an empty cache" -- \
	  $(SHOESTRING) images local >/dev/null

## cluster-down: stop the local control plane and remove its state.
cluster-down: shoestring-cli
	$(SHOESTRING) cluster down --dir $(CLUSTER_DIR)

## cluster-status: whether the local control plane runs, and its processes.
cluster-status: shoestring-cli
	$(SHOESTRING) cluster status --dir $(CLUSTER_DIR)

## preview-local: what `make up` would change in the dev stack (STACK=x with EXISTING=kubeconfig: x's Kubernetes side there).
preview-local: tools shoestring-cli
	$(SHOESTRING) preview --stack $(STACK) --state $(STATE_DIR) $(if $(EXISTING),--existing-cluster $(EXISTING))

# --- Real stacks (users with the Pulumi CLI, plugins and cloud credentials) -------------------------
.PHONY: preview cost

## preview: pulumi preview --diff of STACK (e.g. make preview STACK=sandbox).
preview:
	pulumi preview --stack $(STACK) --diff

## cost: the monthly cost estimate of STACK from the price table in the repo.
cost:
	$(GO) run ./cmd/shoestring cost --stack $(STACK)

# --- Docs -------------------------------------------------------------------------------------------
.PHONY: docs

## docs: regenerate docs/configuration.md from the schema's field comments (stacks/*.go).
docs:
	$(GO) generate ./stacks

# --- Golden renders, edge, DNS sync, playgrounds -------------------------------------------------------------
.PHONY: render render-golden edge-conf dnssync dnssync-fuzz dnssync-measure dnssync-soak playground-list playground-report

## render: STACK's Kubernetes objects as YAML in $(RENDER_DIR)/$(STACK), from the real engine and provider (render mode).
render: tools shoestring-cli
	$(SHOESTRING) render --stack $(STACK) --out $(RENDER_DIR)/$(STACK)

## render-golden: rewrite internal/testing/mockrender/testdata/golden after an intended change of the program's output.
render-golden:
	$(GO) test ./internal/testing/mockrender -run TestGoldenRenders -update

## edge-conf: print the nginx.conf the edge runs for STACK, generated from its routes.
edge-conf:
	$(GO) run ./cmd/shoestring edge-conf --stack $(STACK)

## dnssync: the DNS-sync controller as a static binary (bin/dnssync); its image is cmd/dnssync/Dockerfile.
dnssync:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/dnssync ./cmd/dnssync

## dnssync-fuzz: explore the DNS plan function beyond its seed corpus (FUZZTIME=1m by default).
dnssync-fuzz:
	$(GO) test ./internal/dnssync -run '^$$' -fuzz FuzzMakePlan -fuzztime $${FUZZTIME:-1m}

## dnssync-measure: convergence time, requests, RSS and CPU of the DNS-sync controller.
dnssync-measure: tools
	scripts/measure-dnssync.sh

## dnssync-soak: the DNS-sync controller's end-to-end tests RUNS (10) times under a parallel build.
dnssync-soak: tools
	scripts/soak-dnssync.sh $${RUNS:-10}

BASE ?= sandbox
## playground-list: the playgrounds of BASE (default sandbox), with their age.
playground-list:
	$(GO) run ./cmd/shoestring playground list --base $(BASE)

## playground-report: the playgrounds of BASE with their cost.
playground-report:
	$(GO) run ./cmd/shoestring playground report --base $(BASE)

# --- Measurements -----------------------------------------------------------------------------------
.PHONY: measure-local measure-cold
## measure-local: cold tool builds (--cold), warm and no-op `make up`, engine and provider memory.
measure-local:
	scripts/measure-local.sh

## measure-cold: a new user's first `make up` from empty build caches, each step's time (about 50 minutes on 2 cores).
measure-cold:
	scripts/measure-cold.sh
