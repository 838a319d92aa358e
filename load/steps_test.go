package load

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soak-dev/soak/scenarios"
)

// The request phase sends one templated request with a JSON body (a setup
// step through an admin API) and fails the step on an unexpected status.
func TestRequestPhase(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+r.Header.Get("X-Token")+" "+string(b))
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/exists") {
			http.Error(w, "bucket exists", http.StatusConflict)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	data := scenarios.TemplateData{Vars: map[string]string{"tok": "t1"}, Cycle: 2, Repeat: 3}
	for _, tc := range []struct {
		name    string
		spec    scenarios.Request
		wantErr string
		want    string
	}{
		{name: "json body", spec: scenarios.Request{Target: "PUT /admin/buckets/c{{.Cycle}}-r{{.Repeat}}",
			Headers: map[string]string{"X-Token": "{{.Vars.tok}}"}, Body: `{"name": "data", "cycle": {{.Cycle}}}`},
			want: `PUT /admin/buckets/c2-r3 application/json t1 {"name": "data", "cycle": 2}`},
		{name: "unexpected status", spec: scenarios.Request{Target: "POST /admin/exists", Body: "x"},
			wantErr: "POST " + srv.URL + "/admin/exists answered 409 (want 2xx): bucket exists"},
		{name: "expected status", spec: scenarios.Request{Target: "POST /admin/exists", ExpectStatus: []int{409}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ph, err := New(&scenarios.Phase{Name: "setup", Request: &tc.spec})
			if err != nil {
				t.Fatal(err)
			}
			res, err := ph.Run(context.Background(), Env{Phase: "setup", BaseURL: srv.URL, Data: data, RunDir: dir})
			if tc.wantErr != "" {
				if !errors.Is(err, ErrStepFailed) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrStepFailed with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != 1 || res.Success != 1 {
				t.Errorf("result: %d requests, success %g; want 1, 1", res.Requests, res.Success)
			}
			if _, err := os.Stat(filepath.Join(dir, "load", "setup.json")); err != nil {
				t.Errorf("no result file: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.want != "" && (len(got) == 0 || got[len(got)-1] != tc.want) {
				t.Errorf("server saw %q, want %q", got, tc.want)
			}
		})
	}
}

// The exec phase runs a command to its end (relative to the scenario's
// folder), logs its output and fails the step on a non-zero exit or its timeout.
func TestExecPhase(t *testing.T) {
	t.Parallel()
	scen := t.TempDir()
	if err := os.WriteFile(filepath.Join(scen, "mkbucket"), []byte("#!/bin/sh\necho \"made $1 in cycle $CYCLE\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := scenarios.TemplateData{ScenarioDir: scen, Cycle: 4}
	for _, tc := range []struct {
		name    string
		spec    scenarios.Exec
		wantErr string
		wantLog string
	}{
		{name: "ok", spec: scenarios.Exec{Command: []string{"./mkbucket", "data"}, Env: map[string]string{"CYCLE": "{{.Cycle}}"}},
			wantLog: "made data in cycle 4"},
		{name: "exit 3", spec: scenarios.Exec{Command: []string{"sh", "-c", "echo no such bucket >&2; exit 3"}},
			wantErr: "exit status 3; its output: no such bucket"},
		{name: "timeout", spec: scenarios.Exec{Command: []string{"sh", "-c", "sleep 30 & sleep 30"}, Timeout: scenarios.Duration(300 * time.Millisecond)},
			wantErr: "killed after its timeout 300ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ph, err := New(&scenarios.Phase{Name: "step", Exec: &tc.spec})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = ph.Run(context.Background(), Env{Phase: "step", Data: data, RunDir: dir})
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("step took %v", took)
			}
			if tc.wantErr != "" {
				if !errors.Is(err, ErrStepFailed) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrStepFailed with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "load", "step.log")); strings.TrimSpace(string(b)) != tc.wantLog {
				t.Errorf("log = %q, want %q", b, tc.wantLog)
			}
		})
	}
}
