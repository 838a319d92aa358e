//go:build !linux

package load

import "net"

// peek is Linux-only; elsewhere silent connections are not watched and a
// server's close is seen only when the connection is used again.
func peek(net.Conn) (peekState, []byte) { return peekUnknown, nil }
