package scenarios

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, name string, data []byte) *Scenario {
	t.Helper()
	sc, err := ParseScenario(name, data)
	if err != nil {
		t.Fatalf("parse %s:\n%v", name, err)
	}
	return sc
}

// TestBuiltinsParse keeps every embedded scenario valid: `soak run` with no
// argument must never fail on its own file.
func TestBuiltinsParse(t *testing.T) {
	names := BuiltinNames()
	if len(names) == 0 || names[0] == "" {
		t.Fatalf("no built-ins: %v", names)
	}
	found := false
	for _, name := range names {
		found = found || name == "quick"
		data, ok := Builtin(name)
		if !ok {
			t.Fatalf("Builtin(%q) missing though listed", name)
		}
		sc := mustParse(t, "builtin:"+name, data)
		if sc.Name == "" || len(sc.Nodes) == 0 || len(sc.Phases) == 0 {
			t.Errorf("%s: incomplete: %+v", name, sc)
		}
	}
	if !found {
		t.Errorf("no quick among built-ins %v", names)
	}
	if _, ok := Builtin("no-such"); ok {
		t.Error("Builtin(no-such) found")
	}
}

// TestExamplesParse keeps the example scenarios in scenarios/examples valid.
func TestExamplesParse(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("examples", "*.yaml"))
	for _, f := range files {
		if _, _, err := LoadFile(f); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// TestQuick pins the content of the quick scenario that the runner and the
// docs rely on.
func TestQuick(t *testing.T) {
	data, _ := Builtin("quick")
	sc := mustParse(t, "quick.yaml", data)
	if got, want := sc.Name, "quick"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	if got, want := strings.Join(sc.NodeNames(), ","), "proxy,target"; got != want {
		t.Errorf("nodes = %s, want %s", got, want)
	}
	if got, want := strings.Join(sc.LayerNames(), ","), "backend,client,intra"; got != want {
		t.Errorf("layers = %s, want %s", got, want)
	}
	if got, want := strings.Join(sc.BackendNames(), ","), "s3"; got != want {
		t.Errorf("backends = %s, want %s", got, want)
	}
	var kinds []string
	for _, p := range sc.Phases {
		kinds = append(kinds, p.Name+":"+p.Kind())
	}
	if got, want := strings.Join(kinds, ","), "warm:steady,hold:idle,churn:churn,rest:quiet"; got != want {
		t.Errorf("phases = %s, want %s", got, want)
	}
	for _, tc := range []struct {
		layer string
		want  time.Duration
	}{{"client", 4 * time.Second}, {"intra", 3 * time.Second}, {"backend", 2 * time.Second}} {
		if got := sc.Layers[tc.layer].IdleTimeout.D(); got != tc.want {
			t.Errorf("layers.%s.idle_timeout = %v, want %v", tc.layer, got, tc.want)
		}
	}
	if got, want := sc.Phases[0].Steady.Rate, (Rate{100, time.Second}); got != want {
		t.Errorf("warm rate = %v, want %v", got, want)
	}
	if got, want := sc.Phases[0].Steady.Body, ByteSize(4096); got != want {
		t.Errorf("warm body = %v, want %v", got, want)
	}
	if got, want := sc.Expect[0].Kind(), "reclaim"; got != want {
		t.Errorf("expect[0] kind = %q, want %q", got, want)
	}
	// The whole quick run (start-up and report included) must fit in 3 minutes.
	if got, limit := sc.Planned(), 2*time.Minute; got > limit || got < 30*time.Second {
		t.Errorf("Planned() = %v, want 30s..%v", got, limit)
	}
}

const minimal = `name: minimal
nodes:
  a: {command: [srv]}
phases:
  - {name: p, quiet: {duration: 1s}}
`

func TestDefaults(t *testing.T) {
	sc := mustParse(t, "minimal.yaml", []byte(minimal))
	n := sc.Nodes["a"]
	for _, tc := range []struct {
		field     string
		got, want any
	}{
		{"interval", sc.Interval, DefaultInterval},
		{"cycles", sc.Cycles, 1},
		{"nodes.a.ports", strings.Join(n.Ports, ","), DefaultPortName},
		{"nodes.a.host", n.Host, DefaultHost},
		{"nodes.a.ready_timeout", n.ReadyTimeout, DefaultReadyTimeout},
		{"nodes.a.stop_grace", n.StopGrace, DefaultStopGrace},
		{"phases[0].repeat", sc.Phases[0].Repeat, 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.field, tc.got, tc.want)
		}
	}
	// Values the file sets are kept.
	sc = mustParse(t, "set.yaml", []byte(strings.Replace(minimal, "{command: [srv]}",
		"{command: [srv], ports: [main, admin], host: 127.0.0.2, ready_timeout: 1m, stop_grace: 1s}", 1)+"cycles: 3\ninterval: 250ms\n"))
	n = sc.Nodes["a"]
	if got, want := strings.Join(n.Ports, ","), "main,admin"; got != want {
		t.Errorf("ports = %s, want %s", got, want)
	}
	if n.Host != "127.0.0.2" || n.ReadyTimeout.D() != time.Minute || n.StopGrace.D() != time.Second || sc.Cycles != 3 || sc.Interval.D() != 250*time.Millisecond {
		t.Errorf("explicit values overwritten: %+v cycles=%d interval=%v", n, sc.Cycles, sc.Interval)
	}
}

