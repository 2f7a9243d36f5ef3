// Pins promtool, which the monitoring test runs on the generated alerts (see
// ../build-monitoring-tools.sh). Not part of the provider: nothing here ships.
module github.com/ipam-in-cluster-ts/hack/monitoring-tools

go 1.26.7

require github.com/prometheus/prometheus v0.316.0
