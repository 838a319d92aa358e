package checks

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func init() { register(one(reclaim)) }

// DefaultReclaimSlack is added to one sample interval to make the default
// reclaim tolerance: the kernel's idle age is read once per interval, and a
// timer-driven close lands a little after its deadline.
const DefaultReclaimSlack = 500 * time.Millisecond

// DefaultExactReclaimSlack is the default reclaim tolerance when the
// kernel event witness saw the layer: it reads each connection's idle time
// at its close from the socket (to one kernel tick, 4 ms at HZ=250), so
// the tolerance drops the sample interval. It still covers the SUT's timer
// lateness and the gap between the last byte on the wire and the moment
// the SUT's own idle clock starts (a body read or relayed after its last
// byte arrived): 100 ms failed a healthy SUT by 200 ms on a loaded 2-core
// machine. A scenario that wants milliseconds sets tolerance itself.
const DefaultExactReclaimSlack = 500 * time.Millisecond

// witnessSeen is the longest idle gap one witness saw on a layer.
type witnessSeen struct {
	name  string
	maxMs int64
	from  time.Time // when that idle gap began (zero: unknown)
	n     int       // connections or samples that showed the layer
	note  string
}

// reclaim checks that no connection of the layer sat idle longer than its
// idle timeout plus a tolerance. The kernel (netlink idle ages) is the
// primary witness: it sees the SUT's own socket. The fake backend's and the
// load clients' ledgers are cross-checks, and the primary when the kernel
// never saw the layer; a disagreement is reported in Details.
func reclaim(d *runData, c *scenarios.ReclaimCheck) (r record.CheckResult) {
	defer func() { d.addReclaimed(c.Layer, &r) }()
	r = record.CheckResult{Name: "reclaim/" + c.Layer, Kind: "reclaim", Layer: c.Layer, Unit: "s"}
	node := d.layerNode(c.Layer)
	r.Node = node
	limit := c.Within.D()
	if limit == 0 {
		limit = d.layerTimeout(c.Layer)
	}
	events, exact := eventsIdle(d, c.Layer, node)
	// An explicit tolerance is the scenario's own: taken as written, no
	// lateness added. The default covers the timer lateness seen in the run.
	tol := c.Tolerance.D()
	tolNote := ""
	late, lateNote := d.timerLateness(node, limit)
	switch {
	case tol == 0 && exact:
		tol = DefaultExactReclaimSlack + late
		tolNote = fmt.Sprintf(" (default with kernel events: exact idle before close of %d connections, so %s%s, not one interval %s + %s)",
			events.n, DefaultExactReclaimSlack, lateNote, d.interval, DefaultReclaimSlack)
	case tol == 0:
		iv := d.nodeInterval(node)
		tol = iv + DefaultReclaimSlack + late
		tolNote = fmt.Sprintf(" (default: one interval %s + %s%s)", iv, DefaultReclaimSlack, lateNote)
	default:
		tolNote = " (the scenario's tolerance, as written: no timer lateness added)"
	}
	if node == "" || limit == 0 {
		r.Status = record.StatusInconclusive
		r.Message = fmt.Sprintf("%s: layer has no node or idle timeout in the run's meta; check the scenario's layers", c.Layer)
		return r
	}
	r.Limit = (limit + tol).Seconds()
	r.Details = append(r.Details, fmt.Sprintf("limit %s + tolerance %s%s", limit, tol, tolNote))

	var ws []witnessSeen
	if k, ok := kernelIdle(d, c.Layer, node); ok {
		if exact {
			// Polled idle ages cover the connections still open; the
			// events, those that closed. One witness, the exact one.
			if k.maxMs > events.maxMs {
				events.maxMs, events.from = k.maxMs, k.from
			}
			events.note = "idle before close of each closed connection from the kernel's events; open ones from the samples"
		} else {
			ws = append(ws, k)
		}
	}
	if exact {
		ws = append(ws, events)
	}
	peer := d.meta.Layers[c.Layer].Peer
	if peer == "" && d.sc != nil && d.sc.Layers[c.Layer] != nil {
		peer = d.sc.Layers[c.Layer].Peer
	}
	if _, isBackend := d.meta.Backends[peer]; isBackend {
		if b, ok := ledgerIdle(d, record.WitnessBackend, func(cn record.Conn) bool { return cn.Source == peer }); ok {
			ws = append(ws, b)
		}
	}
	if d.isClientLayer(c.Layer) {
		if b, ok := ledgerIdle(d, record.WitnessClient, func(cn record.Conn) bool { return cn.Layer == "" || cn.Layer == c.Layer }); ok {
			ws = append(ws, b)
		}
	}
	if len(ws) == 0 {
		r.Status = record.StatusInconclusive
		r.Message = fmt.Sprintf("%s: no witness saw a connection of the layer on node %s; check the layer rules and that load reaches it", c.Layer, node)
		return r
	}
	// The kernel first when present; ages estimated from /proc sort last.
	sort.SliceStable(ws, func(i, j int) bool { return witnessRank(ws[i]) < witnessRank(ws[j]) })
	primary := ws[0]
	if len(ws) > 1 {
		r.Witnesses = map[string]float64{}
	}
	for _, w := range ws {
		if r.Witnesses != nil {
			r.Witnesses[w.name] = float64(w.maxMs) / 1000
		}
		if w.note != "" {
			r.Details = append(r.Details, w.name+": "+w.note)
		}
	}
	limMs := (limit + tol).Milliseconds()
	for _, w := range ws[1:] {
		if (w.maxMs > limMs) != (primary.maxMs > limMs) {
			r.Details = append(r.Details, fmt.Sprintf("witnesses disagree: %s saw %s idle, %s saw %s (limit %s); the verdict follows %s",
				primary.name, secs(float64(primary.maxMs)), w.name, secs(float64(w.maxMs)), limit+tol, primary.name))
		}
	}
	r.Value = float64(primary.maxMs) / 1000
	r.At = primary.from
	what := "a connection"
	switch {
	case peer != "":
		what = "a connection to " + peer
	case d.meta.Layers[c.Layer].Listen != "":
		what = "a client connection to " + d.meta.Layers[c.Layer].Listen
	}
	if primary.maxMs > limMs {
		r.Status = record.StatusFail
		from := ""
		if !primary.from.IsZero() {
			from = " from " + clock(primary.from)
		}
		r.Message = fmt.Sprintf("%s: %s sat idle %s (limit %s + %s) on node %s%s (seen by %s); the SUT did not reclaim it",
			c.Layer, what, secs(float64(primary.maxMs)), limit, tol, node, from, primary.name)
		return r
	}
	r.Status = record.StatusPass
	if primary.maxMs < limit.Milliseconds() && !d.reclaimedByLayer(c.Layer) {
		// Nothing reached the timeout: a pass, but not evidence of reclaim.
		r.Message = fmt.Sprintf("%s: no connection sat idle as long as the timeout %s (longest %s, seen by %s on node %s): reclaim was not exercised; none was left idle past the limit",
			c.Layer, limit, secs(float64(primary.maxMs)), primary.name, node)
		r.Details = append(r.Details, fmt.Sprintf("reclaim not exercised: the longest idle %s is under the timeout %s and the SUT closed no connection after it idled; a phase that holds connections idle longer than the timeout (idle_hold) tests it",
			secs(float64(primary.maxMs)), limit))
		return r
	}
	r.Message = fmt.Sprintf("%s: longest idle %s (limit %s + %s) on node %s (seen by %s); idle connections were reclaimed in time",
		c.Layer, secs(float64(primary.maxMs)), limit, tol, node, primary.name)
	return r
}