// TestParseAccepts covers valid spellings the schema must not refuse.
func TestParseAccepts(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		check      func(*Scenario) bool
	}{
		{"quoted duration", `{name: x, nodes: {a: {command: [s]}}, phases: [{name: p, quiet: {duration: "2s"}}]}`,
			func(s *Scenario) bool { return s.Phases[0].Quiet.Duration.D() == 2*time.Second }},
		{"bare rate", `{name: x, nodes: {a: {command: [s]}}, phases: [{name: p, steady: {rate: 5, duration: 1s}}]}`,
			func(s *Scenario) bool { return s.Phases[0].Steady.Rate == Rate{5, time.Second} }},
		{"inline requests", `{name: x, nodes: {a: {command: [s]}}, phases: [{name: p, churn: {rate: 5/m, duration: 1s, targets: ["PUT /a"], body: 1KiB, keepalive: false}}]}`,
			func(s *Scenario) bool {
				c := s.Phases[0].Churn
				return c.Targets[0] == "PUT /a" && c.Body == 1024 && c.KeepAlive != nil && !*c.KeepAlive && c.Rate.Per == time.Minute
			}},
		{"anchor and alias", "name: x\nnodes: {a: {command: [s]}}\nphases:\n  - {name: p, quiet: &q {duration: 3s}}\n  - {name: r, quiet: *q}\n",
			func(s *Scenario) bool { return s.Phases[1].Quiet.Duration.D() == 3*time.Second }},
		{"merge key", "name: x\nnodes:\n  a: &n {command: [s], engine: fasthttp}\n  b: {<<: *n, ports: [main], engine: net/http}\nphases:\n  - {name: p, steady: &l {rate: 5/s, duration: 1s, targets: [\"PUT /k\"]}}\n  - {name: q, churn: {<<: [*l], rate: 7/s}}\n",
			func(s *Scenario) bool {
				b := s.Nodes["b"]
				return b.Command[0] == "s" && b.Engine == "net/http" && s.Nodes["a"].Engine == "fasthttp" && b.Ports[0] == "main" && s.Phases[0].Steady.Rate.Freq == 5 && s.Phases[1].Churn.Rate.Freq == 7 && s.Phases[1].Churn.Duration.D() == time.Second && s.Phases[1].Churn.Targets[0] == "PUT /k"
			}},
		{"scalar aliases", "name: x\nnodes: {a: {command: [s]}}\nphases:\n  - {name: p, steady: {rate: &r 9/s, duration: &d 3s}}\n  - {name: q, churn: {rate: *r, duration: *d}}\n",
			func(s *Scenario) bool {
				return s.Phases[1].Churn.Rate.Freq == 9 && s.Phases[1].Churn.Duration.D() == 3*time.Second
			}},
		{"null unit is unset", `{name: x, nodes: {a: {command: [s]}}, interval: ~, phases: [{name: p, quiet: {duration: 1s}}]}`,
			func(s *Scenario) bool { return s.Interval == DefaultInterval }},
		{"tags ignored", "name: !!str x\nnodes: !custom {a: {command: [s]}}\nphases: !!seq [{name: p, quiet: {duration: !!str 2s}}]\n",
			func(s *Scenario) bool { return s.Name == "x" && s.Phases[0].Quiet.Duration.D() == 2*time.Second }},
		{"attach", `{name: x, nodes: {a: {attach: {pid: 1, url: "http://127.0.0.1:8080"}}}, phases: [{name: p, quiet: {duration: 1s}}]}`,
			func(s *Scenario) bool { return s.Nodes["a"].Attach.PID == 1 }},
		{"per-request funcs", `{name: x, nodes: {a: {command: [s]}}, phases: [{name: p, steady: {rate: 1/s, duration: 1s, targets: ["GET /o-{{rand 10}}-{{seq}}"]}}]}`,
			func(s *Scenario) bool { return len(s.Phases[0].Steady.Targets) == 1 }},
		{"float as number", `{name: x, nodes: {a: {command: [s]}}, layers: {c: {node: a, listen: a, idle_timeout: 1s}}, phases: [{name: p, quiet: {duration: 1s}}], expect: [{ratio: {numerator: goroutines, denominator: sockets.c, max: 2}}]}`,
			func(s *Scenario) bool { return s.Expect[0].Ratio.Max == 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := mustParse(t, "x.yaml", []byte(tc.yaml))
			if !tc.check(sc) {
				t.Errorf("parsed wrongly: %+v", sc)
			}
		})
	}
}

