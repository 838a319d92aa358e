package probes

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ParseGoGoroutines returns the value of go_goroutines from a Prometheus text
// exposition. A small parser instead of prometheus/common's expfmt: that
// module is not in soak's module graph, and one unlabelled gauge needs only
// "name value [timestamp]" lines.
func ParseGoGoroutines(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "go_goroutines")
		if !ok || rest == "" {
			continue
		}
		if rest[0] == '{' {
			// Labels (e.g. from a federating exporter): skip to the value.
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				return 0, fmt.Errorf("bad go_goroutines line %q", clip(line))
			}
			rest = rest[end+1:]
		} else if rest[0] != ' ' && rest[0] != '\t' {
			continue // another metric whose name starts with go_goroutines
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, fmt.Errorf("bad go_goroutines line %q", clip(line))
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil || math.IsNaN(v) || v < 0 || v > math.MaxInt32 {
			return 0, fmt.Errorf("bad go_goroutines value %q", clip(fields[0]))
		}
		return int(v), nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	return 0, errors.New("no go_goroutines metric")
}
