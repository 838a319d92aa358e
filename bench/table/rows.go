package main

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/soak-dev/soak/internal/stats"
)

// row is one line of the results table; met is "yes", "no" or "—" (no
// target: shown for context).
type row struct{ what, soak, ref, ratio, target, met, note string }

func noData(what, file string) row {
	return row{what: what, soak: "no data", met: "no", note: "no result in bench/out/" + file + " (the part failed or did not run)"}
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func x(r float64) string { return fmt.Sprintf("%.2fx", r) }

// loadRows: issue 11 item 2.
func loadRows(in string) []row {
	var rows []row
	runs := benchRuns(filepath.Join(in, "steady.txt"))["BenchmarkSteadyVsVegeta"]
	s, ok1 := medianOf(runs, "soak-req/s")
	v, ok2 := medianOf(runs, "vegeta-req/s")
	why := "A saturated loopback run on 2 cores is CPU-bound (client and server share them), so any CPU soak's client spends per request is throughput lost; the in-process row is the noisier one (both sides share one process, and the footprint run's CPU). What is known about the gap is in docs/bench.md (Notes)."
	if ok1 && ok2 {
		rows = append(rows, row{what: "Load, in process: steady phase vs vegeta library, 64 conns, full speed (req/s)", soak: f0(s), ref: f0(v), ratio: x(s / v), target: "≥ 0.95x", met: yes(s/v >= 0.95), note: why})
	} else {
		rows = append(rows, noData("Load, in process: steady phase vs vegeta library", "steady.txt"))
	}
	by := map[string][]float64{}
	for _, kv := range keyValues(filepath.Join(in, "load.txt"), "load") {
		if kv["rps"] != "" {
			by[kv["tool"]] = append(by[kv["tool"]], num(kv["rps"]))
		}
	}
	if len(by["soak"]) == 0 {
		return append(rows, noData("Load, whole process: `soak run` vs `vegeta attack`", "load.txt"))
	}
	s = stats.Median(by["soak"])
	for _, ref := range []struct{ tool, what string }{
		{"vegeta", "Load, whole process: `soak run` (steady, probes on) vs `vegeta attack` same rate, 64 conns (req/s, median of %d)"},
		{"vegeta0", "Load, whole process: `soak run` vs `vegeta attack -rate 0 -max-workers 64` (req/s, median of %d)"},
	} {
		if len(by[ref.tool]) == 0 {
			continue
		}
		v := stats.Median(by[ref.tool])
		rows = append(rows, row{what: fmt.Sprintf(ref.what, len(by["soak"])), soak: f0(s), ref: f0(v), ratio: x(s / v), target: "≥ 0.95x", met: yes(s/v >= 0.95), note: why})
	}
	return rows
}

// s3Rows: issue 11 item 3, from BenchmarkS3 (-count N, medians).
func s3Rows(in string) []row {
	runs := benchRuns(filepath.Join(in, "s3.txt"))
	var rows []row
	for _, size := range []string{"4KiB", "1024KiB"} {
		label := map[string]string{"4KiB": "4 KiB", "1024KiB": "1 MiB"}[size]
		for _, op := range []string{"GET", "PUT"} {
			runsOf := func(mode string) []map[string]float64 { return runs["BenchmarkS3/"+mode+"/"+size+"/"+op] }
			const unit = "cpu-us/op"
			t, ok1 := medianOf(runsOf("tracked"), unit)
			b, ok2 := medianOf(runsOf("bare"), unit)
			g, ok3 := medianOf(runsOf("gofakes3"), unit)
			if !ok1 || !ok2 {
				rows = append(rows, noData("Fake S3 "+op+" "+label, "s3.txt"))
				continue
			}
			r, spread := roundRatios(runsOf("tracked"), runsOf("bare"), unit)
			rows = append(rows, row{what: fmt.Sprintf("Fake S3 %s %s via AWS SDK: with ledger + faults vs without (CPU µs/op)", op, label),
				soak: f0(t), ref: f0(b), ratio: x(r) + spread, target: "≤ 1.05x", met: yes(r <= 1.05),
				note: "Per request the backend wraps the connection in its ledger (bytes and idle gaps per read and write) and draws from the fault generator. The ratio is the median of the per-round ratios (range in brackets); where the range spans 1.0 the difference is within this machine's noise."})
			if ok3 {
				r, spread := roundRatios(runsOf("tracked"), runsOf("gofakes3"), unit)
				rows = append(rows, row{what: fmt.Sprintf("Fake S3 %s %s via AWS SDK: soak (tracked) vs gofakes3 + s3mem alone (CPU µs/op)", op, label),
					soak: f0(t), ref: f0(g), ratio: x(r) + spread, target: "—", met: "—"})
			}
		}
	}
	return rows
}

// roundRatios is the median of a/b over rounds (bench/run.sh runs all the
// servers once per round) and their range.
func roundRatios(a, b []map[string]float64, unit string) (float64, string) {
	var rs []float64
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i][unit] > 0 && b[i][unit] > 0 {
			rs = append(rs, a[i][unit]/b[i][unit])
		}
	}
	if len(rs) == 0 {
		return 0, ""
	}
	lo, hi := rs[0], rs[0]
	for _, r := range rs {
		lo, hi = min(lo, r), max(hi, r)
	}
	return stats.Median(rs), fmt.Sprintf(" (%.2f–%.2f)", lo, hi)
}

