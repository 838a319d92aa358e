package fakebackend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// sdkFaultEnv is one backend with one object and an S3 SDK client whose
// *http.Client the test owns.
type sdkFaultEnv struct {
	b    Backend
	clk  *offsetClock // the backend's fault and ledger clock
	sink *memSink
	hc   *http.Client
	body []byte
}

// client is an S3 SDK client of the backend, path-style with the backend's
// static credentials, making at most maxAttempts attempts per call with a
// fixed 5ms backoff (the default backoff is up to seconds).
func (e *sdkFaultEnv) client(cfg *scenarios.Backend, maxAttempts int) *s3.Client {
	ak, sk := Credentials(cfg)
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(e.b.URL()),
		UsePathStyle: true,
		Region:       DefaultRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, ""),
		HTTPClient:   e.hc,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 5 * time.Millisecond, nil })
		}),
	})
}

// getAll fetches the object and reads its body, returning the error of the
// call or of the read and how long both took.
func getAll(ctx context.Context, c *s3.Client) ([]byte, time.Duration, error) {
	start := time.Now()
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("faults"), Key: aws.String("obj")})
	if err != nil {
		return nil, time.Since(start), err
	}
	defer out.Body.Close()
	got, err := io.ReadAll(out.Body)
	return got, time.Since(start), err
}

// isBrokenConn reports whether err is what a client sees of a connection
// the peer reset or cut short.
func isBrokenConn(err error) bool {
	if err == nil {
		return false
	}
	// The same refusal reaches the client as a reset on read, or as EPIPE
	// when its write of the request comes after the RST: the kernel's
	// timing, not the backend's behaviour, picks one.
	for _, e := range []error{syscall.ECONNRESET, syscall.EPIPE, syscall.ECONNABORTED, io.ErrUnexpectedEOF, io.EOF} {
		if errors.Is(err, e) {
			return true
		}
	}
	s := err.Error()
	return strings.Contains(s, "connection reset") || strings.Contains(s, "broken pipe") || strings.HasSuffix(s, "EOF")
}

// TestFaultsSeenBySDK drives each fault kind through the aws-sdk-go-v2 S3
// client and checks what the SDK caller observes, with the ledger as the
// backend's side of the story.
func TestFaultsSeenBySDK(t *testing.T) {
	t.Parallel()
	const size = 4000
	body := bytes.Repeat([]byte("0123456789"), size/10)
	ms := func(n int) scenarios.Duration { return scenarios.Duration(time.Duration(n) * time.Millisecond) }
	for _, tc := range []struct {
		name   string
		faults scenarios.Faults
		// run makes the calls with the faults in force and checks them.
		run func(t *testing.T, e *sdkFaultEnv, cfg *scenarios.Backend)
	}{
		{"error_rate 503", scenarios.Faults{ErrorRate: 1, ErrorCode: 503}, func(t *testing.T, e *sdkFaultEnv, cfg *scenarios.Backend) {
			checkRetriedAPIError(t, e, cfg, "SlowDown")
		}},
		{"error_code 500", scenarios.Faults{ErrorRate: 1, ErrorCode: 500}, func(t *testing.T, e *sdkFaultEnv, cfg *scenarios.Backend) {
			checkRetriedAPIError(t, e, cfg, "InternalError")
		}},
		{"reset_rate", scenarios.Faults{ResetRate: 1}, func(t *testing.T, e *sdkFaultEnv, cfg *scenarios.Backend) {
			got, took, err := getAll(context.Background(), e.client(cfg, 1))
			t.Logf("SDK saw after %v, %d bytes: %v", took, len(got), err)
			if !isBrokenConn(err) || len(got) >= size {
				t.Errorf("%d bytes, err %v: want a connection reset or unexpected EOF", len(got), err)
			}
			wantClosedBy(t, e.sink, record.ClosedByFault)
		}},
		{"stall_rate", scenarios.Faults{StallRate: 1}, func(t *testing.T, e *sdkFaultEnv, cfg *scenarios.Backend) {
			const timeout = 300 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			got, took, err := getAll(ctx, e.client(cfg, 1))
			t.Logf("SDK saw after %v, %d bytes: %v", took, len(got), err)
			if !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
				t.Errorf("%d bytes, err %v: want the context's deadline", len(got), err)
			}
			if len(got) != size/2 {
				t.Errorf("stalled body: %d bytes before the stall, want half of %d", len(got), size)
			}
			// The call ended by its deadline, not sooner: asked of the
			// context, not of a wall-clock window (getAll's own start is
			// after the context's, and a loaded machine adds any delay).
			if ctx.Err() == nil {
				t.Errorf("stalled call gave up after %v, before its %v deadline", took, timeout)
			}
			wantClosedBy(t, e.sink, record.ClosedByClient)
		}},
		{"slow_body", scenarios.Faults{SlowBody: 10000}, func(t *testing.T, e *sdkFaultEnv, cfg *scenarios.Backend) {
			got, took, err := getAll(context.Background(), e.client(cfg, 1))
			t.Logf("SDK read %d bytes in %v: %v", len(got), took, err)
			// At most rate bytes/s: size/rate = 400ms at least.
			if min := size * time.Second / 10000; err != nil || !bytes.Equal(got, e.body) || took < min {
				t.Errorf("%d bytes in %v, err %v: want the whole body after >= %v", len(got), took, err, min)
			}
		}},
		{"latency", scenarios.Faults{Latency: ms(200)}, func(t *testing.T, e *sdkFaultEnv, cfg *scenarios.Backend) {
			got, took, err := getAll(context.Background(), e.client(cfg, 1))
			t.Logf("SDK call took %v: %v", took, err)
			if err != nil || !bytes.Equal(got, e.body) || took < 200*time.Millisecond {
				t.Errorf("%d bytes in %v, err %v: want the object after >= 200ms", len(got), took, err)
			}
		}},
		{"refuse_for", scenarios.Faults{RefuseFor: scenarios.Duration(time.Hour)}, func(t *testing.T, e *sdkFaultEnv, cfg *scenarios.Backend) {
			c := e.client(cfg, 1)
			_, took, err := getAll(context.Background(), c)
			t.Logf("during the window, after %v: %v", took, err)
			if !isBrokenConn(err) {
				t.Errorf("call during the refuse window: err %v, want the connection broken (reset, broken pipe or EOF)", err)
			}
			e.clk.advance(2 * time.Hour) // past the window by the backend's clock
			got, took, err := getAll(context.Background(), c)
			t.Logf("after the window, took %v: %v", took, err)
			if err != nil || !bytes.Equal(got, e.body) {
				t.Errorf("after the window: %d bytes, err %v, want the object", len(got), err)
			}
			if lines := e.sink.waitLines(t, 2, 10*time.Second); lines[1].ClosedBy != record.ClosedByFault {
				// lines[0] is the PUT's connection, closed before the faults.
				t.Errorf("refused connection ledger = %+v, want closed by fault", lines[1])
			}
		}},
		{"close_idle_after", scenarios.Faults{CloseIdleAfter: scenarios.Duration(time.Hour)}, func(t *testing.T, e *sdkFaultEnv, cfg *scenarios.Backend) {
			c := e.client(cfg, 1)
			if _, _, err := getAll(context.Background(), c); err != nil {
				t.Fatalf("first call: %v", err)
			}
			accepted := e.b.Live().Accepted
			waitIdle(t, e.b, 1)
			e.clk.advance(2 * time.Hour) // idle for 2 h by the backend's clock
			e.sink.waitLines(t, 2, 10*time.Second)
			got, took, err := getAll(context.Background(), c)
			t.Logf("after the idle gap, took %v: %v", took, err)
			if err != nil || !bytes.Equal(got, e.body) {
				t.Errorf("call after the idle gap: %d bytes, err %v, want the object", len(got), err)
			}
			if a := e.b.Live().Accepted; a != accepted+1 {
				t.Errorf("accepted %d then %d: want one new connection after the idle close", accepted, a)
			}
			lines := e.sink.waitLines(t, 2, 10*time.Second)
			l := lines[1] // lines[0] is the PUT's connection
			if l.ClosedBy != record.ClosedByFault || l.IdleBeforeCloseMs < time.Hour.Milliseconds() {
				t.Errorf("first GET connection ledger = %+v, want closed by fault after >= 1h idle", l)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := &scenarios.Backend{Kind: "s3", Buckets: []string{"faults"}, IdleTimeout: scenarios.Duration(48 * time.Hour)}
			b, sink, clk := startBackendClock(t, cfg)
			e := &sdkFaultEnv{b: b, clk: clk, sink: sink, hc: &http.Client{Transport: &http.Transport{}}, body: body}
			t.Cleanup(e.hc.CloseIdleConnections)
			if _, err := e.client(cfg, 1).PutObject(context.Background(), &s3.PutObjectInput{
				Bucket: aws.String("faults"), Key: aws.String("obj"), Body: bytes.NewReader(body),
			}); err != nil {
				t.Fatalf("put: %v", err)
			}
			// Faulted calls start on a fresh connection, the PUT's is line 0.
			e.hc.CloseIdleConnections()
			sink.waitLines(t, 1, 2*time.Second)
			b.SetFaults(&tc.faults)
			tc.run(t, e, cfg)
		})
	}
}

