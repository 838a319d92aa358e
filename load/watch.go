package load

import (
	"bytes"
	"strconv"
	"time"

	"github.com/soak-dev/soak/record"
)

// peekState is what a peek saw on a silent connection.
type peekState int

const (
	peekUnknown peekState = iota // cannot tell (not Linux, or an odd error)
	peekOpen                     // nothing to read: still open
	peekData                     // the server sent something
	peekEOF                      // the server closed (FIN)
	peekReset                    // the server reset (RST)
)

// watchEvery is how often silent connections are peeked at: the precision
// of the "closed after" figures. Large holds are swept less often (25µs of
// interval per connection: 20,000 -> every 500ms) to keep the sweep's CPU small.
const watchEvery = 250 * time.Millisecond

func watchInterval(n int) time.Duration {
	return max(watchEvery, time.Duration(n)*25*time.Microsecond)
}

// held is a connection the client keeps silent, watched for the server's close.
type held struct {
	c        *ledgerConn
	since    time.Time // when the client went silent
	closedAt time.Time // when the server's close was seen
	status   int       // status of a response the server sent unasked, if any
}

// watchOnce peeks at every held connection still open; those the server
// closed are closed on the client side too (as net/http's transport would),
// so they leave no CLOSE_WAIT socket behind.
func watchOnce(hs []*held, now time.Time) {
	for _, h := range hs {
		if !h.closedAt.IsZero() {
			continue
		}
		st, data := peek(h.c.Conn)
		if len(data) > 0 {
			h.c.mu.Lock()
			h.c.in += int64(len(data))
			h.c.mu.Unlock()
			if h.status == 0 {
				h.status = statusOf(data)
			}
		}
		if st == peekEOF || st == peekReset {
			h.closedAt = now
			h.c.markServerClosed(now)
			h.c.Close()
		}
	}
}

// statusOf parses the status code of "HTTP/1.1 408 ...", 0 if none.
func statusOf(b []byte) int {
	if !bytes.HasPrefix(b, []byte("HTTP/")) {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	code, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return 0
	}
	return code
}

// closeFigures adds to extra how many held connections the server closed
// and after how long (ms, from when they went silent): min, p50, max.
func closeFigures(extra map[string]float64, prefix string, hs []*held, res *record.PhaseResult) {
	var ages []float64
	for _, h := range hs {
		if h.status != 0 && res != nil {
			res.StatusCodes[strconv.Itoa(h.status)]++
		}
		if !h.closedAt.IsZero() {
			ages = append(ages, float64(h.closedAt.Sub(h.since).Milliseconds()))
		}
	}
	extra[prefix+"closed_by_server"] = float64(len(ages))
	if len(ages) == 0 {
		return
	}
	sortFloats(ages)
	extra[prefix+"closed_after_ms_min"] = ages[0]
	extra[prefix+"closed_after_ms_p50"] = ages[len(ages)/2]
	extra[prefix+"closed_after_ms_max"] = ages[len(ages)-1]
}
