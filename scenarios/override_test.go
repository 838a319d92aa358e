package scenarios

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestOverride(t *testing.T) {
	data, _ := Builtin("quick")
	for _, tc := range []struct {
		name  string
		sets  []string
		check func(*Scenario) bool
	}{
		{"idle timeout", []string{"layers.client.idle_timeout=4500ms"},
			func(s *Scenario) bool { return s.Layers["client"].IdleTimeout.D() == 4500*time.Millisecond }},
		{"phase rate", []string{"phases[0].steady.rate=10/s"},
			func(s *Scenario) bool { return s.Phases[0].Steady.Rate == Rate{10, time.Second} }},
		{"var", []string{"vars.sut=/usr/bin/aisnode"},
			func(s *Scenario) bool { return s.Vars["sut"] == "/usr/bin/aisnode" }},
		{"several in order", []string{"phases[3].quiet.duration=1s", "phases[3].quiet.duration=2s", "name=renamed"},
			func(s *Scenario) bool { return s.Phases[3].Quiet.Duration.D() == 2*time.Second && s.Name == "renamed" }},
		{"value with =", []string{"description=a=b"},
			func(s *Scenario) bool { return s.Description == "a=b" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Override("quick.yaml", data, tc.sets)
			if err != nil {
				t.Fatal(err)
			}
			sc := mustParse(t, "quick.yaml", out)
			if !tc.check(sc) {
				t.Errorf("override %v not applied", tc.sets)
			}
			// Everything else is untouched.
			if got, want := len(sc.Phases), 4; got != want {
				t.Errorf("%d phases after override, want %d", got, want)
			}
			if got, want := sc.Layers["backend"].IdleTimeout.D(), 2*time.Second; got != want {
				t.Errorf("backend idle timeout %v, want %v", got, want)
			}
		})
	}
	if out, err := Override("quick.yaml", data, nil); err != nil || string(out) != string(data) {
		t.Errorf("no sets changed the text (err %v)", err)
	}
}

func TestOverrideErrors(t *testing.T) {
	data, _ := Builtin("quick")
	for _, tc := range []struct {
		set, want string
	}{
		{"layers.edge.idle_timeout=4s", `quick.yaml has no field layers.edge.idle_timeout (only fields present in the file can be set)`},
		{"phases[9].steady.rate=1/s", `has no field phases[9].steady.rate`},
		{"no-equals-sign", `want key=value`},
		{"=4s", `want key=value`},
		{"[=1", `bad key`},
		// issue 21: a recursive path with an empty value panicked in go-yaml.
		{".rate=", `bad key: starts with a separator`},
		{"phases..rate=1/s", `bad key: empty name`},
		{"phases[*].name=x", `bad key`},
	} {
		_, err := Override("quick.yaml", data, []string{tc.set})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--set %s: error %v, want it to contain %q", tc.set, err, tc.want)
		}
	}
	// A value of the wrong type is caught by the parse that follows, with a
	// path and the line:col of the user's file (the text is edited in place).
	out, err := Override("quick.yaml", data, []string{"layers.client.idle_timeout=4"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseScenario("quick.yaml", out)
	line := 1 + strings.Count(string(data[:strings.Index(string(data), "  client:  {node: proxy")]), "\n")
	if got, want := fmt.Sprint(err), fmt.Sprintf(`quick.yaml:%d:57: layers.client.idle_timeout: "4" is not a duration (e.g. 10s, 250ms, 1h30m)`, line); got != want {
		t.Errorf("bad override value:\n got %s\nwant %s", got, want)
	}
	// An empty value for a mapping becomes null (go-yaml panicked on it).
	if out, err := Override("quick.yaml", data, []string{"phases[0].steady="}); err != nil {
		t.Errorf("empty mapping value: %v", err)
	} else if _, err := ParseScenario("quick.yaml", out); err == nil {
		t.Error("a phase with a null steady: parsed")
	}
	if _, err := Override("bad.yaml", []byte("a: [\n"), []string{"a=1"}); err == nil {
		t.Error("override of a broken file succeeded")
	}
}

// TestOverrideInPlace: a scalar is replaced where it stands, so comments and
// layout survive into the run directory's scenario.yaml.
func TestOverrideInPlace(t *testing.T) {
	data, _ := Builtin("quick")
	for _, tc := range []struct {
		set, old, new string
	}{
		{"layers.client.idle_timeout=6s", "listen: proxy,  idle_timeout: 4s}", "listen: proxy,  idle_timeout: 6s}"},
		{"vars.sut=/opt/sut", `sut: ""   # the SUT binary`, `sut: /opt/sut   # the SUT binary`},
		{"phases[1].idle.target=GET /v1/health", `target: "GET /health"`, `target: GET /v1/health`},
		{"nodes.proxy.command[0]=/bin/sut", `command: ["{{or .Vars.sut .Soak}}", "testsut", "--role", "proxy"`, `command: [/bin/sut, "testsut", "--role", "proxy"`},
	} {
		out, err := Override("quick.yaml", data, []string{tc.set})
		if err != nil {
			t.Fatalf("%s: %v", tc.set, err)
		}
		if want := strings.Replace(string(data), tc.old, tc.new, 1); string(out) != want {
			t.Errorf("--set %s changed more than the value:\n%s", tc.set, out)
		}
		mustParse(t, "quick.yaml", out)
	}
	// A mapping is replaced by re-serializing the file: still valid.
	out, err := Override("quick.yaml", data, []string{"phases[3].quiet={duration: 3s}"})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustParse(t, "quick.yaml", out).Phases[3].Quiet.Duration.D(); got != 3*time.Second {
		t.Errorf("rest duration %v after replacing the mapping", got)
	}
}