// footprintRows: issue 11 item 4 (the 24-hour report is reportRow).
func footprintRows(in string) []row {
	kvs := keyValues(filepath.Join(in, "footprint.txt"), "footprint")
	if len(kvs) == 0 {
		return []row{noData("Footprint: soak's RSS, goroutines and data written during an idle hold", "footprint.txt")}
	}
	kv := kvs[0]
	hold := fmt.Sprintf("%s idle conns, %s s hold at 1 Hz", comma(int(num(kv["conns"]))), kv["hold_s"])
	rssMean, rssSlope, rssSE := num(kv["rss_mib_mean"]), num(kv["rss_slope_mib_h"]), num(kv["rss_se_mib_h"])
	gMean, gSlope, gSE := num(kv["goroutines_mean"]), num(kv["goroutines_slope_h"]), num(kv["goroutines_se_h"])
	w := num(kv["written_mib_h"])
	conns, lost := num(kv["conns"]), num(kv["lost"])
	return []row{
		{what: "Footprint (" + hold + "): idle connections still held at the end", soak: f0(conns - lost), ref: f0(conns) + " opened", target: "all", met: yes(lost == 0),
			note: "The peer (or the kernel) closed some during the hold. A known cause on loopback: connections opened together send their TCP keepalive probes together, and a burst above net.core.netdev_max_backlog (1,000) is dropped every 15 s until the kernel resets the same sockets (footprint.yaml opens at 1,000/s for this reason). Their conns.jsonl lines also inflate the bytes-written row."},
		rssRow(hold, kv, rssMean, rssSlope, rssSE),
		{what: "Footprint (" + hold + "): soak's goroutines slope ± 2 standard errors (per hour; mean)", soak: fmt.Sprintf("%+.2f ± %.2f (%.1f)", gSlope, 2*gSE, gMean), target: "no growth (slope - 2 SE ≤ 0)", met: yes(gSlope-2*gSE <= 0),
			note: "Goroutines grow during an idle hold: a goroutine per something that should be constant. Raw points: bench/out/footprint/self.csv."},
		{what: "Footprint (" + hold + "): run directory written per hour, three layers, two nodes (MiB/h)", soak: fmt.Sprintf("%.1f", w), target: "< 20 MiB/h", met: yes(w < 20),
			note: "samples.jsonl holds one line per node per second with goroutine top stacks and per-layer idle histograms; fix: write unchanged parts (top stacks, empty layers) only when they change."},
	}
}

