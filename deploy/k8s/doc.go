// Package k8s holds soak's Kubernetes manifests (the YAML files beside
// this file: the exporter DaemonSet, the soak run Job and the sharded
// Indexed Job, the Prometheus scrape config) and, in its test only, their
// strict decoding with the Kubernetes API types: docs/distributed.md.
package k8s
