package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/remote"
	"github.com/soak-dev/soak/scenarios"
)

// promLookback is how far back, at the run's start, Prometheus must hold a
// series of a remote node for the run to go on.
const promLookback = 5 * time.Minute

// maxPromSettle bounds how far behind now a read of Prometheus stops
// (and, at the end, the wait for the scrape that covers the run's last
// moment): long enough for a scrape and its ingestion, which is one scrape
// interval, but a coarse step must not hold a run's end for minutes.
const maxPromSettle = 15 * time.Second

// promReadTimeout bounds one read of a node from Prometheus, however many
// chunks (each bounded by remote.QueryTimeout) it takes to catch up.
const promReadTimeout = 5 * time.Minute

// promReadEvery is how often a node is read from Prometheus when its
// read_every is not set: every 4 steps, so that a query_range, which costs
// Prometheus about the same for 1 step as for 4 (it selects the node's few
// hundred series either way), brings several; at least 15 s apart, a
// dashboard's refresh, which no Prometheus notices (a day's soak is 5,760
// queries a node); at most 2 minutes, so live figures and abort_on_fail
// lag a failure by little more than that even at a coarse step.
func promReadEvery(step time.Duration) time.Duration {
	return min(max(4*step, 15*time.Second), 2*time.Minute)
}

// promNode is a remote node read from Prometheus as the run goes on: its
// sampler reads the steps that came since the last read, every read_every
// and settle behind now; readRemote reads the rest when the run ends.
type promNode struct {
	p      *remote.Prometheus
	tail   *remote.Tail
	from   time.Time
	settle time.Duration
	ns     *nodeSampler
	// failing is the error of the last read, until one succeeds (only the
	// sampler's goroutine, then readRemote once it stopped, touch it).
	failing error
}

func remoteMeta(rm *scenarios.Remote, interval time.Duration) *record.RemoteMeta {
	if rm.Prometheus != "" {
		step := rm.Step.D()
		if step == 0 {
			step = interval
		}
		return &record.RemoteMeta{Source: remote.SourcePrometheus, URL: rm.Prometheus, Match: rm.Match, StepMs: step.Milliseconds()}
	}
	return &record.RemoteMeta{Source: remote.SourceExporter, URL: rm.Exporter, StepMs: interval.Milliseconds()}
}

// startRemote starts a remote node's sampling: an exporter is scraped
// every interval like a local node is probed; Prometheus is asked now
// whether it holds the node's series (so a wrong URL or selector fails
// before the load), then read every read_every while the run goes on, its
// samples taking the same path as a probe's (nodeSampler.keep), and once
// more when the run ends (readRemote).
func (r *run) startRemote(ctx context.Context, name string, rm *scenarios.Remote) error {
	meta := remoteMeta(rm, r.sc.Interval.D())
	for _, probe := range []string{"sockets", "fds", "events"} {
		r.meta.ProbeMethods[probe+"/"+name] = "remote-" + meta.Source
	}
	if rm.Exporter != "" {
		e, err := remote.NewExporter(name, rm.Exporter, rm.Node)
		if err != nil {
			return err
		}
		r.warn(fmt.Sprintf("node %s is remote: samples scraped from its exporter %s every %s; no kernel event witness and no per-connection lines (conns.jsonl) for it",
			name, rm.Exporter, r.sc.Interval.D()))
		r.samplers[name] = startSampler(name, e, r.sc.Interval.D(), r.w, r.warn, r.observe)
		return r.writeMeta()
	}
	p, err := remote.NewPrometheus(name, rm.Prometheus, rm.Match, time.Duration(meta.StepMs)*time.Millisecond)
	if err != nil {
		return err
	}
	if err := p.Check(ctx, promLookback); err != nil {
		return err
	}
	// The samples are only as fine as the scrapes: say so when the step
	// does not match how often Prometheus scrapes the node.
	si, err := p.ScrapeInterval(ctx)
	if err != nil {
		r.warn(err.Error())
	} else if si > 0 {
		r.setRemoteMeta(name, func(rm *record.RemoteMeta) { rm.ScrapeIntervalMs = si.Milliseconds() })
		if step := p.Step(); step < si*3/4 || step > si*5/4 {
			r.warn(fmt.Sprintf("node %s: Prometheus scrapes it every %s but the query step is %s: samples %s; set remote.step to %s",
				name, si.Round(time.Millisecond), step, map[bool]string{true: "repeat", false: "skip scrapes"}[step < si], si.Round(time.Millisecond)))
		}
	}
	every := rm.ReadEvery.D()
	if every <= 0 {
		every = promReadEvery(p.Step())
	}
	// A step is read once its scrape landed: one scrape interval after it.
	settle := min(max(p.Step(), si), maxPromSettle)
	r.warn(fmt.Sprintf("node %s is remote: samples read from Prometheus %s (%s) at a %s step every %s, up to %s before the read (for the scrape to land), and once more when the run ends; no kernel event witness or per-connection lines (conns.jsonl) for it",
		name, rm.Prometheus, rm.Match, p.Step(), every, settle))
	from := time.Now()
	pn := &promNode{p: p, tail: p.Tail(from), from: from, settle: settle}
	pn.ns = newNodeSampler(name, every, r.w, r.warn, r.observe)
	pn.ns.finalTake = false // readRemote reads the end once its scrape landed
	pn.ns.take = func(stop context.Context) bool {
		ctx, cancel := context.WithTimeout(stop, promReadTimeout)
		defer cancel()
		_, err := pn.tail.ReadTo(ctx, time.Now().Add(-pn.settle), pn.keep)
		if stop.Err() == nil { // else cut short by Final: the last read asks again
			r.promRead(name, pn, err)
		}
		return false
	}
	pn.ns.close = func() []record.Conn { return nil }
	r.prom[name] = pn
	r.samplers[name] = pn.ns
	go pn.ns.loop()
	return r.writeMeta()
}

