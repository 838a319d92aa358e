package remote

import (
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
)

// FuzzExposition: whatever an exporter answers, reading it is a sample or
// an error, never a panic, and a sample's counts are never negative.
func FuzzExposition(f *testing.F) {
	f.Add(goodExposition)
	f.Add(`soak_socket_idle_age_seconds_bucket{node="n",layer="a",le="0.1"} 3` + "\n" +
		`soak_socket_idle_age_seconds_bucket{node="n",layer="a",le="+Inf"} 2` + "\n" +
		`soak_socket_idle_max_seconds{node="n",layer="a"} 0.05` + "\n")
	f.Add(`soak_goroutines{node="n",class="all"} 4` + "\n" + `soak_goroutines{node="n",class="other"} 1` + "\n")
	f.Add(`soak_fds_limit{node="n"} 1e3` + "\n" + `soak_fds{node="n",type="socket"} 7` + "\n")
	f.Fuzz(func(t *testing.T, body string) {
		vec, err := decode([]byte(body), expfmt.NewFormat(expfmt.TypeTextPlain))
		if err != nil {
			return
		}
		e := &Exporter{node: "n"}
		if vec, err = e.pick(vec); err != nil {
			return
		}
		s, err := toSample(vec, "n", SourceExporter)
		if err != nil {
			return
		}
		if s.Sockets != nil {
			for name, l := range s.Sockets.Layers {
				for st, n := range l.ByState {
					if n < 0 {
						t.Fatalf("layer %s state %s: %d", name, st, n)
					}
				}
				if l.Idle != nil {
					for _, n := range l.Idle.Hist {
						if n < 0 {
							t.Fatalf("layer %s: histogram %v", name, l.Idle.Hist)
						}
					}
				}
			}
		}
		if s.FDs != nil && s.FDs.Total < 0 || s.Goroutines != nil && s.Goroutines.Total < 0 {
			t.Fatalf("negative totals: %+v %+v", s.FDs, s.Goroutines)
		}
		_ = strings.TrimSpace(body)
	})
}
