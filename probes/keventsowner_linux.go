package probes

import (
	"fmt"
	"net/netip"
	"os"
	"slices"

	"github.com/prometheus/procfs"
)

// Which socket ends are the SUT's. The witness sees every TCP socket of the
// network namespace, and soak's own sockets share it with the SUT's: the
// load client's connections to a node, the prober's fetches of its
// profile, the fake backends' accepted connections. Polling keeps only the
// sockets in the node's fd table; the witness keeps the same ones by how
// each socket came to be:
//
//   - A socket the node dialled: connect() moves it to SYN_SENT in the
//     dialling thread's own context, so the program compares the current
//     tgid with the node's there and marks the socket; at ESTABLISHED only
//     marked sockets are followed. (The same check at ESTABLISHED would be
//     wrong: that transition runs in softirq, on whatever task the packet
//     interrupted, on loopback often the peer's.)
//   - A socket the node accepted: it becomes ESTABLISHED in softirq, before
//     anyone accept()s it, so no task identifies its owner. Its owner is the
//     listener's: the program follows it only when its local port is one the
//     node listens on, read from the node's fd table at start and each tick.
//   - The prober's own connections to the node (its profile and metrics
//     fetches) are the node's server ends of soak's sockets; polling leaves
//     them out by the prober's addresses, and so does the witness.
//
// So a connection between soak and the SUT is seen once, by its SUT end
// (the node's accepted end of a load client's connection, the node's dialled
// end of a connection to a fake backend); a connection between two nodes is
// seen at each end, by each node's witness.

// initialPIDNS is the inode of the initial PID namespace (PROC_PID_INIT_INO):
// bpf_get_current_pid_tgid returns tgids as seen there.
const initialPIDNS = 0xEFFFFFFC

// kevOwner is what tells the node's sockets from others': its tgid in the
// initial PID namespace, the ports it listens on, and the prober's own
// connections.
type kevOwner struct {
	tgid   int
	listen []uint16
	// prober says whether a socket (local, remote) is either end of one of
	// the prober's connections to the node: soak's (nil: the prober fetches
	// nothing).
	prober func(local, remote netip.AddrPort) bool
}

// maxListenPorts bounds the ports the witness accepts connections on per
// node (the port map's room for them).
const maxListenPorts = 1024

// nodeOwner reads the node's identity for the witness: its pid must be a
// tgid of the initial PID namespace (which the program sees), and its
// listening ports come from its fd table.
func nodeOwner(root procRoot, pid int) (kevOwner, error) {
	if err := initialPIDs(root); err != nil {
		return kevOwner{}, err
	}
	listen, err := listenPorts(root, pid)
	if err != nil {
		return kevOwner{}, err
	}
	return kevOwner{tgid: pid, listen: listen}, nil
}

// initialPIDs checks that the pids under root are those of the initial PID
// namespace: the prober's own namespace is (then any /proc it sees is its own
// or an ancestor's, which is the initial one), or pid 1 of root is in it (a
// host's /proc mounted into a container).
func initialPIDs(root procRoot) error {
	var seen []string
	for _, path := range []string{root.self("ns", "pid"), root.pid(1, "ns", "pid")} {
		ns, err := os.Readlink(path)
		if err != nil {
			continue
		}
		if ns == fmt.Sprintf("pid:[%d]", uint32(initialPIDNS)) {
			return nil
		}
		seen = append(seen, path+" is "+ns)
	}
	return fmt.Errorf("soak does not see the initial PID namespace's process ids (%v): "+
		"the witness tells the node's own connections by its tgid there; run soak in the host's PID namespace", seen)
}

// listenPorts returns the TCP ports the process listens on: the LISTEN
// sockets of its namespace whose inodes are among its fds.
func listenPorts(root procRoot, pid int) ([]uint16, error) {
	fsys, err := procfs.NewFS(string(root))
	if err != nil {
		return nil, err
	}
	p, err := fsys.Proc(pid)
	if err != nil {
		return nil, err
	}
	r, err := openFDReader(root, pid)
	if err != nil {
		return nil, fmt.Errorf("listening ports: %w", err)
	}
	defer r.close()
	inodes := map[uint32]int32{}
	if _, err := r.read(p, inodes); err != nil {
		return nil, fmt.Errorf("listening ports: %w", err)
	}
	socks, err := readProcNet(root, pid, nil)
	if err != nil {
		return nil, fmt.Errorf("listening ports: %w", err)
	}
	return appendListenPorts(nil, socks, inodes), nil
}

// appendListenPorts appends the local ports of the LISTEN sockets of dump
// that are the process's (their inodes among its fds), sorted, each once.
func appendListenPorts(out []uint16, dump []sock, inodes map[uint32]int32) []uint16 {
	for i := range dump {
		s := &dump[i]
		if _, ok := inodes[s.inode]; ok && s.inode != 0 && s.state == tcpListen && !slices.Contains(out, s.local.Port()) {
			out = append(out, s.local.Port())
		}
	}
	slices.Sort(out)
	return out
}
