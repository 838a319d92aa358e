package load

import (
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/soak-dev/soak/scenarios"
)

func TestPrepare(t *testing.T) {
	t.Parallel()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	tooMany := int(min(rl.Max, 1<<40)) + 1
	tests := []struct {
		name    string
		phases  []*scenarios.Phase
		wantErr string
	}{
		{"fits", []*scenarios.Phase{
			{Name: "warm", Steady: &scenarios.Steady{}},
			{Name: "hold", Idle: &scenarios.Idle{Connections: 100}},
		}, ""},
		{"too many", []*scenarios.Phase{
			{Name: "warm", Steady: &scenarios.Steady{}},
			{Name: "hold", Idle: &scenarios.Idle{Connections: tooMany}},
		}, "phase hold needs " + group(uint64(tooMany)) + " connections; this process may open " + group(rl.Max-fdReserve) + ": raise 'ulimit -n'"},
		{"abandon too many", []*scenarios.Phase{{Name: "gone", Abandon: &scenarios.Abandon{Connections: tooMany}}}, "phase gone needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			note, err := Prepare(&scenarios.Scenario{Name: "x", Phases: tt.phases})
			if note == "" || !strings.Contains(note, "open-file limit") {
				t.Errorf("note %q", note)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
	var after syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &after)
	if after.Cur != after.Max {
		t.Errorf("soft limit %d not raised to hard %d", after.Cur, after.Max)
	}
}

func TestGroup(t *testing.T) {
	t.Parallel()
	for n, want := range map[uint64]string{0: "0", 999: "999", 1024: "1,024", 20000: "20,000", 1234567: "1,234,567"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestNewNoKind(t *testing.T) {
	t.Parallel()
	if _, err := New(&scenarios.Phase{Name: "none"}); err == nil {
		t.Error("New accepted a phase with no kind")
	}
	if _, err := New(nil); err == nil {
		t.Error("New accepted nil")
	}
}

// TestEveryKindRegistered: every phase kind of the schema has a builder
// here, and nothing else does; New makes each one.
func TestEveryKindRegistered(t *testing.T) {
	t.Parallel()
	if got, want := Kinds(), slices.Sorted(slices.Values(scenarios.PhaseKinds)); !slices.Equal(got, want) {
		t.Errorf("registered phase kinds %v, schema kinds %v", got, want)
	}
	for _, kind := range scenarios.PhaseKinds {
		p := &scenarios.Phase{Name: kind}
		// Set the field whose YAML key is kind to a zero spec.
		v := reflect.ValueOf(p).Elem()
		for i := range v.NumField() {
			if name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ","); name == kind {
				v.Field(i).Set(reflect.New(v.Field(i).Type().Elem()))
			}
		}
		if p.Kind() != kind {
			t.Fatalf("could not set kind %s", kind)
		}
		if ph, err := New(p); err != nil || ph == nil {
			t.Errorf("New(%s) = %v, %v", kind, ph, err)
		}
	}
}
