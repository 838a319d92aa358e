// Command hostile measures soak's peak RSS (VmHWM) under the hostile inputs
// of issue 21, at full size: a `soak backend` process fed multipart parts,
// a chunked CompleteMultipartUpload body, GCS uploads, slow clients; and
// `soak report` of a run with a 200 MB samples.jsonl line. Loopback only;
// each case is bounded in time. Part of `make bench` (BENCH_PARTS=hostile);
// see docs/bench.md.
//
//	go run ./bench/hostile -soak bench/out/bin/soak-gcs [-cases s3-parts,...]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

const mib = 1 << 20

func main() {
	soak := flag.String("soak", "bench/out/bin/soak-gcs", "soak binary built with -tags gcs")
	only := flag.String("cases", "", "comma-separated cases (default: all)")
	port := flag.Int("port", 19310, "loopback port for the backend")
	flag.Parse()
	// Each backend case is fed to a fresh `soak backend` of its kind and
	// returns "input | answer"; its row ends with that process's peak RSS.
	backendCases := []struct {
		name, kind string
		run        func(b *backend) (string, error)
	}{
		{"s3-parts", "s3", s3Parts},
		{"s3-complete-chunked", "s3", s3CompleteChunked},
		{"gcs-media", "gcs", gcsMedia},
		{"gcs-resumable", "gcs", gcsResumable},
		{"slowloris-headers", "s3", slowHeaders},
		{"trickle-body", "s3", trickleBody},
	}
	fmt.Printf("| case | input | answer | peak RSS (VmHWM) | time |\n|---|---|---|---|---|\n")
	row := func(name string, run func() (string, error)) {
		if *only != "" && !strings.Contains(","+*only+",", ","+name+",") {
			return
		}
		start := time.Now()
		r, err := run()
		if err != nil {
			r = "error: " + err.Error()
		}
		fmt.Printf("| %s | %s | %.0f s |\n", name, r, time.Since(start).Seconds())
	}
	for _, c := range backendCases {
		row(c.name, func() (string, error) {
			b, err := startBackend(*soak, c.kind, *port)
			if err != nil {
				return "", err
			}
			defer b.stop()
			r, err := c.run(b)
			return r + " | " + b.hwm(), err
		})
	}
	row("report-200mb-line", func() (string, error) { return reportLongLine(*soak) })
}

// backend is a `soak backend` process.
type backend struct {
	cmd *exec.Cmd
	url string
}

func startBackend(soak, kind string, port int) (*backend, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(soak, "backend", "--kind", kind, "--listen", addr, "--bucket", "bkt")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &backend{cmd: cmd, url: "http://" + addr}
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return b, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.stop()
	return nil, fmt.Errorf("backend %s did not listen on %s", kind, addr)
}

// hwm is the backend's peak RSS so far.
func (b *backend) hwm() string { return vmHWM(b.cmd.Process.Pid) }

func (b *backend) stop() {
	_ = b.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
}

func vmHWM(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return "?"
	}
	var kb int64
	fmt.Sscan(string(m[1]), &kb)
	return fmt.Sprintf("%d MiB", kb/1024)
}

// filler is an endless reader of 'A's.
type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}

var client = &http.Client{Timeout: 3 * time.Minute, Transport: &http.Transport{DisableCompression: true}}

// do sends a request with n bytes of body (n < 0: chunked) and returns the
// status and the start of the answer.
func do(method, url string, body io.Reader, n int64, hdr ...string) (int, string, http.Header) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return 0, err.Error(), nil
	}
	req.ContentLength = n
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(msg), resp.Header
}

func code(msg string) string {
	for _, re := range []string{`<Code>([^<]+)</Code>`, `"reason":"([^"]+)"`} {
		if m := regexp.MustCompile(re).FindStringSubmatch(msg); m != nil {
			return m[1]
		}
	}
	return ""
}

// answer is a status and the error code of its answer, if any.
func answer(st int, msg string) string { return strings.TrimSpace(fmt.Sprintf("%d %s", st, code(msg))) }

// createUpload starts a multipart upload of bkt/big and returns its id.
func createUpload(b *backend) (string, error) {
	st, msg, _ := do(http.MethodPost, b.url+"/bkt/big?uploads", nil, 0)
	id := regexp.MustCompile(`<UploadId>([^<]+)</UploadId>`).FindStringSubmatch(msg)
	if st != 200 || id == nil {
		return "", fmt.Errorf("create multipart upload: %d %.200s", st, msg)
	}
	return id[1], nil
}

// uploads sends n uploads of size bytes each, to the URL url(i) with the
// given method, and lists the answers.
func uploads(n int, method string, url func(i int) string, size int64) string {
	var answers []string
	for i := range n {
		st, msg, _ := do(method, url(i), io.LimitReader(filler{}, size), size)
		answers = append(answers, answer(st, msg))
	}
	return strings.Join(answers, ", ")
}

// s3Parts: 6 multipart parts of 200 MiB under the default 256 MiB cap.
func s3Parts(b *backend) (string, error) {
	id, err := createUpload(b)
	if err != nil {
		return "", err
	}
	answers := uploads(6, http.MethodPut, func(i int) string {
		return fmt.Sprintf("%s/bkt/big?partNumber=%d&uploadId=%s", b.url, i+1, id)
	}, 200*mib)
	return "6 x 200 MiB parts | " + answers, nil
}

// s3CompleteChunked: a 1 GiB chunked CompleteMultipartUpload body.
func s3CompleteChunked(b *backend) (string, error) {
	id, err := createUpload(b)
	if err != nil {
		return "", err
	}
	part := []byte("<Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part>")
	body := io.MultiReader(strings.NewReader("<CompleteMultipartUpload>"),
		io.LimitReader(repeat(part), 1<<30), strings.NewReader("</CompleteMultipartUpload>"))
	st, msg, _ := do(http.MethodPost, fmt.Sprintf("%s/bkt/big?uploadId=%s", b.url, id), body, -1)
	return fmt.Sprintf("1 GiB chunked CompleteMultipartUpload | %d %s", st, code(msg)), nil
}

