package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/soak-dev/soak/internal/stats"
	"github.com/soak-dev/soak/runner"
	"github.com/soak-dev/soak/scenarios"
)

// point is one self-sample of the harness.
type point struct {
	at         time.Duration // since the hold started
	rss        float64       // bytes
	goroutines float64
	dirBytes   float64 // bytes in the run directory
}

// phaseWatch is the runner's JSON progress sink; it keeps the current
// phase's name so sampling covers the idle hold only.
type phaseWatch struct{ phase atomic.Value }

func (w *phaseWatch) Write(p []byte) (int, error) {
	var s struct{ Phase string }
	for _, line := range strings.Split(string(p), "\n") {
		if json.Unmarshal([]byte(line), &s) == nil {
			w.phase.Store(s.Phase)
		}
	}
	return len(p), nil
}

func (w *phaseWatch) current() string { s, _ := w.phase.Load().(string); return s }

// run runs the scenario and returns the result line.
func run(o options, text []byte) (string, error) {
	if err := os.RemoveAll(o.out); err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return "", err
	}
	soak, err := filepath.Abs(o.soak)
	if err != nil {
		return "", err
	}
	sc, err := scenarios.ParseScenario("footprint.yaml", text)
	if err != nil {
		return "", err
	}
	w := &phaseWatch{}
	var (
		mu     sync.Mutex
		points []point
		stop   = make(chan struct{})
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		t := time.NewTicker(o.every)
		defer t.Stop()
		var start time.Time
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				if w.current() != "hold" {
					continue
				}
				if start.IsZero() {
					start = now
				}
				p := point{at: now.Sub(start), rss: selfRSS(), goroutines: float64(runtime.NumGoroutine()), dirBytes: dirSize(o.out)}
				mu.Lock()
				points = append(points, p)
				mu.Unlock()
			}
		}
	}()
	res, err := runner.Run(context.Background(), runner.Options{
		Scenario: sc, ScenarioYAML: text, ScenarioPath: "bench/footprint/footprint.yaml", OutDir: o.out,
		SoakBinary: soak, Progress: w, ProgressMode: "json", Args: os.Args, Log: os.Stderr,
	})
	close(stop)
	<-done
	if err != nil {
		return "", err
	}
	// The open stage of the hold (dialing N connections) and its end (closing
	// them, one conns.jsonl line each) are one-offs, not growth: fit between.
	skip := min(time.Minute, o.duration/5)
	var fit []point
	for _, p := range points {
		if p.at >= skip && p.at <= o.duration-2*o.every {
			fit = append(fit, p)
		}
	}
	if err := writeCSV(filepath.Join(o.out, "self.csv"), points); err != nil {
		return "", err
	}
	if len(fit) < 3 {
		return "", fmt.Errorf("only %d self-samples in the hold (run %s ended %s: %s)", len(fit), res.Dir, res.Ended, res.Cause)
	}
	// Held connections the server (or the kernel) closed during the hold:
	// each is a conns.jsonl line, so they show in the bytes written too.
	var hold struct{ Extra map[string]float64 }
	if b, err := os.ReadFile(filepath.Join(res.Dir, "load", "hold.json")); err == nil {
		json.Unmarshal(b, &hold)
	}
	const h = 3600
	rssMean, rssSlope, rssSE := fitLine(fit, func(p point) float64 { return p.rss })
	gMean, gSlope, gSE := fitLine(fit, func(p point) float64 { return p.goroutines })
	_, bSlope, _ := fitLine(fit, func(p point) float64 { return p.dirBytes })
	// RSS is judged as soak's no_growth check judges a series: 5 s points
	// of a GC sawtooth are autocorrelated, so take 1-minute medians, then
	// the Theil-Sen slope and the Mann-Kendall p of an upward trend.
	mx, my := minuteMedians(fit, func(p point) float64 { return p.rss })
	tsSlope, mkP := stats.Trend(mx, my)
	return fmt.Sprintf("footprint conns=%d hold_s=%.0f points=%d rss_mib_mean=%.1f rss_slope_mib_h=%.2f rss_se_mib_h=%.2f rss_minutes=%d rss_ts_mib_h=%.2f rss_mk_p=%.3g goroutines_mean=%.1f goroutines_slope_h=%.2f goroutines_se_h=%.2f written_mib_h=%.2f lost=%.0f exit=%d run=%s",
		o.conns, o.duration.Seconds(), len(fit), rssMean/(1<<20), rssSlope*h/(1<<20), rssSE*h/(1<<20), len(my), tsSlope*h/(1<<20), mkP, gMean, gSlope*h, gSE*h, bSlope*h/(1<<20), hold.Extra["closed_by_server"], res.ExitCode, res.Dir), nil
}

// minuteMedians returns the median of f over each whole minute of ps, at
// the minute's middle (seconds).
func minuteMedians(ps []point, f func(point) float64) (xs, ys []float64) {
	byMin := map[int][]float64{}
	var mins []int
	for _, p := range ps {
		m := int(p.at / time.Minute)
		if byMin[m] == nil {
			mins = append(mins, m)
		}
		byMin[m] = append(byMin[m], f(p))
	}
	for _, m := range mins {
		v := byMin[m]
		sort.Float64s(v)
		xs, ys = append(xs, float64(m)*60+30), append(ys, v[len(v)/2])
	}
	return xs, ys
}

// fitLine returns the mean of f, its least-squares slope per second and
// the slope's standard error: a slope within two standard errors of 0 is
// no growth this window can tell from the GC sawtooth.
func fitLine(ps []point, f func(point) float64) (mean, slope, se float64) {
	n := float64(len(ps))
	var mx, my float64
	for _, p := range ps {
		mx, my = mx+p.at.Seconds()/n, my+f(p)/n
	}
	var sxx, sxy float64
	for _, p := range ps {
		dx := p.at.Seconds() - mx
		sxx, sxy = sxx+dx*dx, sxy+dx*(f(p)-my)
	}
	slope = sxy / sxx
	var rss float64
	for _, p := range ps {
		r := f(p) - my - slope*(p.at.Seconds()-mx)
		rss += r * r
	}
	return my, slope, math.Sqrt(rss / (n - 2) / sxx)
}

// selfRSS reads this process's resident set size in bytes.
func selfRSS() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	return 0
}

// dirSize sums the sizes of the files under dir.
func dirSize(dir string) float64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return float64(n)
}

func writeCSV(path string, ps []point) error {
	var b strings.Builder
	b.WriteString("seconds,rss_bytes,goroutines,dir_bytes\n")
	for _, p := range ps {
		fmt.Fprintf(&b, "%.1f,%.0f,%.0f,%.0f\n", p.at.Seconds(), p.rss, p.goroutines, p.dirBytes)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
