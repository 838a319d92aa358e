package remote

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

const goodExposition = `# TYPE soak_sockets gauge
soak_sockets{layer="client",node="proxy",pid="42",side="server",state="ESTABLISHED"} 3
soak_sockets{layer="client",node="proxy",pid="42",side="unknown",state="ESTABLISHED"} 1
soak_sockets{layer="client",node="proxy",pid="42",side="",state="CLOSE_WAIT"} 2
# TYPE soak_socket_idle_max_seconds gauge
soak_socket_idle_max_seconds{layer="client",node="proxy",pid="42"} 7.5
# TYPE soak_scrape_probe_success gauge
soak_scrape_probe_success{node="proxy",probe="fds"} 0
soak_scrape_probe_success{node="proxy",probe="sockets"} 1
`

// serve answers every request with status, content type text/plain and body.
func serve(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
		if !strings.HasSuffix(body, "\n") {
			fmt.Fprintln(w)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

func TestExporterAnswers(t *testing.T) {
	t.Parallel()
	const max = 1 << 20 // the cap, lowered from MaxBody to keep the test short
	huge := strings.Repeat("# padding line of a comment that soak must not keep in memory\n", max/60+10)
	for _, tc := range []struct {
		name, body string
		status     int
		want       string // in the sample's only error; "" for a good sample
	}{
		{"good", goodExposition, 200, ""},
		{"no sockets", `soak_scrape_probe_success{node="proxy",probe="sockets"} 1`, 200, ""},
		{"NaN count", `soak_sockets{layer="a",node="n",state="ESTABLISHED",side="server"} NaN`, 200, "is not a count"},
		{"negative count", `soak_fds{node="n",type="socket"} -3`, 200, "is not a count"},
		{"fractional count", `soak_goroutines{node="n",class="other"} 2.5`, 200, "is not a count"},
		{"huge count", `soak_process_threads{node="n"} 1e300`, 200, "is not a count"},
		{"infinite age", `soak_socket_close_wait_max_age_seconds{node="n",layer="a"} +Inf`, 200, "not a duration"},
		{"no layer", `soak_sockets_idle{node="n"} 1`, 200, "no layer label"},
		{"foreign bucket", `soak_socket_idle_age_seconds_bucket{node="n",layer="a",le="0.3"} 1`, 200, "not one of soak's idle-age buckets"},
		{"garbage", "soak_sockets{{{ 1\n", 200, "parse exposition"},
		{"not an exporter", "go_goroutines 5\n", 200, "no soak_ series"},
		{"two nodes", `soak_fds_limit{node="a"} 1` + "\n" + `soak_fds_limit{node="b"} 1` + "\n", 200, "several nodes (a, b): set remote.node"},
		{"server error", "boom", 500, "status 500"},
		{"too large", huge, 200, "larger than the cap (1024 KiB)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := NewExporter("proxy", serve(t, tc.status, tc.body), "")
			if err != nil {
				t.Fatal(err)
			}
			e.maxBody = max
			defer e.Close()
			s, _ := e.Sample(context.Background(), time.Now())
			if tc.name == "no sockets" {
				if len(s.Errors) != 0 || s.Sockets == nil || len(s.Sockets.Layers) != 0 {
					t.Errorf("sample %+v: want sockets with no layer", s)
				}
				return
			}
			if tc.want == "" {
				l := s.Sockets.Layers["client"]
				if len(s.Errors) != 1 || !strings.HasPrefix(s.Errors[0], "fds: ") || s.PID != 42 ||
					l.ByState["ESTABLISHED"] != 4 || l.Sides["server"] != 3 || l.ByState["CLOSE_WAIT"] != 2 || l.Idle.Max != 7500 {
					t.Errorf("sample %+v, layer %+v", s, l)
				}
				return
			}
			if len(s.Errors) != 1 || !strings.Contains(s.Errors[0], tc.want) || !strings.HasPrefix(s.Errors[0], "remote: ") {
				t.Errorf("errors %q, want one remote: error with %q", s.Errors, tc.want)
			}
			if s.Sockets != nil || s.FDs != nil || s.Goroutines != nil || s.Process != nil || s.Node != "proxy" {
				t.Errorf("a rejected answer left data: %+v", s)
			}
		})
	}
}

// TestExporterHangs: an exporter that accepts and never answers costs
// one tick's deadline, not the run.
func TestExporterHangs(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	e, err := NewExporter("proxy", srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	s, _ := e.Sample(ctx, time.Now())
	if len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "deadline exceeded") {
		t.Errorf("errors %q, want a deadline", s.Errors)
	}
}

// promServer answers query and query_range with the given JSON bodies.
func promServer(t *testing.T, query, queryRange string, hang <-chan struct{}) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hang != nil {
			<-hang
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/query":
			fmt.Fprint(w, query)
		case "/api/v1/query_range":
			fmt.Fprint(w, queryRange)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

const oneProcess = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"a:9469","node":"proxy","layer":"client","state":"ESTABLISHED","side":"server"},"value":[1700000000,"3"]}]}}`

func matrix(series ...string) string {
	return `{"status":"success","data":{"resultType":"matrix","result":[` + strings.Join(series, ",") + `]}}`
}

const (
	estab = `{"metric":{"__name__":"soak_sockets","instance":"a:9469","node":"proxy","pid":"7","layer":"client","state":"ESTABLISHED","side":"server"},"values":[[1700000000,"3"],[1700000001,"4"]]}`
	gor   = `{"metric":{"__name__":"soak_goroutines","instance":"a:9469","node":"proxy","pid":"7","class":"server-conn"},"values":[[1700000000,"10"],[1700000001,"12"]]}`
	other = `{"metric":{"__name__":"soak_goroutines","instance":"b:9469","node":"target","pid":"8","class":"server-conn"},"values":[[1700000000,"1"]]}`
	nan   = `{"metric":{"__name__":"soak_fds","instance":"a:9469","node":"proxy","type":"socket"},"values":[[1700000002,"NaN"]]}`
)

func TestPrometheusAnswers(t *testing.T) {
	t.Parallel()
	start := time.Unix(1700000000, 0)
	end := start.Add(2 * time.Second)
	const max = 1 << 20 // the cap, lowered from MaxBody to keep the test short
	huge := matrix(strings.Repeat(estab+",", max/len(estab)+1) + estab)
	for _, tc := range []struct {
		name, check, rng string
		wantCheck        string // in Check's error
		wantRead         string // in Read's error
		samples          int
	}{
		{name: "good", check: oneProcess, rng: matrix(estab, gor, nan), samples: 3},
		{name: "empty", check: `{"status":"success","data":{"resultType":"vector","result":[]}}`, rng: matrix(), wantCheck: "selects no soak_ series"},
		{name: "two processes", check: strings.Replace(oneProcess, `]}}`, `,{"metric":{"instance":"b:9469","node":"target"},"value":[1700000000,"1"]}]}}`, 1),
			rng: matrix(estab, other), wantCheck: "selects 2 processes", wantRead: "selects more than one process"},
		{name: "labels of some series", check: strings.Replace(oneProcess, `]}}`, `,{"metric":{"instance":"a:9469","node":"proxy","witness":"kernel-events"},"value":[1700000000,"1"]}]}}`, 1),
			rng: matrix(estab, gor, nan), samples: 3},
		{name: "bad selector", check: `{"status":"error","errorType":"bad_data","error":"1:2: parse error: unexpected character"}`, wantCheck: "parse error"},
		{name: "malformed json", check: `{"status":"succ`, rng: `[[[`, wantCheck: "query", wantRead: "query_range"},
		{name: "not a matrix", check: oneProcess, rng: oneProcess, wantRead: "not a matrix"},
		{name: "too large", check: oneProcess, rng: huge, wantRead: "larger than the cap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := NewPrometheus("proxy", promServer(t, tc.check, tc.rng, nil), `{instance="a:9469"}`, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			p.cap.max = max
			defer p.Close()
			err = p.Check(context.Background(), time.Minute)
			if (err != nil) != (tc.wantCheck != "") || err != nil && !strings.Contains(err.Error(), tc.wantCheck) {
				t.Errorf("Check: %v, want %q", err, tc.wantCheck)
			}
			if tc.rng == "" {
				return
			}
			var got []record.Sample
			n, err := p.Tail(start).ReadTo(context.Background(), end, func(s record.Sample) { got = append(got, s) })
			if (err != nil) != (tc.wantRead != "") || err != nil && !strings.Contains(err.Error(), tc.wantRead) {
				t.Errorf("Read: %v, want %q", err, tc.wantRead)
			}
			if tc.samples == 0 {
				return
			}
			if n != tc.samples || len(got) != n {
				t.Fatalf("read %d samples (%d emitted), want %d", n, len(got), tc.samples)
			}
			// Time order; the third step's NaN is an error, not a zero.
			if !got[0].Time.Equal(start) || got[0].Sockets.Layers["client"].ByState["ESTABLISHED"] != 3 || got[0].Goroutines.Total != 10 || got[0].PID != 7 {
				t.Errorf("first sample %+v", got[0])
			}
			if got[1].Sockets.Layers["client"].Sides["server"] != 4 || got[1].Goroutines.ByClass["server-conn"] != 12 || got[1].Sockets.Method != SourcePrometheus {
				t.Errorf("second sample %+v", got[1])
			}
			if len(got[2].Errors) != 1 || !strings.Contains(got[2].Errors[0], "is not a count") || got[2].FDs != nil {
				t.Errorf("third sample %+v: want the NaN named", got[2])
			}
		})
	}
}

