package fakebackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// StandaloneOptions configure Serve: one backend outside a run.
type StandaloneOptions struct {
	// Name is the ledger's Source. Default: the kind.
	Name string
	// Config is the backend; Config.Listen is the address (default 127.0.0.1:9000).
	Config scenarios.Backend
	// Ledger is a file that receives one record.Conn JSON line per
	// connection, appended and fsynced on exit. Empty: no file.
	Ledger string
	// Log receives the URL, the credentials and one line per closed connection.
	Log io.Writer
}

// DefaultStandaloneListen is where a standalone backend listens by default.
const DefaultStandaloneListen = "127.0.0.1:9000"

// Serve runs one backend until ctx ends (e.g. on SIGINT), then closes it
// and flushes the ledger, so every connection has its line.
func Serve(ctx context.Context, opts StandaloneOptions) error {
	cfg := opts.Config
	if cfg.Listen == "" {
		cfg.Listen = DefaultStandaloneListen
	}
	name := opts.Name
	if name == "" {
		name = cfg.Kind
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	sink := &logSink{log: logw}
	if opts.Ledger != "" {
		f, err := os.OpenFile(opts.Ledger, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("open ledger: %w", err)
		}
		sink.file = f
	}
	b, err := New(name, &cfg, sink)
	if err != nil {
		return errors.Join(err, sink.close())
	}
	if err := b.Start(ctx, cfg.Listen); err != nil {
		return errors.Join(err, sink.close())
	}
	ak, sk := Credentials(&cfg)
	fmt.Fprintf(logw, "soak backend: %s %s at %s\n", cfg.Kind, name, b.URL())
	fmt.Fprintf(logw, "  access key %s, secret key %s, region %s\n", ak, sk, DefaultRegion)
	fmt.Fprintf(logw, "  live connections: %s%s\n", b.URL(), ConnsPath)
	<-ctx.Done()
	closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = b.Close(closeCtx)
	c := b.Live()
	fmt.Fprintf(logw, "soak backend: stopped; %d connections, %d requests\n", c.Accepted, c.Requests)
	return errors.Join(err, sink.close())
}

// logSink writes ledger lines to a JSONL file and a short line to a log.
type logSink struct {
	log  io.Writer
	mu   sync.Mutex
	file *os.File
}

func (s *logSink) Sample(record.Sample) error { return nil }
func (s *logSink) Event(record.Event) error   { return nil }

func (s *logSink) Conn(c record.Conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	by := "closed by " + c.ClosedBy
	if c.ClosedBy == record.OpenAtEnd {
		by = "still open at exit"
	}
	fmt.Fprintf(s.log, "conn %s %s: %d requests, %d B in, %d B out, max idle %dms, idle before close %dms\n",
		c.Remote, by, c.Requests, c.BytesIn, c.BytesOut, c.MaxIdleMs, c.IdleBeforeCloseMs)
	if s.file == nil {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode ledger line: %w", err)
	}
	if _, err := s.file.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write ledger: %w", err)
	}
	return nil
}

func (s *logSink) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == nil {
		return nil
	}
	err := errors.Join(s.file.Sync(), s.file.Close())
	s.file = nil
	if err != nil {
		return fmt.Errorf("flush ledger: %w", err)
	}
	return nil
}
