#!/usr/bin/env bash
# Builds the pinned tools from Go modules into a cache outside the repo: the local control plane
# (etcd, kube-apiserver, controller-manager, scheduler, kwok) and its real node (kubelet,
# kube-proxy, CoreDNS, the kube-network-policies data plane), the Pulumi CLI, the Pulumi
# Kubernetes provider (installed as the CLI's plugin) and actionlint. Each tool module under
# tools/ is keyed by the hash of its files, so a tool is rebuilt only when its pinned version
# changes.
#
#   scripts/tools.sh [kube|etcd|kwok|coredns|kube-network-policies|pulumi|kubernetes-provider|actionlint ...]
#   (default: what `make up` needs: kube etcd kwok coredns kube-network-policies pulumi kubernetes-provider)
#
# A Pulumi CLI on PATH, and a kubernetes plugin of the version the program's SDK asks for already
# installed, are used as they are (set SHOESTRING_BUILD_PULUMI=1 to build the pinned ones anyway).
# SHOESTRING_TOOLS overrides the cache folder; its bin/ holds the current binaries.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${SHOESTRING_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/shoestring/tools}
mkdir -p "$cache/bin"

# name  packages  ldflags
kube_pkgs="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy"
kube_ldflags="-X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"
etcd_pkgs="go.etcd.io/etcd/server/v3"
etcd_ldflags=""
kwok_pkgs="sigs.k8s.io/kwok/cmd/kwok"
kwok_ldflags=""
pulumi_pkgs="github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
pulumi_ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.259.0"
coredns_pkgs="github.com/coredns/coredns"
coredns_ldflags=""
# The wrapper module's own main (it runs the upstream controller from a kubeconfig).
kube_network_policies_pkgs="shoestring.dev/tools/kube-network-policies"
kube_network_policies_ldflags=""
actionlint_pkgs="github.com/rhysd/actionlint/cmd/actionlint"
actionlint_ldflags="-X github.com/rhysd/actionlint.version=v1.7.12"
provider_module="github.com/pulumi/pulumi-kubernetes/provider/v4"

# bin_name is the binary of a package path: etcd's main is the module root, the provider's is
# the wrapper module's main.
bin_name() {
  case "$1" in
    go.etcd.io/etcd/server/v3) echo etcd ;;
    github.com/coredns/coredns) echo coredns ;;
    .) echo pulumi-resource-kubernetes ;;
    *) basename "$1" ;;
  esac
}

# go_build runs one `go build`, printing how long it has run every 30 s (a cold build of the
# apiserver or the provider takes many minutes on a small machine).
go_build() {
  local what=$1 dir=$2; shift 2
  local start=$SECONDS
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath "$@") &
  local pid=$! next=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ "$SECONDS" -ge "$next" ]; then
      echo "tools:   still building $what: $((SECONDS - start))s so far"
      next=$((SECONDS + 30))
    fi
  done
  wait "$pid"
}

