#!/usr/bin/env bash
# Builds the pinned tools from Go modules into a cache outside the repo: the local control plane
# (etcd, kube-apiserver, controller-manager, scheduler, kwok) and its real node (kubelet,
# kube-proxy, CoreDNS, the kube-network-policies data plane), the Pulumi CLI, the Pulumi
# Kubernetes provider (installed as the CLI's plugin) and actionlint. Each tool module under
# tools/ is keyed by the hash of its files, so a tool is rebuilt only when its pinned version
# changes.
#
#   scripts/tools.sh [--plan] [kube|etcd|kwok|coredns|kube-network-policies|pulumi|kubernetes-provider|actionlint ...]
#   (default: what `make up` needs: kube etcd kwok coredns kube-network-policies pulumi kubernetes-provider)
#
# It first says which of them it will build and what that usually takes, then builds them one by
# one ("1 of 3"), printing every 30 s how long the current build has run. --plan prints only
# that first part and builds nothing.
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

# usual_secs is a tool's cold build time on 2 cores, measured 2026-12-04 with an empty tools
# folder and Go build cache (docs/local.md, Figures); 0 when there is no figure.
usual_secs() {
  case "$1" in
    kube) echo 764 ;;
    kubernetes-provider) echo 593 ;;
    pulumi) echo 284 ;;
    coredns) echo 196 ;;
    kwok) echo 110 ;;
    kube-network-policies) echo 122 ;;
    etcd) echo 57 ;;
    actionlint) echo 7 ;;
    *) echo 0 ;;
  esac
}

usual() { # usual NAME: "usually 764 s on 2 cores", or that there is no figure
  local s
  s=$(usual_secs "$1")
  if [ "$s" -gt 0 ]; then echo "usually $s s on 2 cores"; else echo "no usual time measured"; fi
}

roughly() { # roughly SECONDS: "about 10 minutes"
  local m=$((($1 + 30) / 60))
  if [ "$1" -lt 60 ]; then echo "under a minute"
  elif [ "$m" -eq 1 ]; then echo "about a minute"
  else echo "about $m minutes"; fi
}

# The build in progress, for the progress lines: "kube, 1 of 3" and its usual time.
current="" current_usual=""

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
  local pid=$! every=${STEP_HEARTBEAT:-30}
  local next=$((SECONDS + every))
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ "$SECONDS" -ge "$next" ]; then
      echo "tools:   still building $what ($current): $((SECONDS - start))s so far; $current_usual"
      next=$((SECONDS + every))
    fi
  done
  wait "$pid"
}

# tool_dir is where a tool's build is kept: keyed by its module's files.
tool_dir() {
  # A wrapper's own main (kube-network-policies') is part of what it builds.
  echo "$cache/$1-$(cat "$repo/tools/$1/go.mod" "$repo/tools/$1/go.sum" $(ls "$repo/tools/$1"/*.go 2>/dev/null) | sha256sum | cut -c1-12)"
}

# starting NAME [VERSION] prints the line a build starts with and sets the progress lines' context.
starting() {
  local i=0 n of=""
  for n in "${todo[@]}"; do i=$((i + 1)); [ "$n" = "$1" ] && of="$i of ${#todo[@]}; " && break; done
  current="$1${of:+, ${of%; }}" current_usual="$(usual "$1") for all of $1"
  echo "tools: building $1${2:+ $2} ($of$(usual "$1"))"
}

