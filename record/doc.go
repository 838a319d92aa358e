// Package record is the run directory: the only seam between soak's stages.
//
// A run directory holds append-only JSON Lines files written line by line
// with one write(2) each (so a SIGKILL of soak loses nothing already
// written) and fsync'd every few seconds (so a machine crash loses at most
// those seconds). Readers skip a torn last line with a warning. The layout
// and every field are documented in docs/run-format.md; FormatVersion is
// bumped on any incompatible change.
package record

// FormatVersion is the version of the run directory layout written by this
// package and recorded in meta.json.
const FormatVersion = 1

// File names inside a run directory.
const (
	MetaFile     = "meta.json"
	ScenarioFile = "scenario.yaml"
	SamplesFile  = "samples.jsonl"
	ConnsFile    = "conns.jsonl"
	EventsFile   = "events.jsonl"
	LoadDir      = "load"  // per phase: <phase>.results.gob (vegeta encoding), <phase>.targets.bin (TargetIndexes) and <phase>.json (PhaseResult)
	LogsDir      = "logs"  // per node: <node>.log
	PlotsDir     = "plots" // written by reports
	VerdictFile  = "verdict.json"
	JUnitFile    = "junit.xml"
	SummaryMD    = "summary.md"
	SummaryJSON  = "summary.json"
	ReportHTML   = "report.html"
)
