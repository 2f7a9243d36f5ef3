//go:build tools

// Package controlplane only pins the Kubernetes release whose binaries hack/build-control-plane.sh
// builds; the binaries are main packages, so they are listed as go.mod tool directives.
package controlplane
