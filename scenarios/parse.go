package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// MaxFileSize bounds a scenario file, so a wrong path (a log, a binary) fails fast.
const MaxFileSize = 4 << 20

// ParseScenario parses and validates a scenario. file names it in errors. On
// failure the error is an Errors listing every problem found, each with
// file:line:col and the field path.
func ParseScenario(file string, data []byte) (*Scenario, error) {
	if len(data) > MaxFileSize {
		return nil, Errors{{File: file, Msg: fmt.Sprintf("file is %d bytes; a scenario is at most %d", len(data), MaxFileSize)}}
	}
	if e := checkEncoding(file, data); e != nil {
		return nil, Errors{e}
	}
	data = bytes.TrimPrefix(data, utf8BOM) // some editors on Windows write one
	// Lines, keys and flow items bound the tokens from below: refuse a file
	// with too many before the lexer spends seconds and 300 MB on 4 MiB.
	if n := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte(":")) + bytes.Count(data, []byte(",")); n > MaxTokens {
		return nil, Errors{{File: file, Msg: fmt.Sprintf("%d lines, keys and list items; a scenario has at most %d (is this the right file?)", n, MaxTokens)}}
	}
	tokens := lexer.Tokenize(string(data))
	if e := checkNesting(file, tokens); e != nil {
		return nil, Errors{e}
	}
	f, err := parser.Parse(tokens, 0)
	if err != nil {
		return nil, Errors{syntaxError(file, err)}
	}
	var body ast.Node
	var anchors map[string]ast.Node
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			if body != nil {
				return nil, Errors{{File: file, Line: d.Body.GetToken().Position.Line, Col: 1, Msg: "more than one YAML document; a scenario file holds one"}}
			}
			body, anchors = expandMerges(d.Body)
		}
	}
	if body == nil {
		return nil, Errors{{File: file, Msg: "empty scenario file"}}
	}
	w := &walker{file: file, pos: map[string]*token.Position{}, anchors: anchors, aliasBudget: maxAliasNodes, vars: topVars(body)}
	if !w.walk(body, reflect.TypeOf(Scenario{}), "") {
		return nil, w.errs.sorted()
	}
	sc := &Scenario{}
	if err := decode(body, sc); err != nil {
		// The walk should have caught it; report it with its position anyway.
		return nil, append(w.errs, syntaxError(file, err)).sorted()
	}
	v := &validator{walker: w}
	v.scenario(sc)
	if len(w.errs) > 0 {
		return nil, w.errs.sorted()
	}
	sc.applyDefaults()
	return sc, nil
}

var utf8BOM = []byte("\xef\xbb\xbf")

// checkEncoding refuses UTF-16 (with or without a byte order mark): go-yaml
// would report the whole file, NULs and all, as one bad token.
func checkEncoding(file string, data []byte) *Error {
	utf16 := bytes.HasPrefix(data, []byte("\xfe\xff")) || bytes.HasPrefix(data, []byte("\xff\xfe")) ||
		len(data) >= 2 && (data[0] == 0) != (data[1] == 0)
	if utf16 {
		return &Error{File: file, Line: 1, Col: 1, Msg: "the file is UTF-16, which is not supported: save it as UTF-8"}
	}
	return nil
}

// internalError marks a decoder panic turned into an error (see decode).
const internalError = "internal error decoding the file"

// decode runs go-yaml's decoder on the checked tree. A panic in it (a bug
// of the library on input the walk let through) becomes an error, so bad
// input never crashes soak; FuzzParseScenario still fails on it.
func decode(body ast.Node, sc *Scenario) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s (please report it with the file): %v", internalError, r)
		}
	}()
	return yaml.NodeToValue(body, sc, yaml.Strict())
}

// LoadFile reads and parses the scenario at path.
func LoadFile(path string) (*Scenario, []byte, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	sc, err := ParseScenario(path, data)
	return sc, data, err
}

// Read returns the text of a built-in scenario (by name, see
// BuiltinNames; a file of that name wins) or of the file at nameOrPath,
// and the name errors cite: "builtin:NAME" or the path.
func Read(nameOrPath string) (file string, data []byte, err error) {
	if data, ok := Builtin(nameOrPath); ok {
		if _, err := os.Stat(nameOrPath); err != nil {
			return "builtin:" + nameOrPath, data, nil
		}
	}
	data, err = readFile(nameOrPath)
	return nameOrPath, data, err
}

// Load parses a built-in scenario by name (see BuiltinNames) or the file
// at path, once, after applying the --set overrides sets to its text. data
// is the effective text (what a run keeps as scenario.yaml). An error in
// the file that an override fixes is no error.
func Load(nameOrPath string, sets ...string) (sc *Scenario, data []byte, err error) {
	file, data, err := Read(nameOrPath)
	if err != nil {
		return nil, nil, err
	}
	if len(sets) > 0 {
		if data, err = Override(file, data, sets); err != nil {
			return nil, nil, err
		}
	}
	sc, err = ParseScenario(file, data)
	return sc, data, err
}

func readFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("scenario %s: no such file (built-ins: %s)", path, strings.Join(BuiltinNames(), ", "))
		}
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("scenario %s is a directory, not a YAML file", path)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("scenario %s is %d bytes; a scenario is at most %d", path, st.Size(), MaxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return data, nil
}

// syntaxError turns a go-yaml error into an Error with its position.
func syntaxError(file string, err error) *Error {
	e := &Error{File: file, Msg: err.Error()}
	var tokErr interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if errors.As(err, &tokErr) && tokErr.GetToken() != nil {
		p := tokErr.GetToken().Position
		e.Line, e.Col, e.Msg = p.Line, p.Column, tokErr.GetMessage()
	} else if i := strings.Index(e.Msg, "] "); strings.HasPrefix(e.Msg, "[") && i > 0 {
		fmt.Sscanf(e.Msg[1:i], "%d:%d", &e.Line, &e.Col)
		e.Msg = e.Msg[i+2:]
	}
	if nl := strings.IndexByte(e.Msg, '\n'); nl > 0 {
		e.Msg = e.Msg[:nl]
	}
	return e
}

// Override applies key=value settings to a scenario's YAML text, e.g.
// "layers.client.idle_timeout=4s" or "phases[0].steady.rate=100/s", and
// returns the new text. Only fields present in the file can be set. A
// one-line scalar is replaced in place, so the rest of the text (layout,
// comments, and the line:col of later errors) stays as the user wrote it;
// anything else re-serializes the file.
func Override(file string, data []byte, sets []string) ([]byte, error) {
	for _, s := range sets {
		key, val, ok := strings.Cut(s, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("--set %q: want key=value, e.g. layers.client.idle_timeout=4s", s)
		}
		if err := checkSetKey(key); err != nil {
			return nil, fmt.Errorf("--set %q: bad key: %w", s, err)
		}
		out, err := override(file, data, key, val)
		if err != nil {
			return nil, fmt.Errorf("--set %q: %w", s, err)
		}
		data = out
	}
	return data, nil
}

// override sets one field. go-yaml's path code has panicked on odd paths
// and empty values; a panic left is reported as an error, never a crash.
func override(file string, data []byte, key, val string) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%s (please report it with the --set): %v", internalError, r)
		}
	}()
	f, err := parser.ParseBytes(data, parser.ParseComments)
	if err != nil {
		return nil, Errors{syntaxError(file, err)}
	}
	p, err := yaml.PathString("$." + key)
	if err != nil {
		return nil, fmt.Errorf("bad key: %w", err)
	}
	n, err := p.FilterFile(f)
	if err != nil || n == nil {
		return nil, fmt.Errorf("%s has no field %s (only fields present in the file can be set)", file, key)
	}
	if out, ok := spliceScalar(data, n, val); ok {
		return out, nil
	}
	if strings.TrimSpace(val) == "" {
		val = "null" // as the in-place edit of a scalar leaves it; go-yaml panics on no node at all
	}
	if err := p.ReplaceWithReader(f, strings.NewReader(val)); err != nil {
		return nil, err
	}
	return []byte(f.String() + "\n"), nil
}

// checkSetKey accepts a plain field path: names joined by dots, each maybe
// indexed ("phases[0].steady.rate"). go-yaml's path syntax also has
// recursive descent (".rate" becomes "$..rate") and wildcards, which would
// set many fields at once, or none with a panic.
func checkSetKey(key string) error {
	if strings.HasPrefix(key, ".") || strings.HasPrefix(key, "[") {
		return errors.New("starts with a separator; write the full path from the top, e.g. phases[0].steady.rate")
	}
	for _, seg := range strings.Split(key, ".") {
		name, _, _ := strings.Cut(seg, "[")
		if name == "" {
			return fmt.Errorf("empty name in %q", key)
		}
		if strings.ContainsAny(seg, "*'\"") {
			return fmt.Errorf("%q: wildcards and quotes are not supported", seg)
		}
	}
	return nil
}

// spliceScalar replaces the text of the one-line scalar n in data with val,
// or says it cannot (then the caller re-serializes).
func spliceScalar(data []byte, n ast.Node, val string) ([]byte, bool) {
	if _, ok := scalarText(n); !ok || strings.ContainsAny(val, "\r\n") {
		return nil, false
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return nil, false
	}
	raw := strings.TrimSpace(tk.Origin)
	if raw == "" || strings.ContainsAny(raw, "\r\n") {
		return nil, false
	}
	// The token's line and (rune) column locate it; its text must be there.
	start, line := 0, 1
	for line < tk.Position.Line {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			return nil, false
		}
		start += i + 1
		line++
	}
	for col := 1; col < tk.Position.Column && start < len(data); col++ {
		_, size := utf8.DecodeRune(data[start:])
		start += size
	}
	if !bytes.HasPrefix(data[start:], []byte(raw)) {
		return nil, false
	}
	out := make([]byte, 0, len(data)+len(val))
	out = append(out, data[:start]...)
	out = append(out, val...)
	return append(out, data[start+len(raw):]...), true
}
