package testsut

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sock is one TCP socket of a process, from /proc.
type sock struct {
	localPort, remotePort int
	state                 string
}

// tcpStates are the /proc/net/tcp state codes the tests look at.
var tcpStates = map[string]string{"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "0A": "LISTEN", "09": "LAST_ACK"}

// procSockets lists the TCP sockets process pid holds: the socket inodes of
// /proc/PID/fd joined with /proc/PID/net/tcp{,6}.
func procSockets(pid int) ([]sock, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if in, ok := strings.CutPrefix(target, "socket:["); ok {
			inodes[strings.TrimSuffix(in, "]")] = true
		}
	}
	var out []sock
	for _, f := range []string{"tcp", "tcp6"} {
		file, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(file)
		sc.Scan() // header
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || !inodes[fs[9]] {
				continue
			}
			st, ok := tcpStates[fs[3]]
			if !ok {
				st = fs[3]
			}
			out = append(out, sock{localPort: hexPort(fs[1]), remotePort: hexPort(fs[2]), state: st})
		}
		file.Close()
	}
	return out, nil
}

func hexPort(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	p, _ := strconv.ParseInt(addr[i+1:], 16, 32)
	return int(p)
}

// count counts a process's sockets in state whose local or remote port is
// port (one of them 0 = any).
func count(socks []sock, state string, localPort, remotePort int) int {
	n := 0
	for _, s := range socks {
		if s.state != state || (localPort != 0 && s.localPort != localPort) || (remotePort != 0 && s.remotePort != remotePort) {
			continue
		}
		n++
	}
	return n
}
