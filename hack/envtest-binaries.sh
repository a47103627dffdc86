#!/usr/bin/env bash
# Leaves kube-apiserver, etcd and kubectl in $1 (default bin/k8s/<version>) for envtest, the demo and e2e.
#
# setup-envtest downloads prebuilt binaries; where that is impossible (no route to its bucket) we build
# the same programs from source through the Go module proxy: k8s.io/kubernetes is not meant to be
# required as a module, so a throwaway wrapper module requires it and replaces each staging module
# (./staging/src/k8s.io/...) by the published module at the matching v0.x version.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-1.37.1}     # the proxy lists v1.37.2 but refuses its zip
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
SETUP_ENVTEST=${SETUP_ENVTEST:-}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/bin/k8s/$K8S_VERSION}
mkdir -p "$out"
out=$(cd "$out" && pwd)

have() { [ -x "$out/kube-apiserver" ] && [ -x "$out/etcd" ] && [ -x "$out/kubectl" ]; }
if have; then echo "$out"; exit 0; fi

# 1. The ordinary way, when it works (it needs network access this project's machines do not have).
if [ -n "$SETUP_ENVTEST" ] && [ -x "$SETUP_ENVTEST" ]; then
  if dir=$(timeout 60 "$SETUP_ENVTEST" use "$K8S_VERSION" --bin-dir "$root/bin/setup-envtest" -p path 2>/dev/null) \
     && [ -x "$dir/kube-apiserver" ] && [ -x "$dir/etcd" ] && [ -x "$dir/kubectl" ]; then
    cp "$dir/kube-apiserver" "$dir/etcd" "$dir/kubectl" "$out/"
    echo "$out"; exit 0
  fi
  echo "setup-envtest could not download $K8S_VERSION; building from the Go module proxy" >&2
fi

# 2. Build from the module proxy.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
staging_version="v0.${K8S_VERSION#1.}"   # k8s.io/kubernetes v1.37.1 <-> staging modules v0.37.1

mkdir -p "$work/k8s" "$work/etcd"
# Each binary is built to a temporary name and moved into place, so that an interrupted build never
# leaves a truncated executable behind; one already built by an earlier, interrupted run is kept.
if [ ! -x "$out/kube-apiserver" ] || [ ! -x "$out/kubectl" ]; then (
  cd "$work/k8s"
  go mod init envtest-k8s-wrapper >/dev/null 2>&1
  go mod edit -go=1.26 -require="k8s.io/kubernetes@v$K8S_VERSION"
  # Every module the kubernetes go.mod replaces with its staging copy.
  mods=$(curl -fsS "$(go env GOPROXY | cut -d, -f1)/k8s.io/kubernetes/@v/v$K8S_VERSION.mod" 2>/dev/null \
    | sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' || true)
  if [ -z "$mods" ]; then
    # No curl route to the proxy: ask the go command for the file instead.
    go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" >/dev/null 2>&1 || true
    modfile=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$K8S_VERSION.mod
    mods=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$modfile")
  fi
  for m in $mods; do go mod edit -replace="$m=$m@$staging_version"; done
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  go mod tidy -e >/dev/null 2>&1 || true
  go get "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" "k8s.io/kubernetes/cmd/kubectl@v$K8S_VERSION" >/dev/null
  # What `kube-apiserver --version` and /version report: gitVersion v1.37.1, gitMajor "1", gitMinor "37".
  IFS=. read -r k8s_major k8s_minor _ <<<"$K8S_VERSION"
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=$k8s_major -X $pkg.gitMinor=$k8s_minor"
  ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  for cmd in kube-apiserver kubectl; do
    [ -x "$out/$cmd" ] && continue
    CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$cmd.partial" "k8s.io/kubernetes/cmd/$cmd"
    mv "$out/$cmd.partial" "$out/$cmd"
  done
) fi
if [ ! -x "$out/etcd" ]; then (
  cd "$work/etcd"
  go mod init envtest-etcd-wrapper >/dev/null 2>&1
  go mod edit -go=1.26 -require="go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  cat > tools.go <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  go mod tidy -e >/dev/null 2>&1 || true
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/etcd.partial" go.etcd.io/etcd/server/v3
  mv "$out/etcd.partial" "$out/etcd"
) fi
have
echo "$out"