build() {
  local name=$1 pkgs ldflags dir
  pkgs=${name//-/_}_pkgs; pkgs=${!pkgs}
  ldflags=${name//-/_}_ldflags; ldflags=${!ldflags}
  dir="$cache/$name-$(cat "$repo/tools/$name/go.mod" "$repo/tools/$name/go.sum" $(ls "$repo/tools/$name"/*.go 2>/dev/null) | sha256sum | cut -c1-12)"
  if [ -f "$dir/.done" ]; then
    echo "tools: $name is up to date ($dir)"
  else
    echo "tools: building $name (a first build takes minutes; figures in docs/local.md)"
    local start=$SECONDS
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    for pkg in $pkgs; do
      echo "tools:   go build $pkg"
      go_build "$(bin_name "$pkg")" "$repo/tools/$name" -ldflags "-s -w $ldflags" -o "$dir.tmp/$(bin_name "$pkg")" "$pkg"
    done
    touch "$dir.tmp/.done"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    echo "tools: built $name in $((SECONDS - start))s"
  fi
  for pkg in $pkgs; do
    ln -sfn "$dir/$(bin_name "$pkg")" "$cache/bin/$(bin_name "$pkg")"
  done
}

# pulumi_cli prints the CLI to use: one on PATH (not our own link), else the pinned build.
pulumi_cli() {
  local p
  p=$(PATH=$(echo "$PATH" | tr ':' '\n' | grep -vxF "$cache/bin" | paste -sd:) command -v pulumi 2>/dev/null || true)
  if [ -n "$p" ] && [ -z "${SHOESTRING_BUILD_PULUMI:-}" ]; then echo "$p"; else echo "$cache/bin/pulumi"; fi
}

pulumi_tool() {
  local cli
  cli=$(pulumi_cli)
  if [ "$cli" != "$cache/bin/pulumi" ]; then
    echo "tools: using the Pulumi CLI on PATH: $cli ($("$cli" version 2>/dev/null))"
    return
  fi
  build pulumi
}

# The Kubernetes provider, at the plugin version the program's SDK (go.mod) asks for.
provider_tool() {
  local version cli dir modver
  version=$(cd "$repo" && go list -m -f '{{.Version}}' github.com/pulumi/pulumi-kubernetes/sdk/v4)
  version=${version#v}
  cli=$(pulumi_cli)
  [ -x "$cli" ] || pulumi_tool
  cli=$(pulumi_cli)
  if PULUMI_SKIP_UPDATE_CHECK=true "$cli" plugin ls --json 2>/dev/null | tr -d ' \n' |
      grep -q "\"name\":\"kubernetes\",\"kind\":\"resource\",\"version\":\"$version\""; then
    echo "tools: the kubernetes plugin v$version is installed ($cli plugin ls)"
    return
  fi
  dir="$cache/kubernetes-provider-$(cat "$repo"/tools/kubernetes-provider/{go.mod,go.sum,main.go,gen.go} | { cat; echo "$version"; } | sha256sum | cut -c1-12)"
  if [ -f "$dir/.done" ]; then
    echo "tools: kubernetes-provider v$version is up to date ($dir)"
  else
    echo "tools: building kubernetes-provider v$version (a first build takes about 11 minutes on 2 cores)"
    local start=$SECONDS src="$dir.tmp/src"
    rm -rf "$dir.tmp" && mkdir -p "$src"
    cp "$repo"/tools/kubernetes-provider/{go.mod,go.sum,main.go,gen.go} "$src/"
    modver=$(cd "$src" && go list -m -f '{{.Dir}}' "$provider_module")
    if [ -z "$modver" ]; then
      (cd "$src" && go mod download "$provider_module")
      modver=$(cd "$src" && go list -m -f '{{.Dir}}' "$provider_module")
    fi
    # The provider embeds its schema (with the version set) and terraform mapping, which its
    # module ships only as sources for its own generate step.
    (cd "$src" && go run gen.go "$modver" "$version")
    go_build pulumi-resource-kubernetes "$src" \
      -ldflags "-s -w -X $provider_module/pkg/version.Version=$version" -o "$dir.tmp/pulumi-resource-kubernetes" .
    rm -rf "$src"
    touch "$dir.tmp/.done"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    echo "tools: built kubernetes-provider in $((SECONDS - start))s"
  fi
  echo "tools: installing it as the CLI's kubernetes plugin v$version"
  PULUMI_SKIP_UPDATE_CHECK=true "$cli" plugin install resource kubernetes "v$version" --file "$dir/pulumi-resource-kubernetes"
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(kube etcd kwok coredns kube-network-policies pulumi kubernetes-provider)
for n in "${names[@]}"; do
  case "$n" in
    kube|etcd|kwok|coredns|kube-network-policies|actionlint) build "$n" ;;
    pulumi) pulumi_tool ;;
    kubernetes-provider) provider_tool ;;
    *) echo "tools: unknown tool '$n' (want etcd, kwok, kube, coredns, kube-network-policies, pulumi, kubernetes-provider or actionlint)" >&2; exit 2 ;;
  esac
done
echo "tools: binaries in $cache/bin"