// keep records one sample read from Prometheus as every sample is: the
// run directory, the progress line, abort_on_fail.
func (pn *promNode) keep(s record.Sample) { pn.ns.keep(s, nil) }

// setRemoteMeta updates node's remote meta, written with the next meta.json.
func (r *run) setRemoteMeta(node string, f func(*record.RemoteMeta)) {
	r.metaM.Lock()
	defer r.metaM.Unlock()
	if nm := r.meta.Nodes[node]; nm.Remote != nil {
		rm := *nm.Remote
		f(&rm)
		nm.Remote = &rm
		r.meta.Nodes[node] = nm
	}
}

// promRead records how a read during the run went: meta.json's count, and
// a failure (warned once until a read succeeds). A failed read loses
// nothing yet: the next asks again for the same steps, and the last one,
// when the run ends, decides whether the samples are lost (readRemote).
func (r *run) promRead(name string, pn *promNode, err error) {
	r.setRemoteMeta(name, func(rm *record.RemoteMeta) {
		rm.Samples = pn.tail.Samples()
		rm.Error = ""
		if err != nil {
			rm.Error = err.Error()
		}
	})
	switch {
	case err != nil && pn.failing == nil:
		r.warn(fmt.Sprintf("%v; asked again every %s and when the run ends (samples still missing then are lost data)", err, pn.ns.interval))
	case err == nil && pn.failing != nil:
		fmt.Fprintf(r.log, "soak: node %s: Prometheus answers again; the steps the failed reads missed are read (%d samples so far)\n", name, pn.tail.Samples())
	}
	pn.failing = err
}

// readRemote reads, once the scrape that covers the run's end has landed,
// the steps of the nodes read from Prometheus that their samplers (stopped
// by now) did not: up to the run's end, and any a failed read left. A node
// whose samples could not all be read is data the run failed to keep
// (exit 3, lost.go), never a pass on part of them.
func (r *run) readRemote() {
	if len(r.prom) == 0 {
		return
	}
	end := time.Now()
	var settle time.Duration
	for _, pn := range r.prom {
		settle = max(settle, pn.settle)
	}
	// Prometheus appends what it scrapes at once: one scrape interval
	// (capped, above) is enough.
	time.Sleep(settle)
	for _, name := range r.sc.NodeNames() {
		pn := r.prom[name]
		if pn == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), promReadTimeout)
		_, err := pn.tail.ReadTo(ctx, end, pn.keep)
		cancel()
		pn.p.Close()
		n := pn.tail.Samples()
		r.setRemoteMeta(name, func(rm *record.RemoteMeta) {
			rm.Samples, rm.Error = n, ""
			if err != nil {
				rm.Error = err.Error()
			}
		})
		switch {
		case err != nil:
			r.lose(fmt.Sprintf("samples of remote node %s (%d read)", name, n), err)
		case n == 0:
			r.lose("samples of remote node "+name, fmt.Errorf("prometheus %s gave no sample of %s between %s and %s",
				pn.p.URL(), pn.p.Match(), pn.from.Format(time.TimeOnly), end.Format(time.TimeOnly)))
		default:
			fmt.Fprintf(r.log, "soak: node %s: %d samples read from Prometheus at a %s step\n", name, n, pn.p.Step())
		}
	}
}
