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

## preview / up-stack: real Pulumi against real clouds, for users with the Pulumi CLI installed.
preview:
	pulumi preview --stack $(STACK) --diff

up-stack:
	pulumi up --stack $(STACK)

## cost: the monthly cost estimate of a stack, from the price table in the repo.
cost:
	$(GO) run ./cmd/shoestring cost --stack $(STACK)

# --- local control plane, render, make up (issue 3) ---
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
# --- end dns sync ---

# --- dev tooling (issue 6) ---
# The Pulumi CLI (stack-lifecycle tests) and actionlint are pinned tools too; `make lint` (so `make
# test`) checks every GitHub Actions workflow with actionlint.
tools: dev-tools
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
