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
		spec  func(any) interface{ Kind() string }
	}{
		{&Phase{}, PhaseKinds, func(v any) interface{ Kind() string } { return v.(*Phase).Spec() }},
		{&Expectation{}, CheckKinds, func(v any) interface{ Kind() string } { return v.(*Expectation).Spec() }},
	} {
		if len(tc.kinds) == 0 || len(slices.Compact(slices.Sorted(slices.Values(tc.kinds)))) != len(tc.kinds) {
			t.Errorf("%T kinds %v: want some, each once", tc.one, tc.kinds)
		}
		found := 0
		v := reflect.ValueOf(tc.one).Elem()
		for i := range v.NumField() {
			f := v.Type().Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !slices.Contains(tc.kinds, key) {
				continue
			}
			found++
			v.Field(i).Set(reflect.New(f.Type.Elem()))
			if got := tc.spec(tc.one); got == nil || got.Kind() != key {
				t.Errorf("%T.%s: Spec() = %v, want kind %q", tc.one, f.Name, got, key)
			}
			v.Field(i).SetZero()
		}
		if found != len(tc.kinds) {
			t.Errorf("%T: %d kind fields, %d kinds", tc.one, found, len(tc.kinds))
		}
	}
}
