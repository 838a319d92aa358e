package rules

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/soak-dev/soak/scenarios"
)

// testScenario has one check of every kind rules translates, and three
// it cannot (drain, baseline, load).
const testScenario = `name: r
interval: 1s
nodes: {proxy: {command: [x]}}
layers:
  client: {node: proxy, listen: proxy, idle_timeout: 2s}
phases:
  - {name: warm, steady: {rate: 10/s, duration: 1s}}
  - {name: rest, quiet: {duration: 3s}}
expect:
  - reclaim: {layer: client}
  - close_wait: {layer: client, max_age: 5s}
  - no_growth: {series: goroutines, node: proxy}
  - no_growth: {series: fds}
  - ratio: {numerator: goroutines.server-conn, denominator: sockets.client.idle, max: 1.5}
  - max: {series: sockets.all.CLOSE_WAIT, value: 10}
  - drain: {layer: client, after: rest}
  - baseline: {series: fds, after: rest}
  - load: {phase: warm, error_rate: "< 1%"}
`

func generate(t *testing.T, o Options) *File {
	t.Helper()
	sc, err := scenarios.ParseScenario("r.yaml", []byte(testScenario))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Generate(sc, o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian: apt-get install prometheus, or make deps-test)")
	}
	return p
}

// TestPromtoolCheck: the generated file passes promtool check rules (its
// schema, every PromQL expression, every annotation template).
func TestPromtoolCheck(t *testing.T) {
	t.Parallel()
	tool := promtool(t)
	f := generate(t, Options{EvalInterval: 5 * time.Second})
	b, err := f.Marshal("r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# not translated: drain/client", "# not translated: baseline/fds", "# not translated: load"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("header lacks %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "check", "rules", path).CombinedOutput()
	t.Logf("promtool check rules:\n%s", out)
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, b)
	}
	// 6 checks + node proxy not exported + probe failing, and the 3
	// recording rules the expressions read.
	if want := "SUCCESS: 11 rules found"; !strings.Contains(string(out), want) {
		t.Errorf("promtool: want %q", want)
	}
}

