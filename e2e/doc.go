// Package e2e holds the end-to-end tests that run the reference SUT
// (soak testsut) under the runner and judge it with the default checks:
// the leak matrix (each named leak must fail the check meant for it, the
// healthy build must pass) and, with SOAK_LONG=1, the false-alarm loop,
// time to detection and `soak rules` alerts in a real Prometheus
// (alerts_test.go). They build the soak binary once and take minutes, so
// they live apart from the unit packages, which stay fast. The healthy row
// runs alone, then the leak rows in parallel (as many as -parallel allows).
package e2e
