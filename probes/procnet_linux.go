package probes

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// readProcNet lists TCP sockets from /proc/PID/net/tcp and tcp6: the
// fallback when sock_diag is denied. These files list the whole network
// namespace of the process and carry no idle ages.
func readProcNet(root procRoot, pid int, buf []sock) ([]sock, error) {
	out := buf[:0]
	for _, name := range []string{"tcp", "tcp6"} {
		path := root.pid(pid, "net", name)
		f, err := os.Open(path)
		if err != nil {
			if os.IsNotExist(err) && name == "tcp6" {
				continue // IPv6 disabled
			}
			return out, fmt.Errorf("open %s: %w", path, err)
		}
		out, err = parseProcNet(f, out)
		f.Close()
		if err != nil {
			return out, fmt.Errorf("parse %s: %w", path, err)
		}
	}
	return out, nil
}

// parseProcNet parses lines like
// "0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 12345 ...".
func parseProcNet(r io.Reader, out []sock) ([]sock, error) {
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first {
			first = false // header
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		l, err1 := hexAddrPort(f[1])
		rm, err2 := hexAddrPort(f[2])
		st, err3 := strconv.ParseUint(f[3], 16, 8)
		ino, err4 := strconv.ParseUint(f[9], 10, 32)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			return out, fmt.Errorf("bad line %q", clip(sc.Text()))
		}
		out = append(out, sock{local: l, remote: rm, state: uint8(st), inode: uint32(ino), idleMs: -1})
	}
	return out, sc.Err()
}

// hexAddrPort decodes "0100007F:1F90": the address as host-order 32-bit words.
func hexAddrPort(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("no port in %q", s)
	}
	b, err := hex.DecodeString(a)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", a)
	}
	for i := 0; i < len(b); i += 4 {
		// Each 32-bit word is printed in host (little-endian) order.
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", p)
	}
	ip, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}
