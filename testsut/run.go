package testsut

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// shutdownGrace bounds the graceful shutdown of a node.
const shutdownGrace = 5 * time.Second

func pid() int { return os.Getpid() }

// Run serves one node of the cluster until ctx is done, then shuts down
// gracefully and returns nil. Errors are for setup (bad config, cannot
// listen, cannot write the pid file) and for a server that fails while
// serving.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	logf := cfg.logf()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	var cw *closeWaitListener
	var serveLn net.Listener = ln
	if cfg.has(LeakCloseWait) {
		cw = &closeWaitListener{Listener: ln}
		serveLn = cw
	}
	n := newNode(cfg)
	defer n.stop()
	n.addr = ln.Addr().String()
	if cfg.PIDFile != "" {
		if err := os.WriteFile(cfg.PIDFile, []byte(strconv.Itoa(pid())+"\n"), 0o644); err != nil {
			ln.Close()
			return fmt.Errorf("write pid file: %w", err)
		}
		defer os.Remove(cfg.PIDFile)
	}
	logf("%s", startLine(n))

	errc := make(chan error, 1)
	var shutdown func(context.Context) error
	switch cfg.serverEngine() {
	case EngineFastHTTP:
		s := n.fastServer()
		go func() { errc <- s.Serve(serveLn) }()
		shutdown = s.ShutdownWithContext
	default:
		s := n.netServer()
		go func() {
			err := s.Serve(serveLn)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			errc <- err
		}()
		shutdown = s.Shutdown
	}
	n.ready.Store(true)
	if cfg.Ready != nil {
		cfg.Ready(n.addr)
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		errc = nil
		if serveErr == nil {
			serveErr = errors.New("server stopped unexpectedly")
		}
	}
	n.ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if cw != nil {
		// Forgotten connections never finish by themselves.
		go func() {
			select {
			case <-time.After(time.Second):
				cw.closeAll()
			case <-sctx.Done():
			}
		}()
	}
	if err := shutdown(sctx); err != nil {
		logf("error: shutdown: %v", err)
	}
	if cw != nil {
		cw.closeAll()
	}
	n.stop()
	if errc != nil {
		<-errc
	}
	if serveErr != nil {
		return fmt.Errorf("serve on %s: %w", n.addr, serveErr)
	}
	logf("testsut %s stopped", cfg.Role)
	return nil
}

// startLine is the one line logged at start: role, engines, address, settings.
func startLine(n *node) string {
	h := n.health()
	var b strings.Builder
	fmt.Fprintf(&b, "testsut role=%s engine=%s client-engine=%s addr=%s idle-timeout=%s read-header-timeout=%s",
		h.Role, h.Engine, h.ClientEngine, h.Addr, h.IdleTimeout, h.ReadHeaderTimeout)
	if h.Role == RoleProxy {
		fmt.Fprintf(&b, " intra-idle-conn-timeout=%s intra-max-idle-per-host=%d targets=%s",
			h.IntraIdleConnTimeout, h.IntraMaxIdlePerHost, strings.Join(h.Targets, ","))
	} else {
		fmt.Fprintf(&b, " backend-idle-conn-timeout=%s backend-max-idle-per-host=%d backend=%s bucket=%q signed=%t",
			h.BackendIdleConnTimeout, h.BackendMaxIdlePerHost, h.Backend, h.Bucket, h.Signed)
	}
	leaks := make([]string, len(h.Leaks))
	for i, l := range h.Leaks {
		leaks[i] = string(l)
	}
	fmt.Fprintf(&b, " leaks=%s pid=%d", strings.Join(leaks, ","), h.PID)
	return b.String()
}
