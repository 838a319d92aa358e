package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soak-dev/soak/scenarios"
)

func TestTargeterRenders(t *testing.T) {
	t.Parallel()
	data := scenarios.TemplateData{Nodes: map[string]scenarios.NodeAddr{"proxy": {URL: "http://127.0.0.1:9"}}}
	tg, err := newTargeter([]string{"get /a/{{seq}}", "PUT {{.Nodes.proxy.URL}}/b/{{rand 1000}}"}, 3, nil, Env{BaseURL: "http://h:1/", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < 4; i++ {
		m, u, err := tg.next()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m+" "+u)
	}
	if got[0] != "GET http://h:1/a/0" || got[2] != "GET http://h:1/a/2" || !strings.HasPrefix(got[1], "PUT http://127.0.0.1:9/b/") {
		t.Errorf("rendered %q", got)
	}
	// Deterministic: a second targeter renders the same sequence.
	tg2, _ := newTargeter([]string{"get /a/{{seq}}", "PUT {{.Nodes.proxy.URL}}/b/{{rand 1000}}"}, 3, nil, Env{BaseURL: "http://h:1/", Data: data})
	for i := 0; i < 4; i++ {
		m, u, _ := tg2.next()
		if m+" "+u != got[i] {
			t.Errorf("request %d: %q then %q", i, got[i], m+" "+u)
		}
	}
	if string(bodyBytes(3)) != "soa" {
		t.Errorf("body %q", bodyBytes(3))
	}
}

func TestBadTargetsFailBeforeLoad(t *testing.T) {
	t.Parallel()
	data := scenarios.TemplateData{Nodes: map[string]scenarios.NodeAddr{}}
	tests := []struct {
		name, target, base string
	}{
		{"missing key", "GET {{.Nodes.proxy.URL}}/x", "http://127.0.0.1:1"},
		{"no method", "/x", "http://127.0.0.1:1"},
		{"bad template", "GET /{{", "http://127.0.0.1:1"},
		{"no base url", "GET /x", ""},
		{"unknown func", "GET /{{nope}}", "http://127.0.0.1:1"},
	}
	for _, tt := range tests {
		for _, p := range []*scenarios.Phase{
			{Name: "s", Steady: &scenarios.Steady{Requests: scenarios.Requests{Targets: []string{tt.target}}, Rate: rate(10), Duration: scenarios.Duration(time.Second)}},
			{Name: "i", Idle: &scenarios.Idle{Connections: 1, Target: tt.target}},
		} {
			ph, err := New(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ph.Run(context.Background(), Env{Phase: "x", BaseURL: tt.base, Data: data}); err == nil {
				t.Errorf("%s %s: no error", tt.name, p.Kind())
			}
		}
	}
}

func TestH2C(t *testing.T) {
	t.Parallel()
	var h2 atomic.Int64
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		}
	}))
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetHTTP1(true)
	s.Config.Protocols.SetUnencryptedHTTP2(true)
	s.Start()
	defer s.Close()
	p := &scenarios.Phase{Name: "h2", Steady: &scenarios.Steady{Requests: scenarios.Requests{HTTP2: true}, Rate: rate(50), Duration: scenarios.Duration(300 * time.Millisecond)}}
	res := runPhase(t, p, Env{Phase: "h2", BaseURL: s.URL})
	if res.Requests == 0 || h2.Load() != int64(res.Requests) {
		t.Errorf("%d requests, %d over HTTP/2 (errors %v)", res.Requests, h2.Load(), res.Errors)
	}
	// Multiplexed: far fewer connections than requests (two may race at the start).
	if res.ConnsOpened < 1 || res.ConnsOpened > 3 {
		t.Errorf("h2c opened %d connections for %d requests", res.ConnsOpened, res.Requests)
	}
}

// Each run of a phase gets its own seed and its cycle and repeat, so load
// reaches new keys over time; one seed still renders one sequence.
func TestTargeterPerRunSeedAndRepeat(t *testing.T) {
	t.Parallel()
	render := func(seed uint64, cycle, rep int) []string {
		data := scenarios.TemplateData{Cycle: cycle, Repeat: rep}
		tg, err := newTargeter([]string{"GET /c{{.Cycle}}-r{{.Repeat}}/{{rand 1000000}}"}, 0, nil, Env{BaseURL: "http://h:1", Data: data, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for range 5 {
			_, u, err := tg.next()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.TrimPrefix(u, "http://h:1"))
		}
		return out
	}
	first, again, second := render(1, 1, 1), render(1, 1, 1), render(2, 1, 2)
	if strings.Join(first, " ") != strings.Join(again, " ") {
		t.Errorf("seed 1 twice: %v then %v", first, again)
	}
	if !strings.HasPrefix(first[0], "/c1-r1/") || !strings.HasPrefix(second[0], "/c1-r2/") {
		t.Errorf("cycle/repeat not rendered: %v, %v", first, second)
	}
	seen := map[string]bool{}
	for _, u := range first {
		seen[strings.TrimPrefix(u, "/c1-r1/")] = true
	}
	fresh := 0
	for _, u := range second {
		if !seen[strings.TrimPrefix(u, "/c1-r2/")] {
			fresh++
		}
	}
	if fresh < 4 {
		t.Errorf("seed 2 repeats seed 1's rand values: %v vs %v", first, second)
	}
	if got := render(0, 0, 0); !strings.HasPrefix(got[0], "/c0-r0/") || got[1] == "" {
		t.Errorf("seed 0 (DefaultSeed): %v", got)
	}
}
