package fakebackend

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// TestLedgerCloser drives one SDK client per case through a PUT, a pause
// of interGap and a GET on one pooled connection, lets it sit idle, and
// checks who the ledger says closed it, how long it sat idle first and the
// longest idle gap: a client with IdleConnTimeout 1s closes it after ~1s;
// a client that never closes idle connections meets the backend's
// idle_timeout, or is still open (flagged "open") when the backend stops.
func TestLedgerCloser(t *testing.T) {
	t.Parallel()
	const interGap = 400 * time.Millisecond
	for _, tc := range []struct {
		name           string
		clientIdle     time.Duration // the client's IdleConnTimeout; 0: never
		backendIdle    time.Duration // the backend's idle_timeout; 0: never
		wait           time.Duration // idle time before the backend is closed
		wantBy         string
		minIdle, maxId time.Duration
	}{
		{"client IdleConnTimeout 1s", time.Second, 0, 3 * time.Second, record.ClosedByClient, 900 * time.Millisecond, 2500 * time.Millisecond},
		{"backend idle_timeout", 0, 600 * time.Millisecond, 1500 * time.Millisecond, record.ClosedByTimeout, 550 * time.Millisecond, 1450 * time.Millisecond},
		{"never closed: open at end", 0, 0, 700 * time.Millisecond, record.OpenAtEnd, 600 * time.Millisecond, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := &memSink{}
			b, err := New("s3", &scenarios.Backend{Kind: "s3", Buckets: []string{"ledger"}, IdleTimeout: scenarios.Duration(tc.backendIdle)}, sink)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Start(context.Background(), ""); err != nil {
				t.Fatal(err)
			}
			tr := &http.Transport{IdleConnTimeout: tc.clientIdle}
			defer tr.CloseIdleConnections()
			c := newS3Client(b.URL(), tr, DefaultAccessKey, DefaultSecretKey)
			ctx := context.Background()
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("ledger"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(interGap)
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ledger"), Key: aws.String("k")})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, out.Body) // an unread body would close the connection
			out.Body.Close()
			if live := b.Live(); live.Open != 1 || live.Idle+live.Active != 1 {
				t.Errorf("live after requests = %+v, want one open connection", live)
			}
			b.SetPhase("hold")
			if tc.wantBy == record.OpenAtEnd {
				time.Sleep(tc.wait) // the idle time its line must report
			} else {
				// A closer other than the stop writes the line: waited
				// for (up to tc.wait), not slept through.
				for deadline := time.Now().Add(tc.wait); len(sink.lines()) == 0 && time.Now().Before(deadline); {
					time.Sleep(20 * time.Millisecond)
				}
			}
			if err := b.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			lines := sink.lines()
			if len(lines) != 1 {
				t.Fatalf("ledger lines = %+v, want 1", lines)
			}
			l := lines[0]
			if l.ClosedBy != tc.wantBy {
				t.Errorf("closed by %q, want %q (%+v)", l.ClosedBy, tc.wantBy, l)
			}
			idle := time.Duration(l.IdleBeforeCloseMs) * time.Millisecond
			if idle < tc.minIdle || idle > tc.maxId {
				t.Errorf("idle before close %v, want in [%v, %v]", idle, tc.minIdle, tc.maxId)
			}
			if l.MaxIdleMs < l.IdleBeforeCloseMs || l.MaxIdleMs < (interGap-50*time.Millisecond).Milliseconds() {
				t.Errorf("max idle %dms: want >= idle before close (%dms) and >= the %v gap between requests", l.MaxIdleMs, l.IdleBeforeCloseMs, interGap)
			}
			if got := time.Duration(l.IdleBeforeCloseMs) * time.Millisecond; tc.wantBy != record.OpenAtEnd && l.Closed.Sub(l.Opened) < got+interGap {
				t.Errorf("opened %v closed %v: shorter than the idle time it reports", l.Opened, l.Closed)
			}
			if l.Requests != 2 || l.BytesIn == 0 || l.BytesOut == 0 || l.Witness != record.WitnessBackend || l.Source != "s3" || l.Side != "server" || l.Phase != "hold" {
				t.Errorf("ledger line = %+v", l)
			}
			if (tc.wantBy == record.OpenAtEnd) != l.Closed.IsZero() {
				t.Errorf("closed time %v with closer %s", l.Closed, l.ClosedBy)
			}
		})
	}
}

func TestLedgerConnsEndpoint(t *testing.T) {
	b, _ := startBackend(t, &scenarios.Backend{Kind: "s3"})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	for range 3 {
		resp, err := hc.Get(b.URL() + "/")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := hc.Get(b.URL() + ConnsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Kind   string
		Counts Counts
		Open   []ConnInfo
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != "s3" || got.Counts.Open != 1 || got.Counts.Requests != 3 || len(got.Open) != 1 || got.Open[0].Requests != 3 {
		t.Errorf("conns endpoint = %+v", got)
	}
}
