package probes

import "github.com/soak-dev/soak/series"

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

// stateNames names kernel states as package series does, so the names in
// samples are the ones scenarios write.
var stateNames = [...]string{
	tcpEstablished: series.Established,
	tcpSynSent:     series.SynSent,
	tcpSynRecv:     series.SynRecv,
	tcpFinWait1:    series.FinWait1,
	tcpFinWait2:    series.FinWait2,
	tcpTimeWait:    series.TimeWait,
	tcpClose:       series.Close,
	tcpCloseWait:   series.CloseWait,
	tcpLastAck:     series.LastAck,
	tcpListen:      series.Listen,
	tcpClosing:     series.Closing,
	tcpNewSynRecv:  series.SynRecv, // a request socket: still SYN_RECV to a reader
}

func stateName(st uint8) string {
	if int(st) < len(stateNames) && stateNames[st] != "" {
		return stateNames[st]
	}
	return "UNKNOWN"
}
