package fakebackend

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// putObject stores body under /f/key with a plain unsigned PUT.
func putObject(t *testing.T, hc *http.Client, url, key string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url+"/faults/"+key, bytes.NewReader(body))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("put %s: status %d", key, resp.StatusCode)
	}
}

// get fetches /f/key and returns status, body and the error of reading it.
func get(hc *http.Client, url, key string) (int, []byte, error) {
	resp, err := hc.Get(url + "/faults/" + key)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func TestFaultErrorsSeenBySDK(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code     int
		wantCode string
	}{
		{0, "SlowDown"},
		{503, "SlowDown"},
		{500, "InternalError"},
	} {
		b, _ := startBackend(t, &scenarios.Backend{Kind: "s3", Buckets: []string{"faults"}})
		b.SetFaults(&scenarios.Faults{ErrorRate: 1, ErrorCode: tc.code})
		tr := &http.Transport{}
		c := newS3Client(b.URL(), tr, DefaultAccessKey, DefaultSecretKey)
		_, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("faults"), Key: aws.String("k")})
		if got := apiCode(err); got != tc.wantCode {
			t.Errorf("error_code %d: SDK saw %q (%v), want %q", tc.code, got, err, tc.wantCode)
		}
		if b.Live().Errors != 1 {
			t.Errorf("error_code %d: live errors = %d, want 1", tc.code, b.Live().Errors)
		}
		tr.CloseIdleConnections()
	}
}

func TestFaultsSeenByClient(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte("0123456789"), 200) // 2000 bytes
	for _, tc := range []struct {
		name   string
		faults scenarios.Faults
		// check gets the result of one GET of the object and its duration.
		check func(t *testing.T, status int, got []byte, err error, took time.Duration)
		// wantClosedBy is the closer of at least one ledger line, if set.
		wantClosedBy string
	}{
		{"latency", scenarios.Faults{Latency: scenarios.Duration(300 * time.Millisecond), LatencyJitter: scenarios.Duration(50 * time.Millisecond)},
			func(t *testing.T, status int, got []byte, err error, took time.Duration) {
				if err != nil || status != 200 || !bytes.Equal(got, body) || took < 300*time.Millisecond {
					t.Errorf("status %d err %v took %v, want 200 after >= 300ms", status, err, took)
				}
			}, ""},
		{"reset mid-response", scenarios.Faults{ResetRate: 1},
			func(t *testing.T, status int, got []byte, err error, took time.Duration) {
				if err == nil || len(got) >= len(body) {
					t.Errorf("status %d, %d bytes, err %v: want a broken body", status, len(got), err)
				}
			}, record.ClosedByFault},
		{"stall", scenarios.Faults{StallRate: 1},
			func(t *testing.T, status int, got []byte, err error, took time.Duration) {
				if !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
					t.Errorf("status %d, %d bytes, err %v: want the client's timeout", status, len(got), err)
				}
				if status != 200 || len(got) != len(body)/2 {
					t.Errorf("stalled response: status %d with %d bytes, want 200 with %d", status, len(got), len(body)/2)
				}
			}, record.ClosedByClient},
		{"slow body", scenarios.Faults{SlowBody: 4000},
			func(t *testing.T, status int, got []byte, err error, took time.Duration) {
				if err != nil || !bytes.Equal(got, body) || took < 400*time.Millisecond {
					t.Errorf("status %d err %v took %v: want the whole body after >= 400ms at 4000 B/s", status, err, took)
				}
			}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, sink := startBackend(t, &scenarios.Backend{Kind: "s3", Buckets: []string{"faults"}})
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr, Timeout: 2 * time.Second}
			putObject(t, hc, b.URL(), "obj", body)
			b.SetFaults(&tc.faults)
			start := time.Now()
			status, got, err := get(hc, b.URL(), "obj")
			tc.check(t, status, got, err, time.Since(start))
			if tc.wantClosedBy != "" {
				lines := sink.waitLines(t, 1, 3*time.Second)
				found := false
				for _, l := range lines {
					found = found || l.ClosedBy == tc.wantClosedBy
				}
				if !found {
					t.Errorf("ledger %+v: no connection closed by %s", lines, tc.wantClosedBy)
				}
			}
		})
	}
}

// TestFaultRefuseWindow and TestFaultCloseIdleAfter jump the injected
// clock past the fault's window instead of sleeping through 400 ms of wall
// clock, which a loaded machine could overrun.
func TestFaultRefuseWindow(t *testing.T) {
	t.Parallel()
	b, sink, clk := startBackendClock(t, &scenarios.Backend{Kind: "s3"})
	b.SetFaults(&scenarios.Faults{RefuseFor: scenarios.Duration(time.Hour)})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	if _, _, err := get(hc, b.URL(), "x"); err == nil {
		t.Errorf("request during the refuse window succeeded")
	}
	clk.advance(2 * time.Hour)
	if status, _, err := get(hc, b.URL(), "x"); err != nil || status != http.StatusNotFound {
		t.Errorf("after the window: status %d err %v, want 404 NoSuchBucket", status, err)
	}
	if lines := sink.waitLines(t, 1, 10*time.Second); lines[0].ClosedBy != record.ClosedByFault {
		t.Errorf("refused connection ledger = %+v, want closed by fault", lines)
	}
}

func TestFaultCloseIdleAfter(t *testing.T) {
	t.Parallel()
	b, sink, clk := startBackendClock(t, &scenarios.Backend{Kind: "s3", IdleTimeout: scenarios.Duration(48 * time.Hour)})
	b.SetFaults(&scenarios.Faults{CloseIdleAfter: scenarios.Duration(time.Hour)})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var reused []bool
	for i := range 2 {
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, b.URL()+"/", nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if i == 0 {
			// Idle for two hours by the backend's clock: the reaper closes it.
			waitIdle(t, b, 1)
			clk.advance(2 * time.Hour)
			sink.waitLines(t, 1, 10*time.Second)
		}
	}
	// The transport may first try the dead connection and redial: the
	// last connection must be new.
	if len(reused) < 2 || reused[len(reused)-1] {
		t.Errorf("second request reused = %v, want a new connection after the backend closed the idle one", reused)
	}
	lines := sink.waitLines(t, 1, 10*time.Second)
	if lines[0].ClosedBy != record.ClosedByFault || lines[0].IdleBeforeCloseMs < time.Hour.Milliseconds() {
		t.Errorf("ledger = %+v, want closed by fault after >= 1h idle", lines[0])
	}
}

func TestFaultsDeterministic(t *testing.T) {
	t.Parallel()
	run := func(seed int64) string {
		b, _ := startBackend(t, &scenarios.Backend{Kind: "s3"})
		b.SetFaults(&scenarios.Faults{Seed: seed, ErrorRate: 0.5})
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr}
		var sb strings.Builder
		for range 32 {
			status, _, err := get(hc, b.URL(), "k")
			if err != nil {
				t.Fatal(err)
			}
			if status == http.StatusServiceUnavailable {
				sb.WriteByte('E')
			} else {
				sb.WriteByte('.')
			}
		}
		return sb.String()
	}
	a, a2, other := run(7), run(7), run(8)
	if a != a2 {
		t.Errorf("same seed, different faults: %s vs %s", a, a2)
	}
	if a == other || !strings.Contains(a, "E") || !strings.Contains(a, ".") {
		t.Errorf("seed 7 %s, seed 8 %s: want a mix that depends on the seed", a, other)
	}
}
