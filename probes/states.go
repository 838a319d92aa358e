package probes

// Kernel TCP states (include/net/tcp_states.h).
const (
	tcpEstablished = 1
	tcpSynSent     = 2
	tcpSynRecv     = 3
	tcpFinWait1    = 4
	tcpFinWait2    = 5
	tcpTimeWait    = 6
	tcpClose       = 7
	tcpCloseWait   = 8
	tcpLastAck     = 9
	tcpListen      = 10
	tcpClosing     = 11
	tcpNewSynRecv  = 12
)

var stateNames = [...]string{
	tcpEstablished: "ESTABLISHED",
	tcpSynSent:     "SYN_SENT",
	tcpSynRecv:     "SYN_RECV",
	tcpFinWait1:    "FIN_WAIT1",
	tcpFinWait2:    "FIN_WAIT2",
	tcpTimeWait:    "TIME_WAIT",
	tcpClose:       "CLOSE",
	tcpCloseWait:   "CLOSE_WAIT",
	tcpLastAck:     "LAST_ACK",
	tcpListen:      "LISTEN",
	tcpClosing:     "CLOSING",
	tcpNewSynRecv:  "SYN_RECV", // a request socket: still SYN_RECV to a reader
}

func stateName(st uint8) string {
	if int(st) < len(stateNames) && stateNames[st] != "" {
		return stateNames[st]
	}
	return "UNKNOWN"
}
