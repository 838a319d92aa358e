package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/soak-dev/soak/record"
)

// MaxBody caps one answer (an exposition or a query's JSON): soak's
// exporter sends a few hundred KiB for a node with thousands of idle
// connections, since its series are per layer, not per connection.
const MaxBody = 32 << 20

// DefaultTimeout bounds one scrape or one query when the caller's context
// has no earlier deadline.
const DefaultTimeout = 10 * time.Second

// Exporter samples a node from its `soak probe --listen` exporter: one
// scrape per Sample. It has the runner's sampler methods; it is used by
// one goroutine at a time.
type Exporter struct {
	node, url, want string
	client          *http.Client
	maxBody         int64 // MaxBody; tests lower it
}

// NewExporter reads node's samples from the exporter at url (its /metrics).
// want is the exporter's node label to keep when it serves several
// processes; "" keeps the only one, or the one named node.
func NewExporter(node, url, want string) (*Exporter, error) {
	if err := checkURL(url); err != nil {
		return nil, fmt.Errorf("remote node %s: exporter: %w", node, err)
	}
	return &Exporter{node: node, url: url, want: want, maxBody: MaxBody,
		client: &http.Client{Timeout: DefaultTimeout, Transport: &http.Transport{
			ResponseHeaderTimeout: DefaultTimeout, MaxIdleConnsPerHost: 1, DisableCompression: false}}}, nil
}

// Sample scrapes the exporter once. A failed scrape or an answer soak
// cannot read is a sample with only an error ("remote: ..."), like a
// failed probe: data, not a failure of the run.
func (e *Exporter) Sample(ctx context.Context, now time.Time) (record.Sample, []record.Conn) {
	s, err := e.scrape(ctx)
	if err != nil {
		s = record.Sample{Errors: []string{"remote: " + err.Error()}}
	}
	s.Time, s.Node = now, e.node
	return s, nil
}

func (e *Exporter) scrape(ctx context.Context) (record.Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url, nil)
	if err != nil {
		return record.Sample{}, fmt.Errorf("scrape %s: %w", e.url, err)
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := e.client.Do(req)
	if err != nil {
		return record.Sample{}, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	body, err := readCapped(resp.Body, e.maxBody)
	if err != nil {
		return record.Sample{}, fmt.Errorf("scrape %s: %w", e.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return record.Sample{}, fmt.Errorf("scrape %s: status %s: %s", e.url, resp.Status, firstLine(body))
	}
	vec, err := decode(body, expfmt.ResponseFormat(resp.Header))
	if err != nil {
		return record.Sample{}, fmt.Errorf("scrape %s: %w", e.url, err)
	}
	if vec, err = e.pick(vec); err != nil {
		return record.Sample{}, fmt.Errorf("scrape %s: %w", e.url, err)
	}
	return toSample(vec, e.node, SourceExporter)
}

// decode parses an exposition with expfmt into flat series (histograms as
// _bucket, _count and _sum, as Prometheus stores them).
func decode(body []byte, format expfmt.Format) (model.Vector, error) {
	dec := &expfmt.SampleDecoder{Dec: expfmt.NewDecoder(bytes.NewReader(body), format),
		Opts: &expfmt.DecodeOptions{Timestamp: model.Now()}}
	var all model.Vector
	for {
		var v model.Vector
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return all, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parse exposition: %w", err)
		}
		if all = append(all, v...); len(all) > 4*MaxSeries {
			return nil, fmt.Errorf("parse exposition: more than %d series", 4*MaxSeries)
		}
	}
}

// pick keeps the series of one exporter node: want, else the only one,
// else the one named like the scenario's node.
func (e *Exporter) pick(vec model.Vector) (model.Vector, error) {
	nodes := map[string]bool{}
	for _, s := range vec {
		if n, ok := s.Metric["node"]; ok && strings.HasPrefix(string(s.Metric[model.MetricNameLabel]), "soak_") {
			nodes[string(n)] = true
		}
	}
	want := e.want
	switch {
	case want != "":
	case len(nodes) == 0:
		return nil, errors.New("no soak_ series: is this a soak probe --listen exporter?")
	case len(nodes) == 1:
		for n := range nodes {
			want = n
		}
	case nodes[e.node]:
		want = e.node
	default:
		return nil, fmt.Errorf("the exporter serves several nodes (%s): set remote.node to one", strings.Join(slices.Sorted(maps.Keys(nodes)), ", "))
	}
	if !nodes[want] {
		return nil, fmt.Errorf("no series of node %q (the exporter serves %s)", want, strings.Join(slices.Sorted(maps.Keys(nodes)), ", "))
	}
	out := vec[:0]
	for _, s := range vec {
		if string(s.Metric["node"]) == want {
			out = append(out, s)
		}
	}
	return out, nil
}

// Close has nothing to release; an exporter's connections are not known
// one by one (only counted), so there are none to record.
func (e *Exporter) Close() []record.Conn {
	e.client.CloseIdleConnections()
	return nil
}

// Method, FDMethod and EventsMethod name the source for meta.json.
func (e *Exporter) Method() string       { return SourceExporter }
func (e *Exporter) FDMethod() string     { return SourceExporter }
func (e *Exporter) EventsMethod() string { return "none" }

// EventsFallback is empty: a remote node has no kernel event witness, which
// the run says once per node (runner), not as a fallback.
func (e *Exporter) EventsFallback() string { return "" }

// readCapped reads at most max bytes; a longer body is an error.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("answer larger than the cap (%d KiB)", max>>10)
	}
	return b, nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b[:min(len(b), 200)]), "\n")
	return strings.ToValidUTF8(s, "?")
}

// checkURL accepts absolute http(s) URLs with a host.
func checkURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want an http:// or https:// URL", s)
	case u.Host == "":
		return fmt.Errorf("%q: no host", s)
	}
	return nil
}