// checkRetriedAPIError makes one GetObject with three attempts allowed and
// checks the SDK retried and returned the API error code want.
func checkRetriedAPIError(t *testing.T, e *sdkFaultEnv, cfg *scenarios.Backend, want string) {
	t.Helper()
	const attempts = 3
	before := e.b.Live()
	_, took, err := getAll(context.Background(), e.client(cfg, attempts))
	t.Logf("SDK saw after %v: %v", took, err)
	if got := apiCode(err); got != want {
		t.Errorf("SDK saw code %q (%v), want %q", got, err, want)
	}
	var me *retry.MaxAttemptsError
	if !errors.As(err, &me) || me.Attempt != attempts {
		t.Errorf("err %v: want the SDK to give up after %d attempts", err, attempts)
	}
	after := e.b.Live()
	if n := after.Requests - before.Requests; n != attempts {
		t.Errorf("backend saw %d requests, want %d (one per SDK attempt)", n, attempts)
	}
	if n := after.Errors - before.Errors; n != attempts {
		t.Errorf("backend answered %d errors, want %d", n, attempts)
	}
}

// wantClosedBy waits for the ledger to hold a line closed by who.
func wantClosedBy(t *testing.T, sink *memSink, who string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range sink.lines() {
			if l.ClosedBy == who {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("ledger %+v: no connection closed by %s", sink.lines(), who)
}

// TestIsBrokenConn: refuse_for failed at random when the kernel reported
// the refused connection as "write: broken pipe", not "connection reset".
func TestIsBrokenConn(t *testing.T) {
	wrap := func(op string, errno syscall.Errno) error {
		return &url.Error{Op: "Get", URL: "http://127.0.0.1:1/x", Err: &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, errno)}}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{wrap("read", syscall.ECONNRESET), true},
		{wrap("write", syscall.EPIPE), true},
		{fmt.Errorf("send request: %w", io.ErrUnexpectedEOF), true},
		{nil, false},
		{errors.New("api error SlowDown"), false},
	} {
		if got := isBrokenConn(tc.err); got != tc.want {
			t.Errorf("isBrokenConn(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
