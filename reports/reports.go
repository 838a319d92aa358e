// Package reports builds what a person reads after a soak: plots, the HTML
// report, summary.json, and comparisons of two runs.
package reports

import "errors"

// Build (re)builds report.html, summary.json and plots/ of the run in dir
// and returns the path of report.html.
func Build(dir string) (string, error) { return "", errors.New("reports: not implemented yet") }
