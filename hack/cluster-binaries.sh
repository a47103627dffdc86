#!/usr/bin/env bash
# Leaves in $1 (default bin/cluster) what the one-node cluster (internal/localcluster's Node, hack/cluster,
# make test-cluster) runs beside kube-apiserver and etcd (bin/k8s, `make envtest`), each under a versioned
# name: kubelet, kube-proxy, kube-controller-manager and kube-scheduler from k8s.io/kubernetes, containerd,
# ctr and containerd-shim-runc-v2 from containerd v2, and runc. All are built from the Go module proxy, one
# at a time per module (minutes on 2 cores, once; kept afterwards). As root it first apt-get installs what is
# missing: iptables and conntrack (kube-proxy), iproute2, the CNI plugins (bridge, host-local, portmap,
# loopback), and gcc, libseccomp-dev and pkg-config (runc's seccomp).
#
# Why build runc: Debian's runc 1.1.5 fails every Pod sandbox with containerd 2 ("can't get final child's
# PID from pipe") and Debian's crun 1.8.1 refuses containerd 2's runtime spec ("unknown version specified").
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-1.37.1}
CONTAINERD_VERSION=${CONTAINERD_VERSION:-2.4.2}
RUNC_VERSION=${RUNC_VERSION:-1.5.3}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/bin/cluster}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# One build at a time per output directory: make test-cluster's and a background `make cluster-binaries`
# (.ci/run) share the result instead of racing on it.
exec 9>"$out/.lock"
flock 9

# 1. Debian packages.
need=()
command -v iptables >/dev/null || need+=(iptables)
command -v conntrack >/dev/null || need+=(conntrack)
command -v ip >/dev/null || need+=(iproute2)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
[ -f /usr/include/seccomp.h ] || need+=(libseccomp-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v gcc >/dev/null || need+=(gcc libc6-dev) # runc is built with cgo (libseccomp)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages ${need[*]}: run as root, or apt-get install them" >&2
    exit 1
  fi
  echo "apt-get install ${need[*]}" >&2
  # A mirror that hiccups once must not fail CI: three tries, apt's own output shown on the last failure.
  for try in 1 2 3; do
    if apt_log=$( { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${need[@]}"; } 2>&1 ); then
      break
    fi
    if [ "$try" = 3 ]; then echo "$apt_log" >&2; exit 1; fi
    echo "apt-get failed (try $try of 3); again in 10 s" >&2
    sleep 10
  done
fi

# 2. Go programs, each into a wrapper module (kept in bin/cluster/.build so that a second run is quick; a
# wrapper counts only once a build from it succeeded, so one cut short by a network error is made again).
build() { # build <name> <out file> <package> <env...> go build <flags...>
  local name=$1 dst=$2 pkg=$3; shift 3
  [ -x "$dst" ] && return 0
  echo "building $name ($(basename "$dst"))" >&2
  local start=$SECONDS
  env "$@" -o "$dst.partial" "$pkg"
  mv "$dst.partial" "$dst"
  echo "built $name in $((SECONDS - start))s" >&2
}
wrapper() { # wrapper <dir> <module@version> <import path>: a module requiring the program's module
  local dir=$1
  [ -f "$dir/.ok" ] && return 0
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$dir" && go mod init "wrapper" >/dev/null 2>&1 && go mod edit -go=1.26 -require="$2" \
    && printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$3" > tools.go)
}

work=$out/.build
k8s_bins=(kubelet kube-proxy kube-controller-manager kube-scheduler)
missing_k8s=false
for b in "${k8s_bins[@]}"; do [ -x "$out/$b-v$K8S_VERSION" ] || missing_k8s=true; done
if $missing_k8s; then (
  dir=$work/k8s-$K8S_VERSION
  if [ ! -f "$dir/.ok" ]; then
    wrapper "$dir" "k8s.io/kubernetes@v$K8S_VERSION" k8s.io/kubernetes/cmd/kubelet
    cd "$dir"
    # k8s.io/kubernetes replaces its staging modules by ./staging: require the published ones instead.
    go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" >/dev/null
    modfile=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$K8S_VERSION.mod
    for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$modfile"); do
      go mod edit -replace="$m=$m@v0.${K8S_VERSION#1.}"
    done
    { echo '//go:build tools'; echo; echo 'package tools'; echo; echo 'import ('
      for b in "${k8s_bins[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$b\""; done; echo ')'; } > tools.go
    go mod tidy -e >/dev/null 2>&1 || true
  fi
  cd "$dir"
  IFS=. read -r major minor _ <<<"$K8S_VERSION"
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  # All four in one go build: their packages compile once, in one parallel schedule, and the links overlap
  # the compiles (the same flags as kube-apiserver's build in hack/envtest-binaries.sh, so the packages
  # they share come from the build cache).
  echo "building ${k8s_bins[*]} (v$K8S_VERSION)" >&2
  start=$SECONDS
  tmp=$out/.k8s-partial
  rm -rf "$tmp"
  mkdir -p "$tmp"
  pkgs=()
  for b in "${k8s_bins[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}"
  for b in "${k8s_bins[@]}"; do mv "$tmp/$b" "$out/$b-v$K8S_VERSION"; done
  rm -rf "$tmp"
  touch "$dir/.ok"
  echo "built ${k8s_bins[*]} in $((SECONDS - start))s" >&2
) fi

containerd_bins=(containerd ctr containerd-shim-runc-v2)
missing_containerd=false
for b in "${containerd_bins[@]}"; do [ -x "$out/$b-v$CONTAINERD_VERSION" ] || missing_containerd=true; done
if $missing_containerd; then (
  dir=$work/containerd-$CONTAINERD_VERSION
  mod=github.com/containerd/containerd/v2
  if [ ! -f "$dir/.ok" ]; then
    wrapper "$dir" "$mod@v$CONTAINERD_VERSION" "$mod/cmd/containerd"
    cd "$dir"
    { echo '//go:build tools'; echo; echo 'package tools'; echo; echo 'import ('
      for b in "${containerd_bins[@]}"; do echo "	_ \"$mod/cmd/$b\""; done; echo ')'; } > tools.go
    go mod tidy -e >/dev/null 2>&1 || true
  fi
  cd "$dir"
  for b in "${containerd_bins[@]}"; do
    build "$b" "$out/$b-v$CONTAINERD_VERSION" "$mod/cmd/$b" CGO_ENABLED=0 go build -trimpath \
      -tags "no_btrfs no_devmapper no_zfs" -ldflags "-s -w -X $mod/version.Version=v$CONTAINERD_VERSION"
  done
  touch "$dir/.ok"
) fi

if [ ! -x "$out/runc-v$RUNC_VERSION" ]; then (
  dir=$work/runc-$RUNC_VERSION
  if [ ! -f "$dir/.ok" ]; then
    wrapper "$dir" "github.com/opencontainers/runc@v$RUNC_VERSION" github.com/opencontainers/runc
    (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true)
  fi
  cd "$dir"
  build runc "$out/runc-v$RUNC_VERSION" github.com/opencontainers/runc CGO_ENABLED=1 go build -trimpath \
    -tags seccomp -ldflags "-s -w -X main.version=$RUNC_VERSION"
  touch "$dir/.ok"
) fi

for b in "${k8s_bins[@]}"; do [ -x "$out/$b-v$K8S_VERSION" ]; done
for b in "${containerd_bins[@]}"; do [ -x "$out/$b-v$CONTAINERD_VERSION" ]; done
[ -x "$out/runc-v$RUNC_VERSION" ]
echo "$out"
