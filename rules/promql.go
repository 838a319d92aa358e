package rules

import (
	"fmt"
	"strings"

	"github.com/soak-dev/soak/series"
)

// Recording rules: sums over labels a series does not distinguish, so
// that deriv() and min_over_time() read a plain series (a range over an
// aggregation would need a subquery, evaluated anew at every step).
// Names follow Prometheus' level:metric:operations convention.
const (
	recGoroutines   = "node_pid:soak_goroutines:sum"          // over classes
	recFDs          = "node_pid:soak_fds:sum"                 // over types
	recSockets      = "node_pid_layer_state:soak_sockets:sum" // over sides
	recSocketsAll   = "node_pid_state:soak_sockets:sum"       // over layers and sides
	recSocketsIdleA = "node_pid:soak_sockets_idle:sum"        // over layers
)

var recordExprs = map[string]string{
	recGoroutines:   "sum by (node, pid) (soak_goroutines)",
	recFDs:          "sum by (node, pid) (soak_fds)",
	recSockets:      "sum by (node, pid, layer, state) (soak_sockets)",
	recSocketsAll:   "sum by (node, pid, state) (soak_sockets)",
	recSocketsIdleA: "sum by (node, pid) (soak_sockets_idle)",
}

// seriesExpr is the instant vector of a series (package series' grammar)
// over the exporter's metrics, one element per node and pid (and layer
// for a layer's sockets), restricted to node when given. It adds the
// recording rules it reads to g.
func (g *gen) seriesExpr(name, node string) (string, error) {
	n, err := series.Parse(name)
	if err != nil {
		return "", err
	}
	var m matchers
	m.add("node", node)
	use := func(metric string) string {
		if e, ok := recordExprs[metric]; ok {
			g.record(metric, e)
		}
		return metric + m.String()
	}
	switch n.Kind {
	case series.Goroutines:
		if n.Class == "" {
			return use(recGoroutines), nil
		}
		m.add("class", n.Class)
		return use("soak_goroutines"), nil
	case series.FDs:
		if n.FDType == "" {
			return use(recFDs), nil
		}
		m.add("type", n.FDType)
		return use("soak_fds"), nil
	case series.RSS:
		return use("soak_process_resident_memory_bytes"), nil
	case series.Threads:
		return use("soak_process_threads"), nil
	case series.Sockets:
		all := n.Layer == series.AllLayers
		if !all {
			m.add("layer", n.Layer)
		}
		switch {
		case n.Detail == series.Idle && all:
			return use(recSocketsIdleA), nil
		case n.Detail == series.Idle:
			return use("soak_sockets_idle"), nil
		}
		state := n.Detail
		if state == "" {
			state = series.Established
		}
		m.add("state", state)
		if all {
			return use(recSocketsAll), nil
		}
		return use(recSockets), nil
	}
	if d, ok := n.Def(); ok {
		return use(d.Metric()), nil // a probe source's series: one gauge per node and pid
	}
	return "", fmt.Errorf("series %q: no exporter metric", name)
}

// matchers is a PromQL label matcher list, in the order added.
type matchers []string

func (m *matchers) add(label, value string) {
	if value != "" {
		*m = append(*m, label+"="+quote(value))
	}
}

func (m matchers) String() string {
	if len(m) == 0 {
		return ""
	}
	return "{" + strings.Join(m, ", ") + "}"
}