// TestPromtoolAlerts runs the alerts on synthetic series with promtool
// test rules: each fires for the leaking process (pid 1) and stays quiet
// for the healthy one (pid 2) beside it.
func TestPromtoolAlerts(t *testing.T) {
	t.Parallel()
	tool := promtool(t)
	f := generate(t, Options{GrowthWindow: 10 * time.Minute})
	// promtool compares annotations too: the expressions are under test here.
	for i := range f.Groups[0].Rules {
		f.Groups[0].Rules[i].Annotations = nil
	}
	b, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 81 // 20 minutes of 15 s scrapes
	series := func(f func(i int) float64) string {
		v := make([]string, n)
		for i := range v {
			v[i] = fmt.Sprintf("%g", f(i))
		}
		return strings.Join(v, " ")
	}
	// A healthy sawtooth 0..3, at its peak at the end (the moment judged).
	saw := func(i int) float64 { return float64(3 - (n-1-i)%4) }
	input := []struct{ name, values string }{
		// reclaim: limit 2s + 1s + 500ms. Leak: idle forever; healthy: under 2 s.
		{`soak_socket_idle_max_seconds{node="proxy",pid="1",layer="client"}`, series(func(i int) float64 { return float64(15 * i) })},
		{`soak_socket_idle_max_seconds{node="proxy",pid="2",layer="client"}`, series(func(i int) float64 { return 0.5 * saw(i) })},
		// close_wait: limit 5 s.
		{`soak_socket_close_wait_max_age_seconds{node="proxy",pid="1",layer="client"}`, series(func(i int) float64 { return float64(15 * i) })},
		{`soak_socket_close_wait_max_age_seconds{node="proxy",pid="2",layer="client"}`, series(func(int) float64 { return 0 })},
		// Goroutines: the leak adds one per scrape to server-conn; healthy
		// ones follow the idle connections' sawtooth, 1 each.
		{`soak_goroutines{node="proxy",pid="1",class="server-conn"}`, series(func(i int) float64 { return float64(20 + i) })},
		{`soak_goroutines{node="proxy",pid="1",class="other"}`, series(func(int) float64 { return 8 })},
		{`soak_goroutines{node="proxy",pid="2",class="server-conn"}`, series(func(i int) float64 { return 10 + 5*saw(i) })},
		{`soak_goroutines{node="proxy",pid="2",class="other"}`, series(func(int) float64 { return 8 })},
		{`soak_sockets_idle{node="proxy",pid="1",layer="client"}`, series(func(int) float64 { return 20 })},
		{`soak_sockets_idle{node="proxy",pid="2",layer="client"}`, series(func(i int) float64 { return 10 + 5*saw(i) })},
		// FDs: the leak grows 1 per minute, healthy ones saw-tooth.
		{`soak_fds{node="proxy",pid="1",type="socket"}`, series(func(i int) float64 { return float64(30 + i/4) })},
		{`soak_fds{node="proxy",pid="2",type="socket"}`, series(func(i int) float64 { return 30 + saw(i) })},
		// CLOSE_WAIT sockets over every layer: max 10.
		{`soak_sockets{node="proxy",pid="1",layer="client",state="CLOSE_WAIT",side=""}`, series(func(i int) float64 { return float64(i) })},
		{`soak_sockets{node="proxy",pid="2",layer="client",state="CLOSE_WAIT",side=""}`, series(func(i int) float64 { return saw(i) })},
		{`soak_scrape_duration_seconds{node="proxy"}`, series(func(int) float64 { return 0.01 })},
	}
	var in strings.Builder
	for _, s := range input {
		fmt.Fprintf(&in, "      - series: '%s'\n        values: '%s'\n", s.name, s.values)
	}
	common := "severity: warning, soak_scenario: r, node: proxy, pid: \"1\""
	tests := []struct{ alert, labels string }{
		{"SoakIdleConnectionNotReclaimed", "layer: client, soak_check: reclaim/client"},
		{"SoakCloseWaitAging", "layer: client, soak_check: close_wait/client"},
		{"SoakSeriesGrowing", "series: goroutines, soak_check: no_growth/goroutines/proxy"},
		{"SoakSeriesGrowing", "series: fds, soak_check: no_growth/fds"},
		{"SoakRatioHigh", "numerator: goroutines.server-conn, denominator: sockets.client.idle, soak_check: ratio/goroutines.server-conn/sockets.client.idle"},
		{"SoakSeriesOverMax", "state: CLOSE_WAIT, series: sockets.all.CLOSE_WAIT, soak_check: max/sockets.all.CLOSE_WAIT"},
	}
	var alerts strings.Builder
	byAlert := map[string][]string{}
	var order []string
	for _, tc := range tests {
		if byAlert[tc.alert] == nil {
			order = append(order, tc.alert)
		}
		byAlert[tc.alert] = append(byAlert[tc.alert], "          - exp_labels: {"+common+", "+tc.labels+"}\n")
	}
	order = append(order, "SoakNodeNotExported", "SoakProbeFailing") // quiet: the node is there
	for _, a := range order {
		fmt.Fprintf(&alerts, "      - eval_time: 20m\n        alertname: %s\n        exp_alerts:", a)
		if len(byAlert[a]) == 0 {
			alerts.WriteString(" []\n")
			continue
		}
		alerts.WriteString("\n" + strings.Join(byAlert[a], ""))
	}
	test := fmt.Sprintf("rule_files: [rules.yml]\nevaluation_interval: 15s\ntests:\n  - interval: 15s\n    input_series:\n%s    alert_rule_test:\n%s", in.String(), alerts.String())
	if err := os.WriteFile(filepath.Join(dir, "test.yml"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "test", "rules", "test.yml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("promtool test rules:\n%s", out)
	if err != nil {
		t.Fatalf("promtool test rules: %v\nrules:\n%s\ntest:\n%s", err, b, test)
	}
}

func TestGenerateErrors(t *testing.T) {
	t.Parallel()
	sc, err := scenarios.ParseScenario("r.yaml", []byte(testScenario))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(sc, Options{GrowthWindow: 30 * time.Second}); err == nil || !strings.Contains(err.Error(), "at least 1m") {
		t.Errorf("30s window: %v", err)
	}
	if _, err := Generate(nil, Options{}); err == nil {
		t.Error("nil scenario: no error")
	}
}
