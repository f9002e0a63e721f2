#!/usr/bin/env bash
# Builds the pinned tools of the local control plane (and the Pulumi CLI) from Go modules into a
# cache outside the repo. Each tool module under tools/ is keyed by the hash of its go.mod and go.sum,
# so a tool is rebuilt only when its pinned version changes.
#
#   scripts/tools.sh [kube|etcd|kwok|pulumi|actionlint ...]   (default: the control-plane tools)
#
# SHOESTRING_TOOLS overrides the cache folder; its bin/ holds the current binaries.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${SHOESTRING_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/shoestring/tools}
mkdir -p "$cache/bin"

# name  packages  ldflags
kube_pkgs="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler"
kube_ldflags="-X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"
etcd_pkgs="go.etcd.io/etcd/server/v3"
etcd_ldflags=""
kwok_pkgs="sigs.k8s.io/kwok/cmd/kwok"
kwok_ldflags=""
pulumi_pkgs="github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
pulumi_ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.259.0"
actionlint_pkgs="github.com/rhysd/actionlint/cmd/actionlint"
actionlint_ldflags="-X github.com/rhysd/actionlint.version=v1.7.12"

# binary name of a package path: etcd's main is the module root.
bin_name() {
  case "$1" in
    go.etcd.io/etcd/server/v3) echo etcd ;;
    *) basename "$1" ;;
  esac
}

build() {
  local name=$1 pkgs ldflags key dir
  pkgs=${name}_pkgs; pkgs=${!pkgs}
  ldflags=${name}_ldflags; ldflags=${!ldflags}
  key=$(cat "$repo/tools/$name/go.mod" "$repo/tools/$name/go.sum" | sha256sum | cut -c1-12)
  dir="$cache/$name-$key"
  if [ -f "$dir/.done" ]; then
    echo "tools: $name is up to date ($dir)"
  else
    echo "tools: building $name (first build takes minutes; see recipes in README)"
    local start=$SECONDS
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    for pkg in $pkgs; do
      echo "tools:   go build $pkg"
      (cd "$repo/tools/$name" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" \
        -o "$dir.tmp/$(bin_name "$pkg")" "$pkg")
    done
    touch "$dir.tmp/.done"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    echo "tools: built $name in $((SECONDS - start))s"
  fi
  for pkg in $pkgs; do
    ln -sfn "$dir/$(bin_name "$pkg")" "$cache/bin/$(bin_name "$pkg")"
  done
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(etcd kwok kube)
for n in "${names[@]}"; do
  case "$n" in
    kube|etcd|kwok|pulumi|actionlint) build "$n" ;;
    *) echo "tools: unknown tool '$n' (want kube, etcd, kwok, pulumi or actionlint)" >&2; exit 2 ;;
  esac
done
echo "tools: binaries in $cache/bin"
