package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeBench(t *testing.T, dir, name string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func sample(n, cpu, ss string) string {
	return "BenchmarkSample/sockets=" + n + "-2 10 1 ns/op " + cpu + " cpu-ms/op 1 fds-via-bpf " + ss + " ss-tin-cpu-ms 20 ss-tinp-cpu-ms"
}

// TestProbeRows: the 10k rows judge the 2% target, the growth fit flags a
// curve that is not linear, and a VM result replaces the "not measured"
// 50k row with a measured one.
func TestProbeRows(t *testing.T) {
	dir := t.TempDir()
	writeBench(t, dir, "probes.txt", sample("1000", "2", "12"), sample("5000", "6", "44"),
		sample("10000", "25", "85"), sample("18000", "90", "158"))
	rows, _ := probeRows(dir, "20000", false)
	get := func(prefix string) row {
		for _, r := range rows {
			if strings.HasPrefix(r.what, prefix) {
				return r
			}
		}
		t.Fatalf("no row %q in %+v", prefix, rows)
		return row{}
	}
	if r := get("Probe at 1 Hz"); r.soak != "2.5%" || r.met != "**no**" {
		t.Errorf("1 Hz row: %+v", r)
	}
	if r := get("Probe cost growth, 1,000 to 18,000"); r.met != "**no**" {
		t.Errorf("a convex curve passed as linear: %+v", r)
	}
	if r := get("Probe at 50,000 sockets"); r.met != "n/a" || !strings.Contains(r.note, "fd hard limit 20000") {
		t.Errorf("50k row without a VM: %+v", r)
	}

	writeBench(t, dir, "probes-vm.txt", "# vm accel: tcg (emulated)", "# vm kernel: 6.1.0-56-amd64",
		sample("1000", "14", "160"), sample("10000", "125", "1170"), sample("50000", "700", "6180"))
	rows, tables := probeRows(dir, "20000", true)
	if r := get("Probe cost growth in a VM (qemu tcg, kernel 6.1.0-56-amd64), 1,000 to 50,000"); r.met != "yes" {
		t.Errorf("VM growth: %+v", r)
	}
	if r := get("Probe: one full sample at 50,000 sockets"); r.soak != "700.0" || r.ratio != "0.11x" || r.met != "yes" {
		t.Errorf("VM 50k: %+v", r)
	}
	for _, r := range rows {
		if r.what == "Probe at 50,000 sockets" {
			t.Errorf("the not-measured row stayed: %+v", r)
		}
	}
	if len(tables) != 2 || !strings.Contains(tables[1], "| 50,000 | 700.0 | 14.00 |") {
		t.Errorf("VM table: %q", tables)
	}
}
