package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/soak-dev/soak/record"
)

// MaxStepsPerQuery bounds the steps of one query_range: Prometheus refuses
// more than 11,000 points per series, and at a few hundred series per node
// 1,000 steps keep one answer to a few MiB (under MaxBody).
const MaxStepsPerQuery = 1000

// QueryTimeout bounds one query_range.
const QueryTimeout = 30 * time.Second

// Prometheus reads a node's samples from a Prometheus server that scrapes
// the node's `soak probe --listen` exporter: query_range at the given
// step, window after window while the run goes on (Tail), each in chunks
// of MaxStepsPerQuery.
type Prometheus struct {
	node, url, match string
	step             time.Duration
	api              v1.API
	client           *http.Client
	cap              *capped
}

// NewPrometheus reads node's samples from the Prometheus at url; match is
// a selector in braces, e.g. {instance="10.0.0.2:9469"}, that picks the
// node's series; step is the query resolution (the scrape interval).
func NewPrometheus(node, url, match string, step time.Duration) (*Prometheus, error) {
	if err := checkURL(url); err != nil {
		return nil, fmt.Errorf("remote node %s: prometheus: %w", node, err)
	}
	if err := CheckMatch(match); err != nil {
		return nil, fmt.Errorf("remote node %s: match: %w", node, err)
	}
	// Prometheus evaluates a range query at whole milliseconds.
	if step.Truncate(time.Millisecond) <= 0 {
		return nil, fmt.Errorf("remote node %s: step %s is under a millisecond", node, step)
	}
	step = step.Truncate(time.Millisecond)
	cp := &capped{rt: &http.Transport{ResponseHeaderTimeout: QueryTimeout, MaxIdleConnsPerHost: 1}, max: MaxBody}
	client := &http.Client{Transport: cp}
	c, err := api.NewClient(api.Config{Address: url, Client: client})
	if err != nil {
		return nil, fmt.Errorf("remote node %s: prometheus: %w", node, err)
	}
	return &Prometheus{node: node, url: url, match: match, step: step, api: v1.NewAPI(c), client: client, cap: cp}, nil
}

// CheckMatch accepts a selector of label matchers in braces. Prometheus
// parses it (and says what is wrong) at the run's start, in Check.
func CheckMatch(match string) error {
	m := strings.TrimSpace(match)
	if len(m) < 2 || m[0] != '{' || m[len(m)-1] != '}' || strings.TrimSpace(m[1:len(m)-1]) == "" {
		return fmt.Errorf("%q: want label matchers in braces, e.g. {instance=\"10.0.0.2:9469\"}", match)
	}
	if strings.ContainsAny(m[1:len(m)-1], "{}") {
		return fmt.Errorf("%q: want one selector in braces, without a metric name", match)
	}
	return nil
}

// URL and Match name the source, for messages.
func (p *Prometheus) URL() string   { return p.url }
func (p *Prometheus) Match() string { return p.match }

// Step is the query resolution.
func (p *Prometheus) Step() time.Duration { return p.step }

// query is the selector of every soak_ series of the node.
func (p *Prometheus) query() string {
	m := strings.TrimSpace(p.match)
	return `{__name__=~"soak_.+",` + m[1:]
}

// Check asks Prometheus, over the last lookback, whether match selects the
// series of exactly one soak exporter process: at the run's start, so a
// wrong URL or selector fails the run before any load.
func (p *Prometheus) Check(ctx context.Context, lookback time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	q := fmt.Sprintf("last_over_time(%s[%s])", p.query(), model.Duration(lookback))
	v, _, _, err := p.api.Query(ctx, q, time.Now(), v1.WithTimeout(QueryTimeout))
	if err != nil {
		return fmt.Errorf("remote node %s: prometheus %s: query %s: %w", p.node, p.url, q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return fmt.Errorf("remote node %s: prometheus %s: query %s: a %s, not a vector", p.node, p.url, q, v.Type())
	}
	if len(vec) == 0 {
		return fmt.Errorf("remote node %s: prometheus %s: %s selects no soak_ series in the last %s: is the node's soak probe --listen scraped, and does match name its target?",
			p.node, p.url, p.match, lookback)
	}
	ms := make([]model.Metric, len(vec))
	for i, s := range vec {
		ms[i] = s.Metric
	}
	if ids := processes(ms); len(ids) > 1 {
		return fmt.Errorf("remote node %s: prometheus %s: %s selects %d processes (%s): narrow it to one",
			p.node, p.url, p.match, len(ids), strings.Join(slices.Sorted(maps.Keys(ids)), ", "))
	}
	return nil
}

// ScrapeInterval measures how often Prometheus scrapes the node's
// exporter: the median gap between the raw samples of
// soak_scrape_duration_seconds over the last 2 minutes (0 when there are
// fewer than 3). A query step finer than it repeats samples; a coarser
// one skips some.
func (p *Prometheus) ScrapeInterval(ctx context.Context) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	m := strings.TrimSpace(p.match)
	q := "soak_scrape_duration_seconds" + m + "[2m]"
	v, _, _, err := p.api.Query(ctx, q, time.Now(), v1.WithTimeout(QueryTimeout))
	if err != nil {
		return 0, fmt.Errorf("remote node %s: prometheus %s: query %s: %w", p.node, p.url, q, err)
	}
	mat, ok := v.(model.Matrix)
	if !ok {
		return 0, fmt.Errorf("remote node %s: prometheus %s: query %s: a %s, not a matrix", p.node, p.url, q, v.Type())
	}
	var longest []model.SamplePair
	for _, ss := range mat {
		if len(ss.Values) > len(longest) {
			longest = ss.Values
		}
	}
	if len(longest) < 3 {
		return 0, nil
	}
	gaps := make([]time.Duration, 0, len(longest)-1)
	for i := 1; i < len(longest); i++ {
		gaps = append(gaps, longest[i].Timestamp.Time().Sub(longest[i-1].Timestamp.Time()))
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2], nil
}

