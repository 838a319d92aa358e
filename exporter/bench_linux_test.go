package exporter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/testkit"
	"github.com/soak-dev/soak/probes"
)

// BenchmarkScrape compares one scrape of /metrics (sample, collect, encode,
// HTTP) with one bare probe sample of the same process holding the same
// idle loopback connections (both ends are this process's: 2n sockets, n in
// the layer). The difference is what the exporter adds to the probe's cost.
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{100, 1000} {
		port, _ := testkit.HoldIdle(b, n)
		target := probes.Target{Node: "sut", PID: os.Getpid(),
			Layers: []probes.LayerRule{{Name: "client", LocalPorts: []int{port}}}}
		b.Run(fmt.Sprintf("sample/conns=%d", n), func(b *testing.B) {
			s, err := probes.NewSampler(target)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for b.Loop() {
				s.Sample(context.Background(), time.Now())
			}
		})
		b.Run(fmt.Sprintf("scrape/conns=%d", n), func(b *testing.B) {
			c, err := New([]Target{{Node: "sut", PID: os.Getpid(), Probe: target}}, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if err := c.Open(); err != nil {
				b.Fatal(err)
			}
			h, err := Handler(c)
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			for b.Loop() {
				resp, err := http.Get(srv.URL + "/metrics")
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