build() {
  local name=$1 pkgs ldflags dir
  pkgs=${name//-/_}_pkgs; pkgs=${!pkgs}
  ldflags=${name//-/_}_ldflags; ldflags=${!ldflags}
  dir=$(tool_dir "$name")
  if [ -f "$dir/.done" ]; then
    echo "tools: $name is up to date ($dir)"
  else
    starting "$name"
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

# provider_version is the kubernetes plugin version the program's SDK (go.mod) asks for.
provider_version() {
  local v
  v=$(cd "$repo" && go list -m -f '{{.Version}}' github.com/pulumi/pulumi-kubernetes/sdk/v4)
  echo "${v#v}"
}

provider_dir() {
  echo "$cache/kubernetes-provider-$(cat "$repo"/tools/kubernetes-provider/{go.mod,go.sum,main.go,gen.go} | { cat; echo "$1"; } | sha256sum | cut -c1-12)"
}

# plugin_installed VERSION: whether the CLI has the kubernetes plugin at VERSION. Without a CLI
# yet (it is about to be built), the plugin folder a CLI would find is looked for. A yes from the
# CLI is kept (`plugin ls` takes half a second; the plan and the install both ask).
plugin_seen=""
plugin_installed() {
  local cli
  [ "$plugin_seen" != "$1" ] || return 0
  cli=$(pulumi_cli)
  if [ -x "$cli" ]; then
    PULUMI_SKIP_UPDATE_CHECK=true "$cli" plugin ls --json 2>/dev/null | tr -d ' \n' |
      grep -q "\"name\":\"kubernetes\",\"kind\":\"resource\",\"version\":\"$1\"" || return 1
    plugin_seen=$1
  else
    [ -d "${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-kubernetes-v$1" ]
  fi
}

# The Kubernetes provider, at the plugin version the program's SDK (go.mod) asks for.
provider_tool() {
  local version cli dir modver
  version=$(provider_version)
  cli=$(pulumi_cli)
  [ -x "$cli" ] || pulumi_tool
  cli=$(pulumi_cli)
  if plugin_installed "$version"; then
    echo "tools: the kubernetes plugin v$version is installed ($cli plugin ls)"
    return
  fi
  dir=$(provider_dir "$version")
  if [ -f "$dir/.done" ]; then
    echo "tools: kubernetes-provider v$version is up to date ($dir)"
  else
    starting kubernetes-provider "v$version"
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

plan=false
if [ "${1:-}" = --plan ]; then plan=true; shift; fi
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(kube etcd kwok coredns kube-network-policies pulumi kubernetes-provider)

# The plan: which of the named tools are missing, and what building them usually takes.
todo=() ready=() total=0
need() { # need NAME WHY
  local n
  for n in "${todo[@]}"; do [ "$n" = "$1" ] && return; done
  todo+=("$1")
  total=$((total + $(usual_secs "$1")))
  echo "tools: plan: $1: to build, $2 ($(usual "$1"))"
}
pulumi_state() { # prints how the Pulumi CLI is had: path, cached or build
  local cli
  cli=$(pulumi_cli)
  if [ "$cli" != "$cache/bin/pulumi" ]; then echo path
  elif [ -f "$(tool_dir pulumi)/.done" ]; then echo cached
  else echo build; fi
}
for n in "${names[@]}"; do
  case "$n" in
    pulumi)
      case $(pulumi_state) in
        path) ready+=("pulumi (the CLI on PATH: $(pulumi_cli))") ;;
        cached) ready+=(pulumi) ;;
        build) need pulumi "no Pulumi CLI on PATH${SHOESTRING_BUILD_PULUMI:+ used (SHOESTRING_BUILD_PULUMI is set)}" ;;
      esac ;;
    kubernetes-provider)
      v=$(provider_version)
      [ "$(pulumi_state)" != build ] || need pulumi "the provider is installed with it"
      if plugin_installed "$v"; then ready+=("kubernetes-provider (the kubernetes plugin v$v is installed)")
      elif [ -f "$(provider_dir "$v")/.done" ]; then ready+=("kubernetes-provider (built, to install as the kubernetes plugin v$v: seconds)")
      else need kubernetes-provider "no kubernetes plugin v$v installed"; fi ;;
    *)
      if [ ! -f "$repo/tools/$n/go.mod" ]; then
        echo "tools: unknown tool '$n' (want etcd, kwok, kube, coredns, kube-network-policies, pulumi, kubernetes-provider or actionlint)" >&2; exit 2
      fi
      if [ -f "$(tool_dir "$n")/.done" ]; then ready+=("$n")
      else need "$n" "not in $cache"; fi ;;
  esac
done
if [ ${#ready[@]} -gt 0 ]; then
  echo "tools: plan: already there: $(printf '%s, ' "${ready[@]}" | sed 's/, $//')"
fi
if [ ${#todo[@]} -eq 0 ]; then
  echo "tools: plan: nothing to build"
else
  echo "tools: plan: ${#todo[@]} to build (${todo[*]}): usually $(roughly "$total") on 2 cores with an empty Go build cache, much less with a warm one"
fi
$plan && exit 0

for n in "${names[@]}"; do
  case "$n" in
    kube|etcd|kwok|coredns|kube-network-policies|actionlint) build "$n" ;;
    pulumi) pulumi_tool ;;
    kubernetes-provider) provider_tool ;;
    *) echo "tools: unknown tool '$n' (want etcd, kwok, kube, coredns, kube-network-policies, pulumi, kubernetes-provider or actionlint)" >&2; exit 2 ;;
  esac
done
echo "tools: binaries in $cache/bin"