// processes tells the processes apart among a node's series: by the
// labels every series carries (the scrape target's: instance, job, and
// node from the exporter, and whatever relabelling adds), not by those
// only some series carry (layer, state, class, witness...), nor by pid (a
// restarted server is the same node).
func processes(ms []model.Metric) map[string]bool {
	common := map[model.LabelName]int{}
	for _, m := range ms {
		for l := range m {
			common[l]++
		}
	}
	ids := map[string]bool{}
	for _, m := range ms {
		id := model.Metric{}
		for l, v := range m {
			if common[l] == len(ms) && l != model.MetricNameLabel && l != "pid" {
				id[l] = v
			}
		}
		ids[id.String()] = true
	}
	return ids
}

// readChunk reads the steps from..to (both on the step's grid) in one
// query_range and emits their samples in time order, or none on error.
// An answer's timestamp outside the window was not asked for: it is
// dropped, so that windows next to each other never give a step twice.
func (p *Prometheus) readChunk(ctx context.Context, from, to time.Time, emit func(record.Sample)) error {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	v, _, _, err := p.api.QueryRange(ctx, p.query(), v1.Range{Start: from, End: to, Step: p.step}, v1.WithTimeout(QueryTimeout))
	if err != nil {
		return fmt.Errorf("query_range: %w", err)
	}
	mat, ok := v.(model.Matrix)
	if !ok {
		return fmt.Errorf("query_range: a %s, not a matrix", v.Type())
	}
	if len(mat) > MaxSeries {
		return fmt.Errorf("query_range: %d series, more than %d", len(mat), MaxSeries)
	}
	ms := make([]model.Metric, len(mat))
	for i, ss := range mat {
		ms[i] = ss.Metric
	}
	if ids := processes(ms); len(ids) > 1 {
		return fmt.Errorf("match %s selects more than one process (%s): narrow it to one", p.match, strings.Join(slices.Sorted(maps.Keys(ids)), ", "))
	}
	lo, hi := model.TimeFromUnixNano(from.UnixNano()), model.TimeFromUnixNano(to.UnixNano())
	byTime := map[model.Time]model.Vector{}
	for _, ss := range mat {
		for _, sp := range ss.Values {
			if sp.Timestamp < lo || sp.Timestamp > hi {
				continue
			}
			byTime[sp.Timestamp] = append(byTime[sp.Timestamp], &model.Sample{Metric: ss.Metric, Value: sp.Value, Timestamp: sp.Timestamp})
		}
	}
	times := make([]model.Time, 0, len(byTime))
	for t := range byTime {
		times = append(times, t)
	}
	slices.Sort(times)
	for _, t := range times {
		s, err := toSample(byTime[t], p.node, SourcePrometheus)
		if err != nil {
			s = record.Sample{Node: p.node, Errors: []string{"remote: " + err.Error()}}
		}
		s.Time = t.Time()
		emit(s)
	}
	return nil
}

// Close releases idle connections.
func (p *Prometheus) Close() { p.client.CloseIdleConnections() }

// capped is a RoundTripper whose response bodies fail past MaxBody: the
// client library reads a whole answer into memory.
type capped struct {
	rt  http.RoundTripper
	max int64 // MaxBody; tests lower it
}

func (c *capped) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &capReader{rc: resp.Body, left: c.max, max: c.max}
	return resp, nil
}

type capReader struct {
	rc        io.ReadCloser
	left, max int64
}

var errTooLarge = errors.New("answer larger than the cap")

func (r *capReader) Read(b []byte) (int, error) {
	if r.left <= 0 {
		// At the cap: the body may end here (EOF) or go on (too large).
		var one [1]byte
		for {
			n, err := r.rc.Read(one[:])
			if n > 0 {
				return 0, fmt.Errorf("%w (%d KiB)", errTooLarge, r.max>>10)
			}
			if err != nil {
				return 0, err
			}
		}
	}
	if int64(len(b)) > r.left {
		b = b[:r.left]
	}
	n, err := r.rc.Read(b)
	r.left -= int64(n)
	return n, err
}

func (r *capReader) Close() error { return r.rc.Close() }
