package main

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/soak-dev/soak/internal/stats"
)

// benchLine matches a `go test -bench` result: name, iterations, metrics.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// benchRuns reads a go test -bench output: every run of every benchmark
// (one per -count), each as unit -> value.
func benchRuns(path string) map[string][]map[string]float64 {
	runs := map[string][]map[string]float64{}
	for _, line := range lines(path) {
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		vals := map[string]float64{}
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				vals[f[i+1]] = v
			}
		}
		runs[m[1]] = append(runs[m[1]], vals)
	}
	return runs
}

// medianOf is the median of unit over a benchmark's runs; ok is false when
// it never ran.
func medianOf(runs []map[string]float64, unit string) (float64, bool) {
	var vs []float64
	for _, r := range runs {
		if v, ok := r[unit]; ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	return stats.Median(vs), true
}

// skips returns benchmark name -> the reason it was skipped.
func skips(path string) map[string]string {
	out := map[string]string{}
	ls := lines(path)
	for i, line := range ls {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "--- SKIP: "); ok && i+1 < len(ls) {
			reason := strings.TrimSpace(ls[i+1])
			if _, r, ok := strings.Cut(reason, ": "); ok {
				reason = r
			}
			out[strings.Fields(name)[0]] = reason
		}
	}
	return out
}

// keyValues reads "prefix k=v k=v" lines (bench/load.sh, bench/footprint).
func keyValues(path, prefix string) []map[string]string {
	var out []map[string]string
	for _, line := range lines(path) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != prefix {
			continue
		}
		kv := map[string]string{}
		for _, p := range f[1:] {
			if k, v, ok := strings.Cut(p, "="); ok {
				kv[k] = v
			}
		}
		out = append(out, kv)
	}
	return out
}

// facts reads "key: value" lines.
func facts(path string) map[string]string {
	out := map[string]string{}
	for _, line := range lines(path) {
		if k, v, ok := strings.Cut(line, ": "); ok {
			out[k] = v
		}
	}
	return out
}

// find returns the first submatches of re in the file, or nil.
func find(path string, re *regexp.Regexp) []string {
	for _, line := range lines(path) {
		if m := re.FindStringSubmatch(line); m != nil {
			return m
		}
	}
	return nil
}

// lines reads a file's lines; a missing file has none (its rows then say
// "no data").
func lines(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func num(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
