//go:build tools

// Package tools keeps kube-apiserver's main package in the module graph so `go mod tidy` keeps its requirements.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
