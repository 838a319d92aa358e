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

// maxPromSettle bounds the wait, at the end, for the scrape that covers
// the run's last moment to reach Prometheus.
const maxPromSettle = 15 * time.Second

// promNode is a remote node read from Prometheus when the run ends.
type promNode struct {
	p    *remote.Prometheus
	from time.Time
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
// before the load) and read when the run ends.
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
	if si, err := p.ScrapeInterval(ctx); err != nil {
		r.warn(err.Error())
	} else if si > 0 {
		r.metaM.Lock()
		if nm := r.meta.Nodes[name]; nm.Remote != nil {
			rm := *nm.Remote
			rm.ScrapeIntervalMs = si.Milliseconds()
			nm.Remote = &rm
			r.meta.Nodes[name] = nm
		}
		r.metaM.Unlock()
		if step := p.Step(); step < si*3/4 || step > si*5/4 {
			r.warn(fmt.Sprintf("node %s: Prometheus scrapes it every %s but the query step is %s: samples %s; set remote.step to %s",
				name, si.Round(time.Millisecond), step, map[bool]string{true: "repeat", false: "skip scrapes"}[step < si], si.Round(time.Millisecond)))
		}
	}
	r.warn(fmt.Sprintf("node %s is remote: samples read from Prometheus %s (%s) at a %s step when the run ends; no live figures, kernel event witness or per-connection lines (conns.jsonl) for it",
		name, rm.Prometheus, rm.Match, p.Step()))
	r.prom[name] = &promNode{p: p, from: time.Now()}
	return r.writeMeta()
}

// readRemote writes the samples of the nodes read from Prometheus, over
// the window from their start to now. A node whose samples could not be
// read is data the run failed to keep (exit 3, lost.go), never a pass on
// nothing.
func (r *run) readRemote() {
	if len(r.prom) == 0 {
		return
	}
	end := time.Now()
	var settle time.Duration
	for _, pn := range r.prom {
		settle = max(settle, pn.p.Step())
	}
	// Let the scrape that covers the end land; Prometheus appends what it
	// scrapes at once, so one step is enough.
	time.Sleep(min(settle, maxPromSettle))
	for _, name := range r.sc.NodeNames() {
		pn := r.prom[name]
		if pn == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		n, err := pn.p.Read(ctx, pn.from, end, func(s record.Sample) error { return r.w.Sample(s) })
		cancel()
		pn.p.Close()
		r.metaM.Lock()
		nm := r.meta.Nodes[name]
		if nm.Remote != nil {
			rm := *nm.Remote
			rm.Samples = n
			if err != nil {
				rm.Error = err.Error()
			}
			nm.Remote = &rm
			r.meta.Nodes[name] = nm
		}
		r.metaM.Unlock()
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
