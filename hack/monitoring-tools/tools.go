//go:build tools

// Package monitoringtools only pins the Prometheus release whose promtool
// hack/build-monitoring-tools.sh builds.
package monitoringtools

import _ "github.com/prometheus/prometheus/cmd/promtool"