func repeat(b []byte) io.Reader {
	return readerFunc(func(p []byte) (int, error) {
		n := 0
		for n < len(p) {
			n += copy(p[n:], b)
		}
		return n, nil
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// gcsMedia: 3 single-request uploads of 300 MiB.
func gcsMedia(b *backend) (string, error) {
	answers := uploads(3, http.MethodPost, func(i int) string {
		return fmt.Sprintf("%s/upload/storage/v1/b/bkt/o?uploadType=media&name=o%d", b.url, i)
	}, 300*mib)
	return "3 x 300 MiB media uploads | " + answers, nil
}

// gcsResumable: 3 resumable uploads of 300 MiB in the Go client's 16 MiB
// chunks (Content-Range bytes A-B/*, then bytes */N).
func gcsResumable(b *backend) (string, error) {
	var answers []string
	for i := range 3 {
		st, msg, h := do(http.MethodPost, fmt.Sprintf("%s/upload/storage/v1/b/bkt/o?uploadType=resumable&name=r%d", b.url, i), nil, 0)
		loc := h.Get("Location")
		if st != 200 || loc == "" {
			return "", fmt.Errorf("start resumable upload: %d %.200s", st, msg)
		}
		const chunk, total = 16 * mib, 300 * mib
		ans := ""
		for off := int64(0); off < total; off += chunk {
			n := min(chunk, total-off)
			st, msg, _ = do(http.MethodPut, loc, io.LimitReader(filler{}, n), n, "Content-Range", fmt.Sprintf("bytes %d-%d/*", off, off+n-1))
			if st != http.StatusPermanentRedirect {
				ans = fmt.Sprintf("%s at %d MiB", answer(st, msg), off/mib)
				break
			}
		}
		if ans == "" {
			st, msg, _ = do(http.MethodPut, loc, nil, 0, "Content-Range", fmt.Sprintf("bytes */%d", total))
			ans = answer(st, msg)
		}
		answers = append(answers, ans)
	}
	return "3 x 300 MiB resumable, 16 MiB chunks | " + strings.Join(answers, ", "), nil
}

// openConns asks the backend how many connections it holds.
func openConns(url string) int {
	resp, err := http.Get(url + "/_soak/conns")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var v struct {
		Counts struct {
			Open int `json:"open"`
		} `json:"counts"`
	}
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return -1
	}
	return v.Counts.Open - 1 // this request's own connection
}

// slowClients opens n connections that send head at once, then one byte of
// drip a second for d, and counts what the backend still holds at the end.
func slowClients(b *backend, n int, head string, d time.Duration) (held int, sent int) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	addr := strings.TrimPrefix(b.url, "http://")
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			continue
		}
		mu.Lock()
		sent++
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			if _, err := io.WriteString(c, head); err != nil {
				return
			}
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if _, err := c.Write([]byte("a")); err != nil {
						return
					}
				}
			}
		}()
	}
	<-ctx.Done()
	held = openConns(b.url)
	cancel()
	wg.Wait()
	return held, sent
}

// slowHeaders: 3,000 connections sending their headers a byte a second
// for 15 s (the header timeout is 10 s).
func slowHeaders(b *backend) (string, error) {
	held, sent := slowClients(b, 3000, "PUT /bkt/k HTTP/1.1\r\nHost: x\r\nX-Slow: ", 15*time.Second)
	return fmt.Sprintf("%d connections, headers at 1 byte/s for 15 s | %d still held at 15 s", sent, held), nil
}

// trickleBody: 3,000 connections sending a body a byte a second for 40 s
// (the body floor is 500 bytes/s over 30 s windows).
func trickleBody(b *backend) (string, error) {
	held, sent := slowClients(b, 3000, "PUT /bkt/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", 40*time.Second)
	return fmt.Sprintf("%d connections, body at 1 byte/s for 40 s | %d still held at 40 s", sent, held), nil
}

// reportLongLine: soak report of a run whose samples.jsonl has one 200 MB line.
func reportLongLine(soak string) (string, error) {
	dir, err := os.MkdirTemp("", "hostile-run-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	meta := fmt.Sprintf(`{"format":1,"scenario":"hostile","start":%q,"end":%q,"ended":"completed","interval_ms":1000,"nodes":{"a":{}}}`,
		start.Format(time.RFC3339), start.Add(30*time.Second).Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(meta), 0o644); err != nil {
		return "", err
	}
	f, err := os.Create(filepath.Join(dir, "samples.jsonl"))
	if err != nil {
		return "", err
	}
	w := bufio.NewWriter(f)
	for i := range 30 {
		fmt.Fprintf(w, `{"t":%q,"node":"a","goroutines":{"total":%d}}`+"\n", start.Add(time.Duration(i)*time.Second).Format(time.RFC3339), 10+i)
		if i == 15 {
			fmt.Fprintf(w, `{"t":%q,"node":"a","x":"`, start.Add(15*time.Second).Format(time.RFC3339))
			io.Copy(w, io.LimitReader(filler{}, 200_000_000))
			w.WriteString("\"}\n")
		}
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		return "", err
	}
	cmd := exec.Command(soak, "report", dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	rss := "?"
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = fmt.Sprintf("%d MiB", ru.Maxrss/1024)
	}
	status := "exit 0"
	if err != nil {
		status = err.Error()
	}
	return fmt.Sprintf("soak report, one 200 MB samples.jsonl line | %s | %s", status, rss), nil
}
