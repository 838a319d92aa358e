// Package promtest is a fake Prometheus HTTP API on loopback for tests:
// it serves one node's soak_goroutines series from a script, evaluated
// at the steps of each query_range as Prometheus evaluates them, and
// records every window asked, so tests can show that reads of a node
// ask for each step once. Only tests import it.
package promtest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Match selects the served series' process (node "far").
const Match = `{instance="far:9469"}`

// Window is one query_range asked.
type Window struct {
	Start, End time.Time
	Step       time.Duration
	// Failed: answered with an error (FailRange).
	Failed bool
	// Steps are the timestamps answered.
	Steps []time.Time
}

// Server is the fake. Set its fields before the first request.
type Server struct {
	URL string
	// Goroutines is the node's goroutine count at t; ok false: no scrape
	// holds t yet (Prometheus gives no point there). Default: 10 for any
	// t up to now.
	Goroutines func(t time.Time) (v float64, ok bool)
	// FailRange says whether the nth query_range (from 1) fails, as a
	// Prometheus that is down or overloaded does: status 503.
	FailRange func(n int) bool

	mu      sync.Mutex
	windows []Window
}

// New starts the fake on 127.0.0.1; it is closed when t ends.
func New(t testing.TB) *Server {
	s := &Server{}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Windows returns the query_range windows asked so far, in order.
func (s *Server) Windows() []Window {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Window(nil), s.windows...)
}

// Ranges is how many query_range requests were made.
func (s *Server) Ranges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.windows)
}

var metric = map[string]string{"__name__": "soak_goroutines", "instance": "far:9469", "job": "soak", "node": "far", "class": "other"}

type sampleJSON struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value,omitempty"`
	Values [][]any           `json:"values,omitempty"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch r.URL.Path {
	case "/api/v1/query":
		if strings.HasPrefix(r.Form.Get("query"), "soak_scrape_duration_seconds") {
			// The scrape interval: unknown (no raw samples), as on a
			// Prometheus that scrapes the node for the first minute.
			answer(w, "matrix", []sampleJSON{})
			return
		}
		v, _ := s.value(time.Now())
		answer(w, "vector", []sampleJSON{{Metric: metric, Value: []any{float64(time.Now().UnixMilli()) / 1000, fmtValue(v)}}})
	case "/api/v1/query_range":
		start, err1 := parseTime(r.Form.Get("start"))
		end, err2 := parseTime(r.Form.Get("end"))
		step, err3 := parseStep(r.Form.Get("step"))
		if err1 != nil || err2 != nil || err3 != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"start %v, end %v, step %v"}`, err1, err2, err3)
			return
		}
		s.mu.Lock()
		n := len(s.windows) + 1
		win := Window{Start: start, End: end, Step: step, Failed: s.FailRange != nil && s.FailRange(n)}
		if win.Failed {
			s.windows = append(s.windows, win)
			s.mu.Unlock()
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"status":"error","errorType":"unavailable","error":"promtest: this query fails"}`)
			return
		}
		// Prometheus evaluates at start, start+step, ... up to end.
		var values [][]any
		for t := start; !t.After(end); t = t.Add(step) {
			if v, ok := s.value(t); ok {
				values = append(values, []any{float64(t.UnixMilli()) / 1000, fmtValue(v)})
				win.Steps = append(win.Steps, t)
			}
		}
		s.windows = append(s.windows, win)
		s.mu.Unlock()
		series := []sampleJSON{}
		if len(values) > 0 {
			series = append(series, sampleJSON{Metric: metric, Values: values})
		}
		answer(w, "matrix", series)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) value(t time.Time) (float64, bool) {
	if s.Goroutines != nil {
		return s.Goroutines(t)
	}
	return 10, !t.After(time.Now())
}

func answer(w http.ResponseWriter, kind string, result []sampleJSON) {
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": kind, "result": result}})
}

func fmtValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// parseTime reads a time as Prometheus does: seconds since the epoch,
// rounded to the millisecond.
func parseTime(s string) (time.Time, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, err
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)), nil
}

// parseStep reads a step as Prometheus does: float seconds, to the millisecond.
func parseStep(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("bad step %q", s)
	}
	return time.Duration(math.Round(f*1000)) * time.Millisecond, nil
}
