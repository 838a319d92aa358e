package remote

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/promtest"
	"github.com/soak-dev/soak/record"
)

// TestTailWindows: a tail started off the step's grid starts at the step
// before (the level before load); successive reads at ends off the grid, one of
// them failing, ask for windows that follow each other on the grid, and
// give every step of the span once: none twice, none skipped at a
// window's border, the failed window asked again by the next read.
func TestTailWindows(t *testing.T) {
	t.Parallel()
	base := time.Unix(1700000000, 0)
	at := func(sec float64) time.Time { return base.Add(time.Duration(sec * float64(time.Second))) }
	srv := promtest.New(t)
	srv.Goroutines = func(t time.Time) (float64, bool) { return float64(t.Sub(base) / time.Second), true }
	srv.FailRange = func(n int) bool { return n == 3 }
	p, err := NewPrometheus("far", srv.URL, promtest.Match, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tail := p.Tail(at(0.3))
	seen := map[time.Time]int{}
	var order []time.Time
	emit := func(s record.Sample) {
		seen[s.Time]++
		order = append(order, s.Time)
		if s.Goroutines == nil || s.Goroutines.Total != int(s.Time.Sub(base)/time.Second) {
			t.Errorf("sample at %s: %+v, want the script's value", s.Time, s.Goroutines)
		}
	}
	for _, step := range []struct {
		end     float64
		want    int
		wantErr string
	}{
		{0.9, 1, ""},                  // 0, the step at or before the start (0.3 s)
		{2.7, 2, ""},                  // 1, 2
		{2.9, 0, ""},                  // no new step: nothing asked
		{5.5, 0, "server error: 503"}, // 3..5 fails
		{7.0, 5, ""},                  // 3..7: the failed window again, and on
		{1500.2, 1493, ""},            // 8..1500, in two chunks
	} {
		n, err := tail.ReadTo(context.Background(), at(step.end), emit)
		if n != step.want || (err != nil) != (step.wantErr != "") || err != nil && !strings.Contains(err.Error(), step.wantErr) {
			t.Errorf("read to %gs: %d samples, %v; want %d, %q", step.end, n, err, step.want, step.wantErr)
		}
	}
	if tail.Samples() != 1501 || len(seen) != 1501 {
		t.Errorf("%d samples (%d distinct steps), want 1501", tail.Samples(), len(seen))
	}
	for i := 0; i <= 1500; i++ {
		if c := seen[at(float64(i))]; c != 1 {
			t.Errorf("step %ds given %d times", i, c)
		}
	}
	for i := 1; i < len(order); i++ {
		if !order[i].After(order[i-1]) {
			t.Fatalf("samples out of order: %s after %s", order[i], order[i-1])
		}
	}
	var got []string
	for _, w := range srv.Windows() {
		s := w.Start.Sub(base).String() + "-" + w.End.Sub(base).String()
		if w.Failed {
			s += "(failed)"
		}
		got = append(got, s)
	}
	want := "0s-0s 1s-2s 3s-5s(failed) 3s-7s 8s-16m47s 16m48s-25m0s"
	if strings.Join(got, " ") != want {
		t.Errorf("windows %v, want %s", got, want)
	}
}

// TestTailDropsUnasked: an answer with steps outside the window asked
// (a broken or hostile Prometheus) gives only the window's steps, so two
// reads never give a step twice.
func TestTailDropsUnasked(t *testing.T) {
	t.Parallel()
	start := time.Unix(1700000000, 0)
	p, err := NewPrometheus("proxy", promServer(t, oneProcess, matrix(estab, gor), nil), `{instance="a:9469"}`, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tail := p.Tail(start)
	var got []time.Time
	for _, end := range []time.Time{start, start.Add(time.Second)} {
		if _, err := tail.ReadTo(context.Background(), end, func(s record.Sample) { got = append(got, s.Time) }); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || !got[0].Equal(start) || !got[1].Equal(start.Add(time.Second)) {
		t.Errorf("steps %v, want %s and one second later, once each", got, start)
	}
}
