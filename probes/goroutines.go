package probes

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/soak-dev/soak/record"
)

// classRules map a frame's function to a goroutine class. A goroutine takes
// the class of the first rule any of its frames matches, so a handler
// running inside (*conn).serve still counts as server-conn.
var classRules = []struct {
	prefix string
	class  string
}{
	{"net/http.(*conn).serve", record.ClassServerConn},
	{"net/http.(*persistConn).readLoop", record.ClassTransportRead},
	{"net/http.(*persistConn).writeLoop", record.ClassTransportWrite},
	{"github.com/valyala/fasthttp.(*workerPool)", record.ClassFasthttpServer},
	{"github.com/valyala/fasthttp.(*Server).serveConn", record.ClassFasthttpServer},
	{"github.com/valyala/fasthttp.(*HostClient)", record.ClassFasthttpClient},
	{"github.com/valyala/fasthttp.(*PipelineClient)", record.ClassFasthttpClient},
	{"github.com/valyala/fasthttp.(*pipelineConnClient)", record.ClassFasthttpClient},
}

// errNoHeader reports input that is not a debug=1 goroutine profile.
var errNoHeader = errors.New(`no "goroutine profile: total N" header`)

// maxStackLines bounds how much of a garbage body the parser reads.
const maxStackLines = 4 << 20

// ParseGoroutines parses a /debug/pprof/goroutine?debug=1 profile into counts
// by class and the top "other" stacks (merged by function). It checks that
// the groups add up to the header's total, so a truncated body is an error.
func ParseGoroutines(r io.Reader, top int) (*record.Goroutines, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	g := &record.Goroutines{Source: record.SourcePprof, ByClass: map[string]int{}}
	header := false
	counted := 0
	others := map[string]int{}
	var (
		inGroup bool
		count   int
		class   string
		inner   string // innermost frame outside the runtime
		first   string // innermost frame of all
	)
	flush := func() {
		if !inGroup {
			return
		}
		if class == "" {
			class = record.ClassOther
			f := inner
			if f == "" {
				f = first
			}
			if f == "" {
				f = "(no frames)" // e.g. a goroutine that has not started yet
			}
			others[f] += count
		}
		g.ByClass[class] += count
		counted += count
		inGroup = false
	}
	for lines := 0; sc.Scan(); lines++ {
		if lines > maxStackLines {
			return nil, errors.New("goroutine profile too long")
		}
		line := sc.Text()
		if !header {
			if strings.TrimSpace(line) == "" {
				continue
			}
			n, ok := strings.CutPrefix(line, "goroutine profile: total ")
			if !ok {
				return nil, errNoHeader
			}
			total, err := strconv.Atoi(strings.TrimSpace(n))
			if err != nil || total < 0 {
				return nil, fmt.Errorf("bad goroutine total %q", n)
			}
			g.Total = total
			header = true
			continue
		}
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "#\t"):
			if !inGroup {
				return nil, fmt.Errorf("frame outside a stack group: %q", clip(line))
			}
			fn := frameFunc(line)
			if first == "" {
				first = fn
			}
			if inner == "" && !runtimeFrame(fn) {
				inner = fn
			}
			if class == "" {
				class = classify(fn)
			}
		case strings.HasPrefix(line, "# labels:"), strings.HasPrefix(line, "#"):
			// pprof labels and other annotations carry no frame.
		default:
			n, _, ok := strings.Cut(line, " @ ")
			if !ok {
				// debug=1 ends with nothing else; anything unknown is not a profile we understand.
				return nil, fmt.Errorf("unexpected line %q", clip(line))
			}
			c, err := strconv.Atoi(n)
			if err != nil || c < 0 {
				return nil, fmt.Errorf("bad stack count %q", clip(n))
			}
			flush()
			inGroup, count, class, inner, first = true, c, "", "", ""
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read goroutine profile: %w", err)
	}
	if !header {
		return nil, errNoHeader
	}
	flush()
	if counted != g.Total {
		return nil, fmt.Errorf("stack groups count %d goroutines, header says %d (truncated?)", counted, g.Total)
	}
	g.Top = topStacks(others, top)
	return g, nil
}

// frameFunc extracts the function from "#\t0x4a1b2c\tpkg.Func+0x1f\tfile:line".
func frameFunc(line string) string {
	f := strings.Split(line, "\t")
	if len(f) < 3 {
		return ""
	}
	fn := f[2]
	if i := strings.LastIndex(fn, "+0x"); i > 0 {
		fn = fn[:i]
	}
	return strings.TrimSpace(fn)
}

// runtimeFrame tells frames that only say "waiting" (park, select, locks,
// syscalls) from the ones that name what the goroutine is for.
func runtimeFrame(fn string) bool {
	for _, p := range []string{"runtime.", "internal/", "sync.", "syscall.", "time.Sleep", "io.", "bufio.", "os.(",
		"net.(*netFD)", "net.(*conn)", "net.(*TCPListener)", "net.(*UnixListener)"} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

func classify(fn string) string {
	for _, r := range classRules {
		if strings.HasPrefix(fn, r.prefix) {
			return r.class
		}
	}
	return ""
}

func topStacks(m map[string]int, n int) []record.Stack {
	if n <= 0 || len(m) == 0 {
		return nil
	}
	out := make([]record.Stack, 0, len(m))
	for f, c := range m {
		out = append(out, record.Stack{Count: c, Func: f})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Func < out[j].Func
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// clip keeps error strings from garbage input short.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
