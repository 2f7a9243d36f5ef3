#!/usr/bin/env bash
# Builds kube-apiserver, etcd, kubectl and kube-controller-manager for the test bed and the demo
# from the Go module pinned in hack/controlplane, into setup-envtest's store, once.
#
#   hack/build-control-plane.sh          build what is missing (prints the directory at the end)
#   hack/build-control-plane.sh --print  print the directory if everything is there, else exit 1
#
# Nothing is built when KUBEBUILDER_ASSETS or TEST_ASSET_KUBE_APISERVER/TEST_ASSET_ETCD point at
# existing binaries: users with envtest binaries keep using theirs.
set -euo pipefail

K8S_VERSION=1.36.3
MIN_GO_MINOR=26
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module="$here/controlplane"
binaries=(kube-apiserver etcd kubectl kube-controller-manager)
store_root="${XDG_DATA_HOME:-$HOME/.local/share}/kubebuilder-envtest/k8s"
dest="$store_root/${K8S_VERSION}-linux-amd64"

log() { printf 'control-plane: %s\n' "$*" >&2; }

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  if [[ -x "$KUBEBUILDER_ASSETS/kube-apiserver" && -x "$KUBEBUILDER_ASSETS/etcd" ]]; then
    log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS (nothing to build)"
    echo "$KUBEBUILDER_ASSETS"
    exit 0
  fi
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no kube-apiserver and etcd"
  exit 1
fi
if [[ -n "${TEST_ASSET_KUBE_APISERVER:-}" || -n "${TEST_ASSET_ETCD:-}" ]]; then
  for f in "${TEST_ASSET_KUBE_APISERVER:-}" "${TEST_ASSET_ETCD:-}"; do
    [[ -x "$f" ]] || { log "TEST_ASSET_KUBE_APISERVER and TEST_ASSET_ETCD must both name executables (got '$f')"; exit 1; }
  done
  log "using TEST_ASSET_* binaries (nothing to build)"
  dirname "$TEST_ASSET_KUBE_APISERVER"
  exit 0
fi

missing() {
  local out=()
  for b in "${binaries[@]}"; do [[ -x "$dest/$b" ]] || out+=("$b"); done
  echo "${out[@]:-}"
}

if [[ -z "$(missing)" ]]; then
  log "binaries for Kubernetes $K8S_VERSION already in $dest (nothing to build)"
  echo "$dest"
  exit 0
fi
if [[ "${1:-}" == "--print" ]]; then exit 1; fi

if ! command -v go >/dev/null 2>&1; then
  log "Go >= 1.$MIN_GO_MINOR is needed to build the control plane once, and 'go' is not on PATH."
  log "Install Go from https://go.dev/dl/ or set KUBEBUILDER_ASSETS to existing envtest binaries."
  exit 1
fi
go_version=$(GOTOOLCHAIN=local go env GOVERSION) # e.g. go1.26.8
minor=$(sed -E 's/^go1\.([0-9]+).*/\1/' <<<"$go_version")
if ! [[ "$minor" =~ ^[0-9]+$ ]] || (( minor < MIN_GO_MINOR )); then
  log "found $go_version; Go >= 1.$MIN_GO_MINOR is needed (k8s.io/kubernetes v$K8S_VERSION says go 1.26)."
  log "Install a newer Go or set KUBEBUILDER_ASSETS to existing envtest binaries."
  exit 1
fi

mkdir -p "$store_root"
# One builder at a time: a second run waits here, then finds the binaries and builds nothing.
exec 9>"$store_root/.build-${K8S_VERSION}.lock"
if ! flock -n 9; then
  log "another build is running; waiting for it"
  flock 9
fi
todo=$(missing)
if [[ -z "$todo" ]]; then
  log "binaries for Kubernetes $K8S_VERSION already in $dest (built by another run)"
  echo "$dest"
  exit 0
fi

work=$(mktemp -d "$store_root/.build-${K8S_VERSION}.XXXXXX")
heartbeat_pid=""
cleanup() {
  [[ -n "$heartbeat_pid" ]] && kill "$heartbeat_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ver="v$K8S_VERSION"
ldflags="-s -w"
minor_k8s=$(cut -d. -f2 <<<"$K8S_VERSION")
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor_k8s -X $pkg.gitTreeState=clean"
done
declare -A pkg_of=(
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [etcd]=go.etcd.io/etcd/server/v3
)

started=$SECONDS
log "building $todo for Kubernetes $K8S_VERSION with $go_version (first time ~8-10 min, ~4 GB of Go caches)"
for b in $todo; do
  log "building $b ..."
  : >"$work/$b.log"
  (
    while sleep 20; do
      log "  still building $b: $(wc -l <"$work/$b.log") packages compiled, $((SECONDS - started))s elapsed"
    done
  ) &
  heartbeat_pid=$!
  (
    cd "$module"
    GOWORK=off GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 \
      go build -v -trimpath -tags=selinux,notest,grpcnotrace -ldflags="$ldflags" \
      -o "$work/$b" "${pkg_of[$b]}" 2>"$work/$b.log"
  ) || { kill "$heartbeat_pid" 2>/dev/null; log "building $b failed:"; tail -30 "$work/$b.log" >&2; exit 1; }
  kill "$heartbeat_pid" 2>/dev/null || true
  heartbeat_pid=""
  log "built $b ($((SECONDS - started))s elapsed)"
done

# Publish atomically: a fresh directory appears whole by one rename; into an existing directory
# (e.g. setup-envtest's, without kube-controller-manager) each binary lands by its own rename.
rm -f "$work"/*.log
if [[ ! -d "$dest" ]]; then
  chmod 755 "$work"
  mv -T "$work" "$dest"
else
  for b in $todo; do mv -f "$work/$b" "$dest/$b"; done
fi
log "done in $((SECONDS - started))s: $dest"
echo "$dest"
