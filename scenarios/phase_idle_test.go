package scenarios

import (
	"strings"
	"testing"
	"time"
)

func TestIdleUntilClosed(t *testing.T) {
	t.Parallel()
	const head = "{name: x, nodes: {a: {command: [s]}}, phases: [{name: p, idle: {connections: 2, "
	sc := mustParse(t, "x.yaml", []byte(head+"until: closed, max: 40s}}]}"))
	if i := sc.Phases[0].Idle; i.Until != IdleUntilClosed || i.Hold() != 40*time.Second || sc.Phases[0].Planned() != 40*time.Second {
		t.Errorf("until closed: %+v, hold %v", i, i.Hold())
	}
	for _, tc := range []struct{ spec, want string }{
		{"until: closed}", "phases[0].idle.max: required"},
		{"until: closed, max: 10s, duration: 5s}", "phases[0].idle.duration: not with until: closed"},
		{"duration: 5s, max: 10s}", "phases[0].idle.max: only with until: closed"},
		{"until: open, duration: 5s}", `phases[0].idle.until: "open": want closed`},
		{"duration: 5s, source_addrs: [127.0.0.2, nope]}", `phases[0].idle.source_addrs[1]: "nope" is not a local IP address`},
		{"duration: 5s, source_addrs: [0.0.0.0]}", `phases[0].idle.source_addrs[0]: "0.0.0.0" is not a local IP address`},
	} {
		_, err := ParseScenario("x.yaml", []byte(head+tc.spec+"}]}"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.spec, err, tc.want)
		}
	}
}
