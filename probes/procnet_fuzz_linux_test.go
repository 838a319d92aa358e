package probes

import (
	"strings"
	"testing"
)

// FuzzParseProcNet: no /proc/net/tcp text panics, and every socket parsed
// has a valid address pair. The seeds run in plain `go test`.
func FuzzParseProcNet(f *testing.F) {
	const hdr = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	f.Add(hdr + "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n")
	f.Add(hdr + "   2: 00000000000000000000000001000000:2328 00000000000000000000000001000000:C350 06 00000000:00000000 03:00000F9F 00000000     0        0 0 3\n")
	f.Add(hdr + " 0: zz:1 00:0 01 a b c d e f g\n")
	f.Add(hdr + " 0: 0100007F: :0000 0A a b c d e 99999999999\n")
	f.Add("")
	f.Add(hdr + strings.Repeat("x", 70000) + "\n")
	f.Fuzz(func(t *testing.T, in string) {
		socks, err := parseProcNet(strings.NewReader(in), nil)
		if err != nil {
			if len(err.Error()) > 200 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
			return
		}
		for _, s := range socks {
			if !s.local.IsValid() || !s.remote.IsValid() {
				t.Errorf("invalid address in %+v", s)
			}
		}
	})
}
