// Command table turns the raw outputs of bench/run.sh (bench/out/*.txt)
// into bench/results.md: one row per measurement with soak's figure, the
// reference's, their ratio, the target of issue 11 and whether it is met,
// then why each missed target is missed.
//
//	go run ./bench/table -in bench/out -o bench/results.md
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	in := flag.String("in", "bench/out", "directory of bench/run.sh's raw outputs")
	out := flag.String("o", "bench/results.md", "markdown file to write")
	seconds := flag.String("seconds", "", "print this Go duration in whole seconds and exit (for bench/*.sh)")
	flag.Parse()
	if *seconds != "" {
		d, err := time.ParseDuration(*seconds)
		if err != nil {
			fmt.Fprintln(os.Stderr, "table:", err)
			os.Exit(2)
		}
		fmt.Println(int(d.Seconds()))
		return
	}
	if err := os.WriteFile(*out, []byte(render(*in)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "table:", err)
		os.Exit(1)
	}
}

func render(in string) string {
	fs := facts(filepath.Join(in, "facts.txt"))
	var b strings.Builder
	b.WriteString("# soak benchmarks\n\n")
	b.WriteString("Written by `make bench` (bench/run.sh); what each row means and how to run one part: [docs/bench.md](../docs/bench.md).\n")
	b.WriteString("The machine is shared: figures are medians where a part repeats, and ratios (both sides measured side by side) matter more than absolute values.\n\n")
	for _, k := range []string{"date", "nproc", "cpu", "kernel", "go", "loadavg", "fd hard limit", "parts", "footprint", "wall"} {
		if v, ok := fs[k]; ok {
			label := map[string]string{"loadavg": "load average at start (1, 5, 15 min)", "wall": "wall time of the run", "footprint": "footprint hold"}[k]
			if label == "" {
				label = k
			}
			fmt.Fprintf(&b, "- %s: %s\n", label, v)
		}
	}
	parts := fs["parts"]
	if parts == "" {
		parts = "probes load s3 report idle footprint vm"
	}
	var rows []row
	var probeTables []string
	has := func(p string) bool { return strings.Contains(" "+parts+" ", " "+p+" ") }
	if has("probes") {
		var r []row
		r, probeTables = probeRows(in, fs["fd hard limit"], has("vm"))
		rows = append(rows, r...)
	}
	if has("load") {
		rows = append(rows, loadRows(in)...)
	}
	if has("s3") {
		rows = append(rows, s3Rows(in)...)
	}
	if has("footprint") {
		rows = append(rows, footprintRows(in)...)
	}
	if has("report") {
		rows = append(rows, reportRow(in))
	}
	if has("idle") {
		rows = append(rows, idleRow(in))
	}
	b.WriteString("\n| measurement | soak | reference | ratio | target | met? |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.what, r.soak, r.ref, r.ratio, r.target, r.met)
	}
	var missed []string
	for _, r := range rows {
		if (r.met == "**no**" || r.met == "n/a") && r.note != "" {
			missed = append(missed, fmt.Sprintf("- **%s**: %s (target %s). %s", r.what, val(r), r.target, r.note))
		}
	}
	if len(missed) > 0 {
		b.WriteString("\n## Missed or not measured\n\n" + strings.Join(missed, "\n") + "\n")
	}
	if len(probeTables) > 0 {
		b.WriteString("\n## Probe cost by size\n\n" + strings.Join(probeTables, "\n\n") + "\n")
	}
	return b.String()
}

// val says a row's figure and, when there is one, its ratio.
func val(r row) string {
	if r.ratio != "" {
		return r.soak + " vs " + r.ref + ", " + r.ratio
	}
	return r.soak
}
