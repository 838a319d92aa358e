package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func init() { register(func(s *scenarios.Request) *requestPhase { return &requestPhase{spec: s} }) }

// ErrStepFailed marks a setup step (request, exec) that did not succeed:
// the run cannot go on as the scenario means it to.
var ErrStepFailed = errors.New("step failed")

// maxStepOutput bounds what a failed step's error quotes of its response
// or output.
const maxStepOutput = 512

var _ Phase = (*requestPhase)(nil)

// requestPhase sends one request and checks its status: a setup step.
type requestPhase struct{ spec *scenarios.Request }

// Run implements Phase.
func (p *requestPhase) Run(ctx context.Context, env Env) (record.PhaseResult, error) {
	res := newResult(env, p.spec.Kind(), time.Now())
	req, err := p.build(ctx, env)
	if err != nil {
		return res, errors.Join(fmt.Errorf("%w: %v", ErrStepFailed, err), finishResult(env, &res, nil))
	}
	timeout := p.spec.Planned()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// No keep-alive: a setup step leaves no idle connection on the SUT.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: timeout}
	start := time.Now()
	resp, err := client.Do(req.WithContext(ctx))
	res.Requests = 1
	if env.Stats != nil {
		env.Stats.Requests.Add(1)
	}
	if err != nil {
		countErr(env, &res, errKind(err.Error()))
		return res, errors.Join(fmt.Errorf("%w: %s %s: %v", ErrStepFailed, req.Method, req.URL, err), finishResult(env, &res, nil))
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxStepOutput))
	resp.Body.Close()
	ms := float64(time.Since(start).Microseconds()) / 1000
	res.LatencyP50, res.LatencyP90, res.LatencyP99, res.LatencyMax = ms, ms, ms, ms
	res.StatusCodes[fmt.Sprint(resp.StatusCode)]++
	if !p.spec.Succeeded(resp.StatusCode) {
		countErr(env, &res, "status")
		want := "2xx"
		if len(p.spec.ExpectStatus) > 0 {
			want = fmt.Sprint(p.spec.ExpectStatus)
		}
		return res, errors.Join(fmt.Errorf("%w: %s %s answered %d (want %s): %s", ErrStepFailed, req.Method, req.URL, resp.StatusCode, want,
			strings.TrimSpace(string(body))), finishResult(env, &res, nil))
	}
	res.Success = 1
	return res, finishResult(env, &res, nil)
}

// build renders the request: target, headers and body.
func (p *requestPhase) build(ctx context.Context, env Env) (*http.Request, error) {
	tg, err := newTargeter([]string{p.spec.Target}, 0, nil, env)
	if err != nil {
		return nil, err
	}
	method, url, err := tg.next()
	if err != nil {
		return nil, err
	}
	body, err := scenarios.Render(env.Phase+".body", p.spec.Body, env.Data, nil)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range p.spec.Headers {
		val, err := scenarios.Render(env.Phase+".headers."+k, v, env.Data, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set(k, val)
	}
	if t := strings.TrimSpace(body); req.Header.Get("Content-Type") == "" && (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}
