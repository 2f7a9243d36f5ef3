#!/usr/bin/env bash
# What the monitoring test (test/docs/monitoring.test.ts) checks the generated alerts and
# ServiceMonitor with, fetched through the Go module proxy as the control plane is (see
# build-control-plane.sh), once:
#   - promtool, built from the Prometheus release pinned in hack/monitoring-tools, into
#     setup-envtest's store beside the control-plane binaries;
#   - the Prometheus operator's CRDs (ServiceMonitor, PrometheusRule), from its Go module in the
#     module cache (nothing is copied into this repository).
#
#   hack/build-monitoring-tools.sh   prints "promtool=<path>" and "crds=<dir>", building what is missing
#
# The first build takes ~1-15 minutes (much less when the control plane's Go caches are warm).
set -euo pipefail

PROMETHEUS_VERSION=v0.316.0 # Prometheus 3.16; keep in step with hack/monitoring-tools/go.mod
OPERATOR_MODULE=github.com/prometheus-operator/prometheus-operator
OPERATOR_VERSION=v0.85.0
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
store="${XDG_DATA_HOME:-$HOME/.local/share}/kubebuilder-envtest/tools"
promtool="$store/promtool-$PROMETHEUS_VERSION"

log() { printf 'monitoring-tools: %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "Go is needed to fetch promtool and the Prometheus operator's CRDs once, and 'go' is not on PATH."
  exit 1
fi

mkdir -p "$store"
exec 9>"$store/.monitoring-tools.lock"
if ! flock -n 9; then
  log "another build is running; waiting for it"
  flock 9
fi

if [[ ! -x "$promtool" ]]; then
  log "building promtool $PROMETHEUS_VERSION (first time: up to ~15 min on 2 cores with cold Go caches)"
  started=$SECONDS
  tmp="$promtool.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  (
    cd "$here/monitoring-tools"
    GOWORK=off GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 \
      go build -trimpath -ldflags="-s -w" -o "$tmp" github.com/prometheus/prometheus/cmd/promtool
  )
  mv -f "$tmp" "$promtool"
  log "built promtool in $((SECONDS - started))s"
fi

crds=$(cd "$here/monitoring-tools" && GOWORK=off GOTOOLCHAIN=local GOFLAGS=-mod=mod \
  go mod download -json "$OPERATOR_MODULE@$OPERATOR_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
crds="$crds/example/prometheus-operator-crd"
[[ -f "$crds/monitoring.coreos.com_servicemonitors.yaml" ]] || { log "no CRDs in $crds"; exit 1; }

echo "promtool=$promtool"
echo "crds=$crds"
