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

// procSockets lists the TCP sockets each of pids holds: the socket inodes of
// /proc/PID/fd joined with the TCP tables of their network namespace. The
// pids must share one namespace (the tests' nodes are children of the test):
// every read of a table walks the kernel's whole socket hash (~10 ms on a
// busy machine, whatever the processes hold), so each table is read once,
// and tcp6 only when a socket is missing from tcp (the nodes listen on
// 127.0.0.1).
func procSockets(pids ...int) ([][]sock, error) {
	inodes := map[string][]int{} // socket inode -> indexes into pids
	for i, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		fds, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err != nil {
				continue // closed meanwhile
			}
			if in, ok := strings.CutPrefix(target, "socket:["); ok {
				in = strings.TrimSuffix(in, "]")
				inodes[in] = append(inodes[in], i)
			}
		}
	}
	out := make([][]sock, len(pids))
	for _, f := range []string{"tcp", "tcp6"} {
		if len(inodes) == 0 || len(pids) == 0 {
			break
		}
		file, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pids[0], f))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(file)
		sc.Scan() // header
		for sc.Scan() {
			// On a busy machine the table is mostly TIME_WAIT (state 06,
			// thousands of lines), which no process holds (inode 0): skipped
			// before the line is split.
			if field(sc.Text(), 3) == "06" {
				continue
			}
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 {
				continue
			}
			holders, ok := inodes[fs[9]]
			if !ok {
				continue
			}
			delete(inodes, fs[9])
			st, ok := tcpStates[fs[3]]
			if !ok {
				st = fs[3]
			}
			for _, i := range holders {
				out[i] = append(out[i], sock{localPort: hexPort(fs[1]), remotePort: hexPort(fs[2]), state: st})
			}
		}
		file.Close()
	}
	return out, nil
}

// field returns the n-th (from 0) space-separated field of line, or "".
func field(line string, n int) string {
	for {
		line = strings.TrimLeft(line, " ")
		i := strings.IndexByte(line, ' ')
		if n == 0 {
			if i < 0 {
				return line
			}
			return line[:i]
		}
		if i < 0 {
			return ""
		}
		line, n = line[i:], n-1
	}
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
