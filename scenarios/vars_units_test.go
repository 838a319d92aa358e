package scenarios

import (
	"strings"
	"testing"
	"time"
)

// A value with units (a layer's idle_timeout, a rate, a duration) may be a
// template of the scenario's vars, so the node's flag and the layer share
// one value, and --set vars.NAME changes both.
func TestUnitsFromVars(t *testing.T) {
	t.Parallel()
	const text = `name: v
vars: {idle: 7s, rate: 50/s}
nodes:
  n: {command: [srv, "--idle={{.Vars.idle}}"]}
layers:
  client: {node: n, listen: n, idle_timeout: "{{.Vars.idle}}"}
phases:
  - {name: q, steady: {rate: "{{.Vars.rate}}", duration: 1s}}
`
	for _, tc := range []struct {
		name     string
		text     string
		sets     []string
		wantIdle time.Duration
		wantErr  string
	}{
		{name: "from the file", wantIdle: 7 * time.Second},
		{name: "from --set", sets: []string{"vars.idle=20s"}, wantIdle: 20 * time.Second},
		{name: "bad value", sets: []string{"vars.idle=1x"}, wantErr: `v.yaml:6:46: layers.client.idle_timeout: "1x" is not a duration (e.g. 10s, 250ms, 1h30m) (rendered from "{{.Vars.idle}}")`},
		{name: "unknown var", text: strings.Replace(text, `idle_timeout: "{{.Vars.idle}}"`, `idle_timeout: "{{.Vars.nope}}"`, 1), wantErr: `layers.client.idle_timeout: "{{.Vars.nope}}" does not render: a value with units may use only vars (idle, rate)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(text)
			if tc.text != "" {
				data = []byte(tc.text)
			}
			if len(tc.sets) > 0 {
				var err error
				if data, err = Override("v.yaml", data, tc.sets); err != nil {
					t.Fatal(err)
				}
			}
			sc, err := ParseScenario("v.yaml", data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sc.Layers["client"].IdleTimeout.D(); got != tc.wantIdle {
				t.Errorf("idle_timeout = %v, want %v", got, tc.wantIdle)
			}
			if got := sc.Phases[0].Steady.Rate.String(); got != "50/s" {
				t.Errorf("rate = %s, want 50/s", got)
			}
		})
	}
}
