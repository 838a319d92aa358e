package probes

import (
	"encoding/binary"
	"testing"
)

// FuzzParseDiag: any bytes from the netlink socket parse without panicking,
// and a well-formed reply of one socket parses to that socket.
func FuzzParseDiag(f *testing.F) {
	msg := make([]byte, nlmsgHdrLen+inetDiagMsgLen+4+tcpiLastDataRecv+4)
	ne := binary.NativeEndian
	ne.PutUint32(msg, uint32(len(msg)))
	ne.PutUint16(msg[4:], tcpdiagGetsock)
	ne.PutUint32(msg[8:], 7)
	m := msg[nlmsgHdrLen:]
	m[0], m[1] = 2, tcpEstablished                         // AF_INET
	binary.BigEndian.PutUint16(m[4:], 8080)                // sport
	copy(m[8:], []byte{127, 0, 0, 1})                      // src
	ne.PutUint32(m[68:], 4242)                             // inode
	ne.PutUint16(m[inetDiagMsgLen:], 4+tcpiLastDataRecv+4) // INET_DIAG_INFO
	ne.PutUint16(m[inetDiagMsgLen+2:], inetDiagInfo)
	ti := m[inetDiagMsgLen+4:]
	ne.PutUint32(ti[tcpiLastDataSent:], 1500)
	ne.PutUint32(ti[tcpiLastDataRecv:], 900)
	out, _, _, err := parseDiag(msg, 7, nil, false)
	if err != nil || len(out) != 1 || out[0].idleMs != 900 || out[0].inode != 4242 ||
		out[0].local.String() != "127.0.0.1:8080" || out[0].state != tcpEstablished {
		f.Fatalf("seed parses to %+v, %v", out, err)
	}
	f.Add(msg)
	f.Add(msg[:nlmsgHdrLen+10])
	f.Fuzz(func(t *testing.T, b []byte) {
		parseDiag(b, 7, nil, false)
	})
}
