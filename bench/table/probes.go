package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// probeCost is one size of BenchmarkSample (and BenchmarkGopsutil), medians
// in CPU ms.
type probeCost struct{ soak, ss, ssp, gops float64 }

// probeSizes reads BenchmarkSample's sizes from a go test output: sorted
// sizes, cost by size, and the by-size table's lines (skipped sizes too).
func probeSizes(path string) ([]int, map[int]probeCost, []string) {
	runs, sk := benchRuns(path), skips(path)
	var sizes []int
	for name := range runs {
		if n, ok := strings.CutPrefix(name, "BenchmarkSample/sockets="); ok {
			v, _ := strconv.Atoi(n)
			sizes = append(sizes, v)
		}
	}
	sort.Ints(sizes)
	by := map[int]probeCost{}
	table := []string{"| SUT sockets | soak cpu-ms/sample | µs per socket | `ss -tin` cpu-ms | `ss -tinp` cpu-ms | gopsutil cpu-ms | soak / ss -tin | soak / gopsutil |", "|---|---|---|---|---|---|---|---|"}
	for _, n := range sizes {
		s := fmt.Sprintf("sockets=%d", n)
		var c probeCost
		c.soak, _ = medianOf(runs["BenchmarkSample/"+s], "cpu-ms/op")
		c.ss, _ = medianOf(runs["BenchmarkSample/"+s], "ss-tin-cpu-ms")
		c.ssp, _ = medianOf(runs["BenchmarkSample/"+s], "ss-tinp-cpu-ms")
		gops := "—"
		if g, ok := medianOf(runs["BenchmarkGopsutil/"+s], "cpu-ms/op"); ok {
			c.gops, gops = g, f1(g)
		}
		by[n] = c
		vsG := "—"
		if c.gops > 0 {
			vsG = x(c.soak / c.gops)
		}
		table = append(table, fmt.Sprintf("| %s | %.1f | %.2f | %.1f | %.1f | %s | %s | %s |", comma(n), c.soak, c.soak*1000/float64(n), c.ss, c.ssp, gops, x(c.soak/c.ss), vsG))
	}
	for name, why := range sk {
		if n, ok := strings.CutPrefix(name, "BenchmarkSample/sockets="); ok {
			v, _ := strconv.Atoi(n)
			table = append(table, fmt.Sprintf("| %s | skipped: %s | | | | | | |", comma(v), why))
		}
	}
	return sizes, by, table
}

// growthRow fits cost = a + b·N over the sizes, for soak and `ss -tin`.
func growthRow(what string, sizes []int, by map[int]probeCost, note string) row {
	var xs, ys, yss []float64
	for _, n := range sizes {
		xs, ys, yss = append(xs, float64(n)), append(ys, by[n].soak), append(yss, by[n].ss)
	}
	slope, r2 := linfit(xs, ys)
	sslope, _ := linfit(xs, yss)
	return row{what: fmt.Sprintf("%s, %s to %s sockets (µs per SUT socket, least squares)", what, comma(sizes[0]), comma(sizes[len(sizes)-1])),
		soak: fmt.Sprintf("%.1f (R² %.3f)", slope*1000, r2), ref: fmt.Sprintf("%.1f (`ss -tin`)", sslope*1000), ratio: x(slope / sslope),
		target: "linear (R² ≥ 0.98)", met: yes(r2 >= 0.98), note: note}
}

// perSocket lists µs per socket by size, for notes.
func perSocket(sizes []int, by map[int]probeCost) string {
	var parts []string
	for _, n := range sizes {
		parts = append(parts, fmt.Sprintf("%s: %.2f", comma(n), by[n].soak*1000/float64(n)))
	}
	return strings.Join(parts, ", ")
}

