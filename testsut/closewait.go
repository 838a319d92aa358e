package testsut

import (
	"net"
	"sync"
)

// closeWaitListener is the close-wait leak: the server's Close of an accepted
// connection does nothing, so when the peer closes, the socket stays in
// CLOSE_WAIT with its fd, as when a handler forgets a hijacked connection.
// The connections are really closed only when the node stops.
type closeWaitListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *closeWaitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.conns = append(l.conns, c)
	l.mu.Unlock()
	return forgottenConn{c}, nil
}

// closeAll really closes every accepted connection (at shutdown).
func (l *closeWaitListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

var _ net.Listener = (*closeWaitListener)(nil)

// forgottenConn is a connection whose Close is ignored.
type forgottenConn struct{ net.Conn }

func (forgottenConn) Close() error { return nil }