// timerLateness is the timer lateness the run measured (meta.json
// timer_lateness, the max) to add to a default tolerance, and how the
// tolerance note says it. It is measured on soak's machine, so a remote
// node gets none. It is capped at the idle timeout: a connection idle
// twice its timeout plus the slack fails whatever the machine's stalls
// (one stall of seconds must not hide a leak).
func (d *runData) timerLateness(node string, limit time.Duration) (time.Duration, string) {
	switch {
	case d.meta.Nodes[node].Remote != nil:
		return 0, " (timer lateness not added: measured on soak's machine, the node is remote)"
	case d.meta.TimerLateness == nil:
		return 0, " (timer lateness not measured)"
	}
	late := d.meta.TimerLateness.Max()
	if limit > 0 && late > limit {
		return limit, fmt.Sprintf(" + %s timer lateness (seen in this run: %s, capped at the timeout)", limit, late)
	}
	return late, fmt.Sprintf(" + %s timer lateness seen in this run", late)
}

// reclaimedByLayer says whether some witness saw the SUT close a
// connection of the layer after it idled (package reclaimed).
func (d *runData) reclaimedByLayer(layer string) bool {
	if d.reclaim == nil {
		return false
	}
	for _, x := range d.reclaim.Result()[layer] {
		if x.Count > 0 {
			return true
		}
	}
	return false
}

