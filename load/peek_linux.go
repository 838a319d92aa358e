package load

import (
	"errors"
	"net"
	"syscall"
)

// peek tells, without blocking and without consuming anything unless the
// server sent data, whether the server closed c. It lets one goroutine
// watch thousands of silent connections, where a blocked Read would cost a
// goroutine each. Data the server sent is consumed and returned (e.g. a 408
// before closing).
func peek(c net.Conn) (st peekState, data []byte) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return peekUnknown, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return peekUnknown, nil
	}
	var buf [512]byte
	st = peekUnknown
	cerr := rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:1], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(err, syscall.EAGAIN):
			st = peekOpen
		case errors.Is(err, syscall.ECONNRESET):
			st = peekReset
		case err != nil:
			st = peekUnknown
		case n == 0:
			st = peekEOF
		default:
			m, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_DONTWAIT)
			if err == nil && m > 0 {
				data = append([]byte(nil), buf[:m]...)
			}
			st = peekData
		}
		return true
	})
	if cerr != nil {
		return peekUnknown, nil
	}
	return st, data
}
