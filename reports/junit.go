package reports

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/soak-dev/soak/record"
)

type junitSuites struct {
	XMLName  xml.Name   `xml:"testsuites"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Errors   int        `xml:"errors,attr"`
	Skipped  int        `xml:"skipped,attr"`
	Suites   []junitSue `xml:"testsuite"`
}

type junitSue struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// JUnit renders the verdict as JUnit XML: one test case per check, a
// failure element for a failed one and skipped for an inconclusive one, so
// CI systems show the checks like tests.
func JUnit(v record.Verdict) ([]byte, error) {
	s := junitSue{Name: "soak", Tests: len(v.Checks)}
	if !v.Made.IsZero() {
		s.Timestamp = v.Made.UTC().Format("2006-01-02T15:04:05")
	}
	for _, c := range v.Checks {
		tc := junitCase{Name: c.Name, Classname: "soak." + c.Kind, SystemOut: evidence(c)}
		switch c.Status {
		case record.StatusFail:
			s.Failures++
			tc.Failure = &junitMessage{Message: c.Message, Type: c.Kind, Text: evidence(c)}
		case record.StatusInconclusive:
			s.Skipped++
			tc.Skipped = &junitMessage{Message: "inconclusive: " + c.Message}
		}
		s.Cases = append(s.Cases, tc)
	}
	if v.Status == record.StatusError {
		// A run that never came up or lost data: one errored case says why,
		// so CI cannot read the run as passed.
		s.Tests++
		s.Errors++
		s.Cases = append(s.Cases, junitCase{Name: "run", Classname: "soak.run",
			Error: &junitMessage{Message: firstLine(v.Cause), Type: "error", Text: v.Cause}})
	}
	doc := junitSuites{Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped, Suites: []junitSue{s}}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode junit: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// evidence is a check's figures and details as plain lines.
func evidence(c record.CheckResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: value %s, limit %s", c.Status, num(c.Value, c.Unit), num(c.Limit, c.Unit))
	if c.Node != "" {
		fmt.Fprintf(&b, ", node %s", c.Node)
	}
	if c.Layer != "" {
		fmt.Fprintf(&b, ", layer %s", c.Layer)
	}
	if !c.At.IsZero() {
		fmt.Fprintf(&b, ", at %s", c.At.UTC().Format("2006-01-02T15:04:05Z"))
	}
	b.WriteString("\n")
	for w, v := range c.Witnesses {
		fmt.Fprintf(&b, "witness %s: %s\n", w, num(v, c.Unit))
	}
	for _, d := range c.Details {
		b.WriteString(d + "\n")
	}
	return b.String()
}

func num(v float64, unit string) string {
	s := plainNum(v)
	if unit != "" {
		s += " " + unit
	}
	return s
}