func TestPlanned(t *testing.T) {
	for _, tc := range []struct {
		phases string
		cycles int
		want   time.Duration
	}{
		{"[{name: a, quiet: {duration: 5s}}]", 0, 5 * time.Second},
		{"[{name: a, repeat: 3, quiet: {duration: 5s}}, {name: b, steady: {rate: 1/s, duration: 1m}}]", 0, 75 * time.Second},
		{"[{name: a, quiet: {duration: 5s}}]", 4, 20 * time.Second},
		// A burst plans only its pauses: its length depends on the SUT.
		{"[{name: a, burst: {count: 10, bursts: 3, pause: 2s}}]", 0, 4 * time.Second},
		{"[{name: a, burst: {count: 10}}]", 0, 0},
		{"[{name: a, idle: {connections: 1, duration: 2s}}, {name: b, slow: {connections: 1, duration: 3s}}, {name: c, abandon: {connections: 1, duration: 4s}}, {name: d, ramp: {to: 9/s, duration: 5s}}, {name: e, churn: {rate: 1/s, duration: 6s}}]", 0, 20 * time.Second},
	} {
		y := "{name: x, nodes: {a: {command: [s]}}, phases: " + tc.phases
		if tc.cycles > 0 {
			y += ", cycles: " + string(rune('0'+tc.cycles))
		}
		sc := mustParse(t, "x.yaml", []byte(y+"}"))
		if got := sc.Planned(); got != tc.want {
			t.Errorf("%s cycles %d: Planned() = %v, want %v", tc.phases, tc.cycles, got, tc.want)
		}
	}
}

func TestScaleDurations(t *testing.T) {
	const text = `name: x
nodes: {a: {command: [s]}}
layers: {l: {node: a, listen: a, idle_timeout: 4s}}
phases:
  - {name: warm, repeat: 3, steady: {rate: 1/s, duration: 15s}}
  - {name: hold, idle: {connections: 1, duration: 8s}}
  - {name: burst, burst: {count: 1, bursts: 3, pause: 5s}}
  - {name: rest, quiet: {duration: 10s}}
`
	for _, tc := range []struct {
		f    float64
		want time.Duration
	}{
		{1, 73 * time.Second},  // 3x15s + 8s + 2x5s pauses + 10s
		{0, 73 * time.Second},  // ignored: not a scale
		{-2, 73 * time.Second}, // ignored
		{0.1, 7300 * time.Millisecond},
		{2, 146 * time.Second},
		{1e-9, 7 * time.Millisecond}, // floored at 1ms per phase run and per pause
	} {
		sc := mustParse(t, "x.yaml", []byte(text))
		sc.ScaleDurations(tc.f)
		if got := sc.Planned(); got != tc.want {
			t.Errorf("ScaleDurations(%g): Planned() = %v, want %v", tc.f, got, tc.want)
		}
		// Idle timeouts are the SUT's: never scaled.
		if got, want := sc.Layers["l"].IdleTimeout.D(), 4*time.Second; got != want {
			t.Errorf("ScaleDurations(%g) scaled an idle timeout: %v", tc.f, got)
		}
	}
}
