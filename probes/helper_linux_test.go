package probes

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/vishvananda/netlink"
	"go.uber.org/goleak"
)

// The test binary doubles as the processes the probes watch: with
// SOAK_PROBES_HELPER set it becomes a server (or client) and never runs tests.
const helperEnv = "SOAK_PROBES_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		if err := runHelper(mode); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// Every helper is this race-built binary, whose race runtime sleeps
	// atexit_sleep_ms (default 1 s) before exiting: a second per helper
	// stopped, on every test's cleanup. Helpers still report races (and
	// exit 66) without it; only the grace for goroutines still racing at
	// exit goes.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	goleak.VerifyTestMain(m)
}

// runHelper prints "ADDR host:port" and lives until its stdin closes.
func runHelper(mode string) error {
	switch mode {
	case "server":
		addr, err := helperServer()
		if err != nil {
			return err
		}
		fmt.Println("ADDR", addr)
	case "netns":
		// A fresh network namespace has lo down.
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return err
		}
		addr, err := helperServer()
		if err != nil {
			return err
		}
		k, _ := strconv.Atoi(os.Getenv("K"))
		var conns []*httpConn
		for range k {
			c, err := dialHTTP(addr)
			if err != nil {
				return err
			}
			conns = append(conns, c)
		}
		fmt.Println("ADDR", addr)
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
	case "fasthttp":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		go (&fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) { c.WriteString("ok") }}).Serve(ln)
		mux := http.NewServeMux()
		mux.Handle("/debug/pprof/goroutine", pprof.Handler("goroutine"))
		pl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		go http.Serve(pl, mux)
		fmt.Println("ADDR", ln.Addr(), pl.Addr())
	case "selfdial":
		// A server that, once a line arrives on stdin, dials its own port K
		// times: sockets of the SUT whose remote port is its listen port.
		addr, err := helperServer()
		if err != nil {
			return err
		}
		fmt.Println("ADDR", addr)
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			return nil
		}
		k, _ := strconv.Atoi(os.Getenv("K"))
		for range k {
			c, err := dialHTTP(addr)
			if err != nil {
				return err
			}
			defer c.Close()
		}
	case "sutdial":
		// A SUT: a server that, once a line arrives on stdin, dials K
		// connections to BACKEND and holds them (a node's connections to a
		// fake backend, made while the witness watches).
		addr, err := helperServer()
		if err != nil {
			return err
		}
		fmt.Println("ADDR", addr)
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			return nil
		}
		k, _ := strconv.Atoi(os.Getenv("K"))
		for range k {
			c, err := net.Dial("tcp", os.Getenv("BACKEND"))
			if err != nil {
				return err
			}
			defer c.Close()
		}
	case "kevents-nocap":
		return runNoCapWitness()
	case "churnsink":
		return runChurnSink()
	case "churn":
		return runChurn()
	case "closewait":
		// Benchmarks hold many connections here.
		raiseNoFile(200000)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		var held []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				held = append(held, c) // never read, never closed: CLOSE_WAIT when the peer leaves
				mu.Unlock()
			}
		}()
		fmt.Println("ADDR", ln.Addr())
	case "client":
		k, _ := strconv.Atoi(os.Getenv("K"))
		tr := &http.Transport{MaxIdleConnsPerHost: k}
		var wg sync.WaitGroup
		errs := make(chan error, k)
		for range k {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := (&http.Client{Transport: tr}).Get(os.Getenv("TARGET"))
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/debug/pprof/goroutine", pprof.Handler("goroutine"))
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		go http.Serve(ln, mux)
		fmt.Println("ADDR", ln.Addr())
	case "fdzoo":
		// One fd of each kind a server may hold, for the fd listers to agree on.
		if err := openFDZoo(os.Getenv("DIR")); err != nil {
			return err
		}
		fmt.Println("ADDR -")
	case "probe-as":
		pid, _ := strconv.Atoi(os.Getenv("PID"))
		_, err := NewSampler(Target{PID: pid})
		fmt.Println("ERR", err)
		return nil
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// helperServer serves "ok" on / and the goroutine profile, with
// IDLE_TIMEOUT (a duration) as the server's idle timeout.
func helperServer() (string, error) {
	idle, _ := time.ParseDuration(os.Getenv("IDLE_TIMEOUT"))
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.Handle("/debug/pprof/goroutine", pprof.Handler("goroutine"))
	addr := os.Getenv("LISTEN")
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	go (&http.Server{Handler: mux, IdleTimeout: idle}).Serve(ln)
	return ln.Addr().String(), nil
}

// helper is a running helper process.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	extra []string // more addresses, if the helper has them
	port  int
}

// startHelper runs the test binary in mode, with env, optionally under a
// wrapper command (e.g. unshare -n), and waits for its address.
func startHelper(t testing.TB, mode string, wrap []string, env ...string) *helper {
	t.Helper()
	args := append(append([]string{}, wrap...), os.Args[0], "-test.run=^$")
	return startHelperCmd(t, exec.Command(args[0], args[1:]...), mode, env...)
}

// startHelperCmd starts cmd (the test binary, perhaps wrapped) as a helper.
func startHelperCmd(t testing.TB, cmd *exec.Cmd, mode string, env ...string) *helper {
	t.Helper()
	cmd.Env = append(append(os.Environ(), helperEnv+"="+mode), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, stdin: stdin}
	t.Cleanup(h.stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("helper %s: no address: %v", mode, err)
	}
	f := strings.Fields(strings.TrimPrefix(line, "ADDR "))
	if len(f) == 0 {
		t.Fatalf("helper %s: bad address line %q", mode, line)
	}
	h.addr, h.extra = f[0], f[1:]
	if _, p, err := net.SplitHostPort(h.addr); err == nil {
		h.port, _ = strconv.Atoi(p)
	}
	return h
}

func (h *helper) stop() {
	h.stdin.Close()
	done := make(chan struct{})
	go func() { h.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		h.cmd.Process.Kill()
		<-done
	}
}

// dialPeers opens k plain TCP connections to addr.
func dialPeers(t testing.TB, addr string, k int) []net.Conn {
	t.Helper()
	var peers []net.Conn
	for range k {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			resetAll(peers)
			t.Fatal(err)
		}
		peers = append(peers, c)
	}
	return peers
}

// httpConn is one raw keep-alive HTTP/1.1 client connection.
type httpConn struct {
	net.Conn
	r *bufio.Reader
}

// dialHTTP opens a connection and makes one request on it.
func dialHTTP(addr string) (*httpConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	hc := &httpConn{Conn: c, r: bufio.NewReader(c)}
	if err := hc.get(); err != nil {
		c.Close()
		return nil, err
	}
	return hc, nil
}

// get makes one request and reads the whole response.
func (c *httpConn) get() error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err
}

func holdConns(t *testing.T, addr string, k int) []*httpConn {
	t.Helper()
	var cs []*httpConn
	for range k {
		c, err := dialHTTP(addr)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	t.Cleanup(func() {
		for _, c := range cs {
			c.Close()
		}
	})
	return cs
}

// raiseNoFile lifts the fd limit to at least n where privilege allows (never
// lowering it); it reports whether the limit is now at least n.
func raiseNoFile(n uint64) bool {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		return false
	}
	if lim.Cur >= n {
		return true
	}
	want := syscall.Rlimit{Cur: n, Max: max(n, lim.Max)}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
		return true
	}
	lim.Cur = lim.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur >= n
}
