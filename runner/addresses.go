package runner

import (
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/soak-dev/soak/scenarios"
)

// allocatePorts picks a free port on host for each name. The listener is
// closed before the SUT binds the port; on loopback the window is small
// and the kernel does not hand out a just-freed port again at once.
func allocatePorts(host string, names []string) (map[string]int, error) {
	ports := map[string]int{}
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for _, name := range names {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("allocate port %s on %s: %w", name, host, err)
		}
		held = append(held, l)
		ports[name] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// nodeAddr builds a node's template data from its allocated ports.
func nodeAddr(name string, n *scenarios.Node, ports map[string]int) scenarios.NodeAddr {
	a := scenarios.NodeAddr{Name: name, Host: n.Host, Ports: ports, Addrs: map[string]string{}}
	for p, port := range ports {
		a.Addrs[p] = net.JoinHostPort(n.Host, strconv.Itoa(port))
	}
	a.Port = ports[n.Ports[0]]
	a.Addr = a.Addrs[n.Ports[0]]
	a.URL = "http://" + a.Addr
	return a
}

// attachedAddr builds an attached or remote node's template data from its URL.
func attachedAddr(name string, n *scenarios.Node) (scenarios.NodeAddr, error) {
	raw, field := "", ""
	switch {
	case n.Attach != nil:
		raw, field = n.Attach.URL, "attach.url"
	case n.Remote != nil:
		raw, field = n.Remote.URL, "remote.url"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return scenarios.NodeAddr{}, fmt.Errorf("node %s: %s: %w", name, field, err)
	}
	host, portStr, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, portStr = u.Host, "80"
		if u.Scheme == "https" {
			portStr = "443"
		}
	}
	port, _ := strconv.Atoi(portStr)
	ports := map[string]int{n.Ports[0]: port}
	return scenarios.NodeAddr{Name: name, Host: host, Port: port, Addr: u.Host, URL: u.Scheme + "://" + u.Host,
		Ports: ports, Addrs: map[string]string{n.Ports[0]: u.Host}}, nil
}

// backendAddr builds a backend's template data once it listens.
func backendAddr(name string, b *scenarios.Backend, rawURL, access, secret, region string) scenarios.BackendAddr {
	u, _ := url.Parse(rawURL)
	host, portStr, _ := net.SplitHostPort(u.Host)
	port, _ := strconv.Atoi(portStr)
	a := scenarios.BackendAddr{Name: name, Kind: b.Kind, Host: host, Port: port, Addr: u.Host, URL: rawURL,
		AccessKey: access, SecretKey: secret, Region: region}
	if len(b.Buckets) > 0 {
		a.Bucket = b.Buckets[0]
	}
	return a
}
