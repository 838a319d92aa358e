package series

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Def is a series a probe source adds: one figure per sample, carried in
// record.Sample.Values under Name. The source's file registers it (Register)
// and fills it each tick, so adding a source needs no field in
// record.Sample, no case here and no list in checks or reports: validation
// knows the name, checks read it, reports plot it.
//
// The built-in kinds (goroutines, fds, rss, threads, sockets) are not Defs:
// their samples have structure of their own (classes, types, layers,
// states, idle ages) that samples.jsonl has always carried.
type Def struct {
	// Name is the series name a scenario writes: lower-case dotted parts
	// (a-z, 0-9, '-', '_'), e.g. "ctxswitch.voluntary". Its first part is
	// its Kind and must not be a built-in kind.
	Name string
	// Unit of its values, e.g. "switches", "bytes".
	Unit string
	// Help says what it counts, in one line (docs, soak probe).
	Help string
}

// registered are the registered series, in registration order: a compact
// Sample's Values are indexed alike.
var registered []Def

var defName = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$`)

// Register adds a series a probe source produces and returns it; called
// from the source's file, at init. A malformed or taken name is a
// programming error and panics.
func Register(d Def) Def {
	kind, _, _ := strings.Cut(d.Name, ".")
	switch {
	case !defName.MatchString(d.Name):
		panic(fmt.Sprintf("series: %q is not a series name (lower-case dotted parts)", d.Name))
	case slices.Contains(Kinds, Kind(kind)) || kind == "cpu":
		panic(fmt.Sprintf("series: %q is in the built-in kind %s", d.Name, kind))
	case d.Unit == "":
		panic(fmt.Sprintf("series: %q has no unit", d.Name))
	case slices.ContainsFunc(registered, func(o Def) bool { return o.Metric() == d.Metric() }):
		panic(fmt.Sprintf("series: %q registered twice, or another name has its metric %s", d.Name, d.Metric()))
	}
	registered = append(registered, d)
	return d
}

// Metric is the series' Prometheus metric as soak probe --listen exports
// it (a gauge labelled node and pid): soak_ and the name with '.' and '-'
// as '_', e.g. soak_ctxswitch_voluntary.
func (d Def) Metric() string { return "soak_" + metricName.Replace(d.Name) }

var metricName = strings.NewReplacer(".", "_", "-", "_")

// ByMetric returns the registered series exported as metric (Metric).
func ByMetric(metric string) (d Def, ok bool) {
	i := slices.IndexFunc(registered, func(d Def) bool { return d.Metric() == metric })
	if i < 0 {
		return Def{}, false
	}
	return registered[i], true
}

// Def returns the registered series n names; ok is false for a built-in kind.
func (n Name) Def() (d Def, ok bool) {
	if n.reg > 0 {
		return registered[n.reg-1], true
	}
	return Def{}, false
}

// Registered returns the series probe sources registered, in order.
func Registered() []Def { return slices.Clone(registered) }

// lookup returns the index of the registered series named name, or -1.
func lookup(name string) int {
	return slices.IndexFunc(registered, func(d Def) bool { return d.Name == name })
}

// parseRegistered parses a name whose kind is not built in: a registered
// series, or an error suggesting the closest registered name.
func parseRegistered(n Name, parts []string) (Name, error) {
	if i := lookup(n.Text); i >= 0 {
		n.reg = i + 1
		return n, nil
	}
	var same, all []string // registered names of n's kind; every name
	for _, d := range registered {
		all = append(all, d.Name)
		if k, _, _ := strings.Cut(d.Name, "."); k == parts[0] {
			same = append(same, d.Name)
		}
	}
	if len(same) > 0 {
		return n, unknown(n.Text, fmt.Sprintf("unknown %s series (%s)", parts[0], strings.Join(same, ", ")), closest(n.Text, same, ""))
	}
	why := fmt.Sprintf("not a series (%s)", grammar())
	if parts[0] == "cpu" {
		why = "soak records CPU time, which only grows, not a level to judge; use rss or threads"
	}
	kinds := make([]string, 0, len(Kinds))
	for _, k := range Kinds {
		kinds = append(kinds, string(k))
	}
	if sugg := closest(parts[0], kinds, ""); sugg != "" {
		return n, unknown(n.Text, why, sugg+tail(parts[1:]))
	}
	return n, unknown(n.Text, why, closest(n.Text, all, ""))
}

// grammar is Grammar and the registered series, for messages.
func grammar() string {
	if len(registered) == 0 {
		return Grammar
	}
	names := make([]string, len(registered))
	for i, d := range registered {
		names[i] = d.Name
	}
	return Grammar + ", " + strings.Join(names, ", ")
}
