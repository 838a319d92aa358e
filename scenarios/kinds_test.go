package scenarios

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestOneOfKinds: every field of the Phase and Expectation one-ofs is a
// kind whose Kind() is the field's YAML key, and Spec finds it.
func TestOneOfKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		one   any // *Phase or *Expectation
		kinds []string
		want  []string
		spec  func(any) interface{ Kind() string }
	}{
		{&Phase{}, PhaseKinds, []string{"steady", "ramp", "burst", "idle", "churn", "slow", "abandon", "quiet"},
			func(v any) interface{ Kind() string } { return v.(*Phase).Spec() }},
		{&Expectation{}, CheckKinds, []string{"reclaim", "drain", "close_wait", "no_growth", "ratio", "max", "baseline", "load"},
			func(v any) interface{ Kind() string } { return v.(*Expectation).Spec() }},
	} {
		if !slices.Equal(tc.kinds, tc.want) {
			t.Errorf("%T kinds %v, want %v", tc.one, tc.kinds, tc.want)
		}
		v := reflect.ValueOf(tc.one).Elem()
		for i := range v.NumField() {
			f := v.Type().Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !slices.Contains(tc.kinds, key) {
				continue
			}
			v.Field(i).Set(reflect.New(f.Type.Elem()))
			if got := tc.spec(tc.one); got == nil || got.Kind() != key {
				t.Errorf("%T.%s: Spec() = %v, want kind %q", tc.one, f.Name, got, key)
			}
			v.Field(i).SetZero()
		}
	}
}
