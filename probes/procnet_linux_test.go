package probes

import (
	"strings"
	"testing"
)

func TestParseProcNet(t *testing.T) {
	t.Parallel()
	in := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 12346 1 0000000000000000 20 4 30 10 -1
   2: 00000000000000000000000001000000:2328 00000000000000000000000001000000:C350 06 00000000:00000000 03:00000F9F 00000000     0        0 0 3
`
	socks, err := parseProcNet(strings.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		l, r  string
		st    uint8
		inode uint32
	}{
		{"127.0.0.1:8080", "0.0.0.0:0", tcpListen, 12345},
		{"127.0.0.1:8080", "127.0.0.1:40000", tcpEstablished, 12346},
		{"[::1]:9000", "[::1]:50000", tcpTimeWait, 0},
	}
	if len(socks) != len(want) {
		t.Fatalf("got %d sockets, want %d", len(socks), len(want))
	}
	for i, w := range want {
		s := socks[i]
		if s.local.String() != w.l || s.remote.String() != w.r || s.state != w.st || s.inode != w.inode || s.idleMs != -1 {
			t.Errorf("socket %d = %+v, want %+v", i, s, w)
		}
	}
	if _, err := parseProcNet(strings.NewReader("hdr\n 0: zz:1 00:0 01 a b c d e f g\n"), nil); err == nil {
		t.Error("garbage parsed")
	}
}
