package checks

import (
	"fmt"
	"sort"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func init() { register(one(closeWait)) }

// closeWait checks that no socket (of the layer, or of any layer on any
// node) stayed in CLOSE_WAIT longer than MaxAge: the peer closed, the SUT
// never did, the classic unclosed response body.
func closeWait(d *runData, c *scenarios.CloseWaitCheck) record.CheckResult {
	name := "close_wait"
	if c.Layer != "" {
		name += "/" + c.Layer
	}
	r := record.CheckResult{Name: name, Kind: "close_wait", Layer: c.Layer, Unit: "s"}
	maxAge := c.MaxAge.D()
	if maxAge == 0 {
		maxAge = d.layerTimeout(c.Layer) + CloseWaitSlack
	}
	r.Limit = maxAge.Seconds()
	nodes := d.nodes()
	if c.Layer != "" {
		n := d.layerNode(c.Layer)
		if n == "" {
			r.Status = record.StatusInconclusive
			r.Message = fmt.Sprintf("%s: layer not found in the run's meta; check the scenario's layers", c.Layer)
			return r
		}
		nodes = []string{n}
		if why := d.layerUnseen(c.Layer); why != "" {
			r.Status, r.Message = record.StatusInconclusive, why
			return r
		}
	}
	seen, sawSocket := 0, false
	var worst int64 = -1
	for _, n := range nodes {
		for _, s := range d.samples[n] {
			if s.Sockets == nil {
				continue
			}
			seen++
			layers := make([]string, 0, len(s.Sockets.Layers))
			for _, l := range s.Sockets.Layers {
				if c.Layer == "" || l.Name == c.Layer {
					layers = append(layers, l.Name)
				}
			}
			sort.Strings(layers)
			for _, ln := range layers {
				sawSocket = sawSocket || layerTotal(s.Sockets.Layer(ln)) > 0
				if age := s.Sockets.Layer(ln).CloseWaitMaxAgeMs; age > worst {
					worst = age
					r.Node, r.Layer, r.At = n, ln, s.Time.Add(-time.Duration(age)*time.Millisecond)
				}
			}
		}
	}
	where := c.Layer
	if where == "" {
		where = "all layers"
	}
	if seen == 0 {
		r.Status = record.StatusInconclusive
		r.Message = fmt.Sprintf("%s: no socket samples; the socket probe did not run", where)
		return r
	}
	if !sawSocket {
		r.Status = record.StatusInconclusive
		r.Message = fmt.Sprintf("%s: no socket of any layer was seen in %d socket dumps, so nothing was judged; check the layer rules and that load reaches them", where, seen)
		return r
	}
	worst = max(worst, 0)
	r.Value = float64(worst) / 1000
	if worst > maxAge.Milliseconds() {
		r.Status = record.StatusFail
		r.Message = fmt.Sprintf("%s: a socket sat in CLOSE_WAIT %s (limit %s) on node %s from %s; the peer closed but the SUT never closed its side (an unclosed response body or a forgotten connection)",
			r.Layer, secs(float64(worst)), maxAge, r.Node, clock(r.At))
		return r
	}
	r.Status = record.StatusPass
	if worst == 0 {
		r.At = time.Time{}
	}
	r.Message = fmt.Sprintf("%s: longest CLOSE_WAIT %s (limit %s)", where, secs(float64(worst)), maxAge)
	return r
}
