package fakebackend

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/testkit"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func TestServeFlushesLedgerOnStop(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "conns.jsonl")
	var logw testkit.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, StandaloneOptions{Config: scenarios.Backend{Kind: "s3", Listen: "127.0.0.1:0", Buckets: []string{"data"}}, Ledger: ledger, Log: &logw})
	}()
	var url string
	for deadline := time.Now().Add(5 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		url = regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(logw.String())
	}
	if url == "" {
		cancel()
		t.Fatalf("no URL printed: %q", logw.String())
	}
	if !strings.Contains(logw.String(), DefaultAccessKey) {
		t.Errorf("credentials not printed: %q", logw.String())
	}
	tr := &http.Transport{}
	hc := &http.Client{Transport: tr}
	resp, err := hc.Get(url + "/data")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	tr.CloseIdleConnections() // closed by the client
	idle, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	f, err := os.Open(ledger)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var closers []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var c record.Conn
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("ledger line %q: %v", sc.Text(), err)
		}
		closers = append(closers, c.ClosedBy)
	}
	if strings.Join(closers, ",") != record.ClosedByClient+","+record.OpenAtEnd {
		t.Errorf("ledger closers = %v, want [client open]", closers)
	}
	if got := strings.Count(logw.String(), "\nconn "); got != 2 {
		t.Errorf("log has %d connection lines, want 2:\n%s", got, logw.String())
	}
}
