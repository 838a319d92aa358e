//go:build unix

package fakebackend

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/soak-dev/soak/scenarios"
)

// BenchmarkS3 measures GET and PUT of 4 KiB and 1 MiB objects through the
// AWS SDK against three servers on loopback:
//
//   - tracked: soak's full backend (ledger + fault middleware with faults
//     switched on but injecting nothing, so every request draws);
//   - bare: soak's S3 handler (NewS3Handler) on an httptest server, no
//     ledger or faults, so the cost of tracking is tracked - bare;
//   - gofakes3: another S3 fake as published, gofakes3 on its own memory
//     backend (s3mem) with no soak code at all.
//
// Besides ns/op it reports cpu-us/op, the CPU time of the whole process
// (SDK client and server) per request, which a busy shared machine moves
// far less than wall time. `make bench` runs it in rounds and compares
// medians. (Unix only: getrusage.)
func BenchmarkS3(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		for _, mode := range []string{"gofakes3", "bare", "tracked"} {
			b.Run(fmt.Sprintf("%s/%dKiB", mode, size>>10), func(b *testing.B) {
				url := s3Server(b, mode)
				tr := &http.Transport{MaxIdleConnsPerHost: 16}
				defer tr.CloseIdleConnections()
				c := newS3Client(url, tr, DefaultAccessKey, DefaultSecretKey)
				ctx := context.Background()
				// gofakes3 alone does not create buckets on first use.
				if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil && mode == "gofakes3" {
					b.Fatal(err)
				}
				body := bytes.Repeat([]byte("s"), size)
				// Every key GET asks for exists, however few PUTs ran.
				for i := range 64 {
					if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprint(i)), Body: bytes.NewReader(body)}); err != nil {
						b.Fatal(err)
					}
				}
				b.Run("PUT", func(b *testing.B) {
					b.SetBytes(int64(size))
					defer reportCPU(b, selfCPU())
					for i := 0; b.Loop(); i++ {
						if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprint(i % 64)), Body: bytes.NewReader(body)}); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run("GET", func(b *testing.B) {
					b.SetBytes(int64(size))
					defer reportCPU(b, selfCPU())
					for i := 0; b.Loop(); i++ {
						out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprint(i % 64))})
						if err != nil {
							b.Fatal(err)
						}
						_, _ = io.Copy(io.Discard, out.Body)
						out.Body.Close()
					}
				})
			})
		}
	}
}

// s3Server starts one of BenchmarkS3's servers and returns its URL; it is
// closed when b ends.
func s3Server(b *testing.B, mode string) string {
	cfg := &scenarios.Backend{Kind: "s3", Buckets: []string{"bench"}}
	switch mode {
	case "gofakes3":
		srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
		b.Cleanup(srv.Close)
		return srv.URL
	case "bare":
		srv := httptest.NewServer(NewS3Handler(cfg))
		b.Cleanup(srv.Close)
		return srv.URL
	}
	be, err := New("bench", cfg, &memSink{})
	if err != nil {
		b.Fatal(err)
	}
	if err := be.Start(context.Background(), ""); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close(context.Background()) })
	be.SetFaults(&scenarios.Faults{ErrorRate: 0}) // the fault path runs, injects nothing
	return be.URL()
}

// selfCPU is this process's user + system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per iteration since cpu0.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64((selfCPU()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
}