// TestPrometheusHangs: a Prometheus that never answers ends Check and
// Read at the caller's deadline.
func TestPrometheusHangs(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	url := promServer(t, "", "", hang)
	defer close(hang)
	p, err := NewPrometheus("proxy", url, `{instance="a"}`, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := p.Check(ctx, time.Minute); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("Check: %v, want a deadline", err)
	}
	if _, err := p.Tail(time.Now().Add(-time.Minute)).ReadTo(ctx, time.Now(), func(record.Sample) {}); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("Read: %v, want a deadline", err)
	}
}

// TestChunks: a window longer than MaxStepsPerQuery steps is read in
// chunks that cover it without overlap.
func TestChunks(t *testing.T) {
	t.Parallel()
	var ranges []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ranges = append(ranges, r.Form.Get("start")+"-"+r.Form.Get("end"))
		fmt.Fprint(w, matrix())
	}))
	defer srv.Close()
	p, err := NewPrometheus("proxy", srv.URL, `{instance="a"}`, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	start := time.Unix(1700000000, 0)
	if _, err := p.Tail(start).ReadTo(context.Background(), start.Add(2500*time.Second), func(record.Sample) {}); err != nil {
		t.Fatal(err)
	}
	want := []string{"1700000000-1700000999", "1700001000-1700001999", "1700002000-1700002500"}
	if strings.Join(ranges, " ") != strings.Join(want, " ") {
		t.Errorf("ranges %v, want %v", ranges, want)
	}
}

// TestScrapeInterval: the median gap of the raw scrapes, whatever one
// late scrape did; too few scrapes is unknown (0), not a guess.
func TestScrapeInterval(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		want time.Duration
	}{
		{matrix(`{"metric":{"__name__":"soak_scrape_duration_seconds","instance":"a"},"values":[[1700000000,"0.01"],[1700000002,"0.01"],[1700000004,"0.01"],[1700000009,"0.01"],[1700000011,"0.01"]]}`), 2 * time.Second},
		{matrix(`{"metric":{"__name__":"soak_scrape_duration_seconds","instance":"a"},"values":[[1700000000,"0.01"],[1700000002,"0.01"]]}`), 0},
	} {
		p, err := NewPrometheus("proxy", promServer(t, tc.body, "", nil), `{instance="a"}`, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.ScrapeInterval(context.Background())
		p.Close()
		if err != nil || got != tc.want {
			t.Errorf("ScrapeInterval = %v, %v; want %v", got, err, tc.want)
		}
	}
}
