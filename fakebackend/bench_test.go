package fakebackend

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/soak-dev/soak/scenarios"
)

// BenchmarkS3 measures GET and PUT through the AWS SDK against the full
// backend (ledger + fault middleware with latency 0 faults switched on, so
// every request draws) and against the bare gofakes3 handler on an
// httptest server, so the cost of tracking shows as the difference.
func BenchmarkS3(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		for _, mode := range []string{"bare", "tracked"} {
			b.Run(fmt.Sprintf("%s/%dKiB", mode, size>>10), func(b *testing.B) {
				cfg := &scenarios.Backend{Kind: "s3", Buckets: []string{"bench"}}
				var url string
				if mode == "bare" {
					srv := httptest.NewServer(NewS3Handler(cfg))
					defer srv.Close()
					url = srv.URL
				} else {
					be, err := New("bench", cfg, &memSink{})
					if err != nil {
						b.Fatal(err)
					}
					if err := be.Start(context.Background(), ""); err != nil {
						b.Fatal(err)
					}
					defer be.Close(context.Background())
					be.SetFaults(&scenarios.Faults{ErrorRate: 0}) // the fault path runs, injects nothing
					url = be.URL()
				}
				tr := &http.Transport{MaxIdleConnsPerHost: 16}
				defer tr.CloseIdleConnections()
				c := newS3Client(url, tr, DefaultAccessKey, DefaultSecretKey)
				ctx := context.Background()
				body := bytes.Repeat([]byte("s"), size)
				b.Run("PUT", func(b *testing.B) {
					b.SetBytes(int64(size))
					for i := 0; b.Loop(); i++ {
						if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprint(i % 64)), Body: bytes.NewReader(body)}); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run("GET", func(b *testing.B) {
					b.SetBytes(int64(size))
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
