package probes

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/soak-dev/soak/record"
)

func init() {
	registerSource(stageGoroutines, "goroutines", func(s *Sampler) (source, error) { return &goroutineSource{s: s}, nil })
}

var _ source = (*goroutineSource)(nil)

// goroutineSource counts goroutines by class from the node's pprof
// endpoint, else go_goroutines from its metrics, else its OS threads. The
// HTTP fetch runs while the other sources read /proc and netlink.
type goroutineSource struct {
	s  *Sampler
	ch chan goroutineResult // this tick's fetch
}

func (g *goroutineSource) start(ctx context.Context, _ *tick) {
	g.ch = make(chan goroutineResult, 1)
	go func() { g.ch <- g.fetch(ctx) }()
}

// finish joins the fetch; it runs before the sockets source classifies
// the dump, which must know the fetch's own connection.
func (g *goroutineSource) finish(_ context.Context, t *tick) {
	r := <-g.ch
	if t.gone {
		return
	}
	t.out.Errors = append(t.out.Errors, r.errs...)
	t.out.Goroutines = r.g
	if t.out.Goroutines == nil && t.out.Process != nil {
		t.out.Goroutines = &record.Goroutines{Total: t.out.Process.Threads, Source: record.SourceThreads}
	}
}

func (g *goroutineSource) close() []record.Conn { return nil }

type goroutineResult struct {
	g    *record.Goroutines
	errs []string
}

// fetch tries pprof, then metrics; finish falls back to threads.
func (g *goroutineSource) fetch(ctx context.Context) goroutineResult {
	s := g.s
	var r goroutineResult
	if s.target.GoroutinesURL != "" {
		err := s.fetch.get(ctx, s.target.GoroutinesURL, func(body io.Reader) error {
			g, err := ParseGoroutines(body, s.topStacks)
			r.g = g
			return err
		})
		if err == nil {
			return r
		}
		r.g = nil
		r.errs = append(r.errs, "goroutines: pprof: "+err.Error())
	}
	if s.target.MetricsURL != "" {
		err := s.fetch.get(ctx, s.target.MetricsURL, func(body io.Reader) error {
			n, err := ParseGoGoroutines(body)
			if err == nil {
				r.g = &record.Goroutines{Total: n, Source: record.SourceMetrics}
			}
			return err
		})
		if err == nil {
			return r
		}
		r.errs = append(r.errs, "goroutines: metrics: "+err.Error())
	}
	return r
}

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
