// Package testkit holds what several packages' tests share: loopback
// connections held idle, and the number of tests run at once. Only tests
// import it.
package testkit

import (
	"flag"
	"net"
	"strconv"
	"testing"
)

// Parallel lets n parallel tests run at once, unless -test.parallel was
// given: for packages whose tests mostly wait (idle timeouts, quiet
// windows, slow clients) rather than compute, where go's default of
// GOMAXPROCS at a time leaves a 2-core machine idle. Call it from TestMain
// after flag.Parse.
func Parallel(n int) {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(n))
	}
}

// HoldIdle starts a loopback listener and dials n connections to it that
// stay idle (nothing is ever written) until the test ends. It returns the
// listen port and the accepted (server) ends.
func HoldIdle(t testing.TB, n int) (int, []net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, n)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	var conns, servers []net.Conn
	t.Cleanup(func() {
		ln.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s := <-accepted
		conns = append(conns, c, s)
		servers = append(servers, s)
	}
	return ln.Addr().(*net.TCPAddr).Port, servers
}
