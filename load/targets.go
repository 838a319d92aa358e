package load

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"text/template"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/scenarios"
)

// targeter renders a phase's target templates, one request at a time.
// Request n always gets the same URL: the render is serialised so {{seq}}
// and {{rand N}} depend only on n and the fixed seed.
type targeter struct {
	tmpls  []*scenarios.Template
	data   any
	base   string
	body   []byte
	header http.Header

	// names are the distinct targets as written (scenarios.Requests.TargetNames),
	// nameOf the index in names of each template.
	names  []string
	nameOf []int

	mu  sync.Mutex
	n   uint64 // the next request's number
	seq uint64 // the number of the request being rendered
	rng *rand.Rand
	// pending maps "METHOD URL" of each request sent and not yet
	// attributed to its targets' indexes in names: vegeta's results carry
	// the rendered method and URL, not the template, and come back in any
	// order. It holds the requests in flight only.
	pending map[string][]int
	// live counts each request sent under its target (nil: not counted).
	live *Live
}

// DefaultSeed seeds {{rand N}} when Env.Seed is 0, so runs of a scenario
// send the same requests.
const DefaultSeed = 1

func newTargeter(targets []string, body int64, headers map[string]string, env Env) (*targeter, error) {
	if len(targets) == 0 {
		targets = []string{DefaultTarget}
	}
	seed := env.Seed
	if seed == 0 {
		seed = DefaultSeed
	}
	t := &targeter{data: env.Data, base: strings.TrimRight(env.BaseURL, "/"), header: http.Header{},
		rng: rand.New(rand.NewPCG(seed, seed))}
	funcs := template.FuncMap{
		"rand": func(n int) int {
			if n <= 0 {
				return 0
			}
			return t.rng.IntN(n)
		},
		"seq": func() uint64 { return t.seq },
	}
	t.names = (&scenarios.Requests{Targets: targets}).TargetNames()
	for i, s := range targets {
		tm, err := scenarios.Parse(fmt.Sprintf("target %d", i+1), s, funcs)
		if err != nil {
			return nil, err
		}
		t.tmpls = append(t.tmpls, tm)
		t.nameOf = append(t.nameOf, slices.Index(t.names, strings.TrimSpace(s)))
	}

	if body > 0 {
		t.body = bodyBytes(body)
	}
	for k, v := range headers {
		t.header.Set(k, v)
	}
	// A first render catches templates that refer to missing data before the run.
	for i := range t.tmpls {
		_, u, err := t.render(uint64(i))
		if err != nil {
			return nil, err
		}
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("target %q: %q is not an http URL (is the scenario's target set?)", targets[i], u)
		}
	}
	t.rng = rand.New(rand.NewPCG(seed, seed))
	return t, nil
}

// bodyBytes returns n deterministic bytes (a repeating printable pattern).
func bodyBytes(n int64) []byte {
	const pattern = "soak-load-body-0123456789abcdefghijklmnopqrstuvwxyz\n"
	b := make([]byte, n)
	for i := range b {
		b[i] = pattern[i%len(pattern)]
	}
	return b
}

// render returns the method and URL of request n. Callers hold t.mu or
// have the targeter to themselves.
func (t *targeter) render(n uint64) (method, target string, err error) {
	t.seq = n
	s, err := scenarios.Execute(t.tmpls[n%uint64(len(t.tmpls))], t.data)
	if err != nil {
		return "", "", err
	}
	method, target, ok := strings.Cut(strings.TrimSpace(s), " ")
	target = strings.TrimSpace(target)
	if !ok || method == "" || target == "" {
		return "", "", fmt.Errorf("target %q is not \"METHOD PATH-OR-URL\"", s)
	}
	if strings.HasPrefix(target, "/") {
		target = t.base + target
	}
	return strings.ToUpper(method), target, nil
}

// next renders the next request and notes it for attribute.
func (t *targeter) next() (method, url string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.n
	t.n++
	method, url, err = t.render(n)
	if err != nil {
		return "", "", err
	}
	i := t.nameOf[n%uint64(len(t.tmpls))]
	if t.pending != nil {
		k := method + " " + url
		t.pending[k] = append(t.pending[k], i)
	}
	t.live.sent(i)
	return method, url, nil
}

// track makes next note every request for attribute, whose caller must
// then attribute every result (else the notes pile up). A single target
// needs no notes.
func (t *targeter) track() {
	if len(t.names) > 1 {
		t.pending = map[string][]int{}
	}
}

// attribute returns the index in names of the target a request sent by
// next (its method and URL as vegeta reports them) was made from, -1 if
// it is not known. Call it once per result. Two targets that render the
// same request are told apart in the order they were sent, which keeps
// their counts right.
func (t *targeter) attribute(method, url string) int {
	if t.pending == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := method + " " + url
	q := t.pending[k]
	if len(q) == 0 {
		return -1
	}
	if len(q) == 1 {
		delete(t.pending, k)
	} else {
		t.pending[k] = q[1:]
	}
	return q[0]
}

// vegeta adapts the targeter to vegeta's Targeter (safe for concurrent use).
func (t *targeter) vegeta() vegeta.Targeter {
	return func(tgt *vegeta.Target) error {
		method, url, err := t.next()
		if err != nil {
			return err
		}
		tgt.Method, tgt.URL, tgt.Header = method, url, t.header
		tgt.Body = nil
		if method == http.MethodPut || method == http.MethodPost {
			tgt.Body = t.body
		}
		return nil
	}
}