func witnessRank(w witnessSeen) int {
	switch {
	case w.name == record.WitnessKernelEvents:
		return -1
	case w.name == record.WitnessKernel && !strings.Contains(w.note, "estimated"):
		return 0
	case w.name == record.WitnessBackend:
		return 1
	case w.name == record.WitnessClient:
		return 2
	}
	return 3
}

// kernelIdle is the largest kernel idle age of the layer's ESTABLISHED
// sockets over all samples of node.
func kernelIdle(d *runData, layer, node string) (witnessSeen, bool) {
	w := witnessSeen{name: record.WitnessKernel}
	estimated := false
	for _, s := range d.samples[node] {
		if s.Sockets == nil {
			continue
		}
		l := s.Sockets.Layer(layer)
		if l == nil || l.Idle == nil {
			continue
		}
		w.n++
		estimated = estimated || l.Idle.Estimated
		if w.n == 1 || l.Idle.Max > w.maxMs {
			w.maxMs = l.Idle.Max
			w.from = s.Time.Add(-time.Duration(l.Idle.Max) * time.Millisecond)
		}
	}
	if estimated {
		w.note = "idle ages estimated from first-seen times (/proc fallback), not read from the kernel"
	}
	return w, w.n > 0
}

// eventsIdle is the longest exact idle before close the kernel event
// witness recorded for the layer on node; false when it saw none.
func eventsIdle(d *runData, layer, node string) (witnessSeen, bool) {
	e := d.events[eventsKey{node, layer}]
	if e == nil || e.n == 0 {
		return witnessSeen{}, false
	}
	return witnessSeen{name: record.WitnessKernelEvents, maxMs: e.maxMs, n: e.n,
		from: e.closed.Add(-time.Duration(e.maxMs) * time.Millisecond)}, true
}

// ledgerIdle is the longest idle gap in the connections a ledger witness
// recorded that match keep.
func ledgerIdle(d *runData, witness string, keep func(record.Conn) bool) (witnessSeen, bool) {
	w := witnessSeen{name: witness}
	for _, cn := range d.conns {
		if cn.Witness != witness || !keep(cn) {
			continue
		}
		w.n++
		idle := max(cn.MaxIdleMs, cn.IdleBeforeCloseMs)
		if idle <= w.maxMs && w.n > 1 {
			continue
		}
		w.maxMs = idle
		w.from = time.Time{}
		if !cn.Closed.IsZero() && cn.IdleBeforeCloseMs >= cn.MaxIdleMs {
			w.from = cn.Closed.Add(-time.Duration(cn.IdleBeforeCloseMs) * time.Millisecond)
		}
	}
	return w, w.n > 0
}

// isClientLayer says whether the load clients' ledger witnesses layer: the
// layer named "client", or the only layer that has a Listen node and no
// Peer (the one external clients connect to).
func (d *runData) isClientLayer(layer string) bool {
	if layer == "client" {
		return true
	}
	var listenOnly []string
	for name, l := range d.meta.Layers {
		if l.Listen != "" && l.Peer == "" {
			listenOnly = append(listenOnly, name)
		}
	}
	return len(listenOnly) == 1 && listenOnly[0] == layer
}