// probeRows: issue 5's cost targets and issue 11 item 1, from
// BenchmarkSample and BenchmarkGopsutil on this machine (probes.txt) and,
// past this machine's fd limit, in a VM (probes-vm.txt, bench/vm/run.sh).
// It also returns the by-size tables.
func probeRows(in, fdLimit string, vm bool) ([]row, []string) {
	sizes, by, table := probeSizes(filepath.Join(in, "probes.txt"))
	if len(sizes) == 0 {
		return []row{noData("Probe: one full sample vs `ss -tin`", "probes.txt")}, nil
	}
	tables := []string{"CPU time of one full sample of a process holding N established loopback sockets (the namespace holds 2N: both ends), medians; `ss` and gopsutil list the same sockets.\n\n" + strings.Join(table, "\n")}
	var rows []row
	if c, ok := by[10000]; ok {
		r := c.soak / c.ss
		rows = append(rows,
			row{what: "Probe: one full sample at 10,000 sockets vs `ss -tin` (CPU ms)", soak: f1(c.soak), ref: f1(c.ss), ratio: x(r), target: "≤ 1.0x", met: yes(r <= 1),
				note: fmt.Sprintf("%.0f%% over `ss -tin`. The sample also maps every socket to the SUT's fds (what `ss -tinp` does, at %.1fx the cost of `ss -tin`) and counts fds by type.", (r-1)*100, c.ssp/c.ss)},
			row{what: "Probe: one full sample at 10,000 sockets vs gopsutil `net.ConnectionsPid` (CPU ms)", soak: f1(c.soak), ref: f1(c.gops), ratio: x(c.soak / c.gops), target: "—", met: "—"},
			row{what: "Probe at 1 Hz with 10,000 sockets (% of one core)", soak: fmt.Sprintf("%.1f%%", c.soak/10), ref: fmt.Sprintf("%.1f%% (`ss -tin`)", c.ss/10), target: "< 2%", met: yes(c.soak/10 < 2),
				note: fmt.Sprintf("%.1fx over. A 10k sample is mostly kernel work: the sock_diag dump filling tcp_info for the SUT's sockets (about 60%%) and the BPF iterator over its fds; check that the fds were listed by BPF (fds-via-bpf in probes.txt: /proc/PID/fd costs twice as much).", c.soak/10/2)},
		)
	} else {
		rows = append(rows, noData("Probe: one full sample at 10,000 sockets vs `ss -tin`", "probes.txt"))
	}
	if len(sizes) >= 3 {
		rows = append(rows, growthRow("Probe cost growth", sizes, by,
			"µs per socket by size: "+perSocket(sizes, by)+". The cost per socket steps up past about 10,000 sockets on this machine, in the kernel's dump, the BPF fd read and the Go side alike, while `ss -tin` (mostly its own printing) grows evenly: consistent with the SUT's socket structures outgrowing the 2 MiB per-core L2 cache. The VM row fits 1,000 to 50,000."))
	}

	var vmRows []row
	vmPath := filepath.Join(in, "probes-vm.txt")
	vsizes, vby, vtable := probeSizes(vmPath)
	if vm && len(vsizes) > 0 {
		vf := facts(vmPath)
		accel := strings.Fields(vf["# vm accel"] + " ?")[0]
		where := fmt.Sprintf("in a VM (qemu %s, kernel %s)", accel, vf["# vm kernel"])
		if len(vsizes) >= 3 {
			vmRows = append(vmRows, growthRow("Probe cost growth "+where, vsizes, vby,
				"µs per socket by size: "+perSocket(vsizes, vby)+"."))
		}
		if c, ok := vby[50000]; ok {
			note := ""
			if accel == "tcg" {
				note = "Under TCG (qemu's emulator) a sample costs several times its native figure, and `ss -tin` more so (each run is a new process whose code is translated again): compare the growth, not this ratio, with the host's."
			}
			vmRows = append(vmRows, row{what: "Probe: one full sample at 50,000 sockets vs `ss -tin`, " + where + " (CPU ms)", soak: f1(c.soak), ref: f1(c.ss),
				ratio: x(c.soak / c.ss), target: "≤ 1.0x", met: yes(c.soak/c.ss <= 1), note: note})
		}
		tables = append(tables, "The same benchmark "+where+", where the fd limit allows 50,000 sockets (bench/vm/run.sh; bench/out/probes-vm.txt). "+
			"Absolute figures are not native: compare sizes within this table.\n\n"+strings.Join(vtable, "\n"))
	}
	if _, ok := vby[50000]; ok && vm {
		return append(rows, vmRows...), tables
	}
	// Without -v go test does not print skips: a missing 50k size is the fd
	// limit's doing (BenchmarkSample needs 51,500 descriptors for it).
	why := "fd hard limit " + fdLimit + " (50,000 sockets need 51,500 descriptors; raising the hard limit needs CAP_SYS_RESOURCE), and no VM result (make bench-vm)"
	est := ""
	if len(sizes) >= 2 {
		var xs, ys []float64
		for _, n := range sizes {
			xs, ys = append(xs, float64(n)), append(ys, by[n].soak)
		}
		slope, _ := linfit(xs, ys)
		icpt := (sum(ys) - slope*sum(xs)) / float64(len(xs))
		est = fmt.Sprintf("; linear extrapolation: %.0f cpu-ms", icpt+slope*50000)
	}
	rows = append(rows, vmRows...)
	return append(rows, row{what: "Probe at 50,000 sockets", soak: "not measured", target: "≤ 1.0x `ss -tin`", met: "n/a",
		note: fmt.Sprintf("Skipped: %s. The largest size measured is %s%s.", why, comma(sizes[len(sizes)-1]), est)}), tables
}