var (
	builtRe = regexp.MustCompile(`built the 24-hour report in (\S+);`)
	idleRe  = regexp.MustCompile(`(\d+) idle connections .*: ([0-9.]+) KiB per connection`)
)

func reportRow(in string) row {
	m := find(filepath.Join(in, "report.txt"), builtRe)
	if m == nil {
		return noData("Report build of a synthetic 24-hour run", "report.txt")
	}
	d, _ := time.ParseDuration(m[1])
	return row{what: "Report build of a synthetic 24-hour run (3 nodes, 259,200 samples, 200,000 conns) (s)", soak: fmt.Sprintf("%.1f", d.Seconds()), target: "< 10 s", met: yes(d < 10*time.Second),
		note: "`soak report` decodes every JSON line of samples.jsonl and conns.jsonl (1.3 GiB allocated in total) and draws every plot from all points. Fix: decode into reused structs (no map per sample) and downsample series to the plot's pixel width before drawing; profile with `SOAK_LONG=1 go test -run TestBuild24h -cpuprofile cpu.prof ./reports/`."}
}

func idleRow(in string) row {
	m := find(filepath.Join(in, "idle.txt"), idleRe)
	if m == nil {
		return noData("Idle client connections: soak's RSS per held connection", "idle.txt")
	}
	n, _ := strconv.Atoi(m[1])
	kib := num(m[2])
	what := fmt.Sprintf("Idle client connections: soak's RSS per held connection at %s (KiB)", comma(n))
	r := row{what: what, soak: fmt.Sprintf("%.1f", kib), target: "≤ 40 KiB", met: yes(kib <= 40)}
	if n < 20000 {
		r.note = fmt.Sprintf("%s, not 20,000: the fd hard limit here leaves room for no more (see the probe rows).", comma(n))
	}
	return r
}

func linfit(xs, ys []float64) (slope, r2 float64) {
	n := float64(len(xs))
	mx, my := sum(xs)/n, sum(ys)/n
	var sxy, sxx, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxy, sxx, syy = sxy+dx*dy, sxx+dx*dx, syy+dy*dy
	}
	slope = sxy / sxx
	return slope, sxy * sxy / (sxx * syy)
}

func sum(v []float64) (s float64) {
	for _, x := range v {
		s += x
	}
	return s
}

func f0(v float64) string { return strconv.FormatFloat(math.Round(v), 'f', 0, 64) }
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// comma writes 10000 as 10,000.
func comma(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// rssRow judges soak's RSS as its own no_growth check judges a series:
// 1-minute medians, Theil-Sen slope, growth when Mann-Kendall p < 0.01 and
// the rise over the window is over 5% of the level. The least-squares fit
// on 5 s points stays in the cell for reference: its standard error
// ignores that consecutive points of a GC sawtooth are correlated.
func rssRow(hold string, kv map[string]string, mean, lsSlope, lsSE float64) row {
	mins, ts, p := num(kv["rss_minutes"]), num(kv["rss_ts_mib_h"]), num(kv["rss_mk_p"])
	rise := ts * num(kv["hold_s"]) / 3600
	grows := mins >= 6 && p < 0.01 && rise > 0.05*mean
	return row{what: "Footprint (" + hold + "): soak's RSS trend over 1-minute medians (Theil-Sen MiB/h, Mann-Kendall p; mean)",
		soak:   fmt.Sprintf("%+.2f, p=%.2g (%.1f MiB; least squares on 5 s points %+.2f ± %.2f)", ts, p, mean, lsSlope, 2*lsSE),
		target: "no growth (not: p < 0.01 and rise > 5% of the mean)", met: yes(mins >= 6 && !grows),
		note: fmt.Sprintf("Judged on %.0f one-minute medians (6 needed): a Mann-Kendall p of %.2g with a rise of %.1f MiB over the hold. Raw points: bench/out/footprint/self.csv; a longer BENCH_FOOTPRINT judges more minutes.", mins, p, rise)}
}
