package scenarios

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/soak-dev/soak/internal/suggest"
)

// walker checks a YAML tree against the Go schema before decoding: unknown
// fields, wrong types and bad scalar values are collected with positions,
// so a file's errors are all reported at once (a decoder stops at the first).
// It also records the position of every path for later semantic errors.
type walker struct {
	file string
	errs Errors
	pos  map[string]*token.Position
	// bad holds the paths dropped from the tree for their errors, so the
	// rest still decodes and validates, and later checks stay quiet on them.
	bad map[string]bool
	// anchors by name, so an alias is checked as the field it stands for;
	// aliasBudget bounds the nodes walked through aliases (a billion laughs,
	// an alias inside its own anchor).
	anchors     map[string]ast.Node
	aliasBudget int
	inAlias     bool
	// vars are the scenario's vars, for a value with units (a duration,
	// rate or size) given as a template of them: idle_timeout: "{{.Vars.idle}}".
	vars map[string]string
}

// maxAliasNodes bounds the nodes the walk visits through aliases.
const maxAliasNodes = 10000

var scalarCheckerType = reflect.TypeOf((*scalarChecker)(nil)).Elem()

func (w *walker) errorf(n ast.Node, path, format string, args ...any) {
	if w.bad == nil {
		w.bad = map[string]bool{}
	}
	w.bad[path] = true
	e := &Error{File: w.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		if p := nodePos(n); p != nil {
			e.Line, e.Col = p.Line, p.Column
		}
	}
	w.errs = append(w.errs, e)
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// walk checks n against t and reports whether n is fine; the bad children
// of mappings and lists are removed from the tree.
func (w *walker) walk(n ast.Node, t reflect.Type, path string) bool {
	if n == nil {
		return true
	}
	before := len(w.errs)
	if n = unwrap(n); n == nil {
		return true
	}
	if p := nodePos(n); p != nil {
		w.pos[path] = p
	}
	if _, ok := n.(*ast.NullNode); ok {
		return true
	}
	if w.inAlias {
		if w.aliasBudget--; w.aliasBudget < 0 {
			return true // reported once, at the alias that ran out
		}
	}
	if a, ok := n.(*ast.AliasNode); ok {
		return w.alias(a, t, path)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(scalarCheckerType) {
		s, ok := scalarText(n)
		if !ok {
			w.errorf(n, path, "must be a single value, not %s", describe(n))
			return false
		}
		if sn, isStr := n.(*ast.StringNode); isStr && strings.Contains(s, "{{") {
			// Rendered now, so the node command and the layer share one
			// value: --set vars.idle=20s changes both.
			r, err := Render(path, s, TemplateData{Vars: w.vars}, nil)
			if err != nil {
				w.errorf(n, path, "%q does not render: a value with units may use only vars (%s)", s, strings.Join(slices.Sorted(maps.Keys(w.vars)), ", "))
				return false
			}
			sn.Value, sn.Token.Value = r, r
			if err := reflect.New(t).Interface().(scalarChecker).checkScalar(r); err != nil {
				w.errorf(n, path, "%v (rendered from %q)", err, s)
				return false
			}
			return true
		}
		if err := reflect.New(t).Interface().(scalarChecker).checkScalar(s); err != nil {
			w.errorf(n, path, "%v", err)
			return false
		}
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		pairs, ok := mappingPairs(n)
		if !ok {
			w.errorf(n, path, "must be a mapping of fields, not %s", describe(n))
			return false
		}
		fields := structFields(t)
		return w.keepPairs(n, pairs, func(kv *ast.MappingValueNode, key string) bool {
			if isMergeKey(kv) {
				return w.walkMerge(kv.Value, t, path)
			}
			ft, ok := fields[key]
			if !ok {
				w.errorf(kv.Key, join(path, key), "unknown field%s", suggestField(key, fields))
				return false
			}
			return w.walk(kv.Value, ft, join(path, key))
		})
	case reflect.Map:
		pairs, ok := mappingPairs(n)
		if !ok {
			w.errorf(n, path, "must be a mapping of names, not %s", describe(n))
			return false
		}
		return w.keepPairs(n, pairs, func(kv *ast.MappingValueNode, key string) bool {
			if isMergeKey(kv) {
				return w.walkMerge(kv.Value, t, path)
			}
			w.pos[join(path, key)+"#key"] = kv.Key.GetToken().Position
			return w.walk(kv.Value, t.Elem(), join(path, key))
		})
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			w.errorf(n, path, "must be a list, not %s", describe(n))
			return false
		}
		kept := seq.Values[:0:0]
		for i, v := range seq.Values {
			if w.walk(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i)) {
				kept = append(kept, v)
			} else {
				kept = append(kept, ast.Null(v.GetToken()))
			}
		}
		seq.Values = kept
		return true
	case reflect.String:
		if _, ok := scalarText(n); !ok {
			w.errorf(n, path, "must be a string, not %s", describe(n))
		}
	case reflect.Bool:
		if _, ok := n.(*ast.BoolNode); !ok {
			w.errorf(n, path, "must be true or false, not %s", describe(n))
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if _, ok := n.(*ast.IntegerNode); !ok {
			w.errorf(n, path, "must be a whole number, not %s", describe(n))
		}
	case reflect.Float64:
		switch n.(type) {
		case *ast.IntegerNode, *ast.FloatNode:
		default:
			w.errorf(n, path, "must be a number, not %s", describe(n))
		}
	}
	return len(w.errs) == before
}

// keepPairs walks the pairs of a mapping with check and drops the bad ones
// from it; a lone pair (a one-entry mapping) that is bad makes the whole
// mapping bad, for its parent to drop.
func (w *walker) keepPairs(n ast.Node, pairs []*ast.MappingValueNode, check func(*ast.MappingValueNode, string) bool) bool {
	kept := pairs[:0:0]
	for _, kv := range pairs {
		if check(kv, kv.Key.GetToken().Value) {
			kept = append(kept, kv)
		}
	}
	if m, ok := n.(*ast.MappingNode); ok {
		m.Values = kept
		return true
	}
	return len(kept) == len(pairs)
}

func mappingPairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	}
	return nil, false
}

func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.LiteralNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	}
	return "", false
}

func describe(n ast.Node) string {
	switch v := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode:
		return strconv.Quote(v.Value)
	}
	if s, ok := scalarText(n); ok {
		return strconv.Quote(s)
	}
	return n.Type().String()
}

// structFields maps yaml keys to field types, following inline structs.
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			for k, v := range structFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		out[name] = f.Type
	}
	return out
}

// suggestField names the closest known field, or lists them.
func suggestField(key string, fields map[string]reflect.Type) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestD := "", 3
	for _, n := range names {
		if d := suggest.Distance(strings.ToLower(key), n); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Sprintf(" (known: %s)", strings.Join(names, ", "))
}

// nodePos is where a node starts for an error message. A block mapping's
// token is the ':' of its first pair, so point at that pair's key instead.
func nodePos(n ast.Node) *token.Position {
	switch v := n.(type) {
	case nil:
		return nil
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 && v.Values[0].Key != nil && v.Values[0].Key.GetToken() != nil {
			return v.Values[0].Key.GetToken().Position
		}
	case *ast.MappingValueNode:
		if v.Key != nil && v.Key.GetToken() != nil {
			return v.Key.GetToken().Position
		}
	}
	if tok := n.GetToken(); tok != nil {
		return tok.Position
	}
	return nil
}

// isMergeKey tells a YAML merge key ("<<: *defaults"), which lets a file
// share common fields between entries.
func isMergeKey(kv *ast.MappingValueNode) bool {
	_, ok := kv.Key.(*ast.MergeKeyNode)
	return ok
}

// walkMerge checks the value of a merge key: a mapping or alias of the same
// type as the mapping it is merged into, or a list of them.
func (w *walker) walkMerge(n ast.Node, t reflect.Type, path string) bool {
	if seq, ok := unwrap(n).(*ast.SequenceNode); ok {
		good := true
		for _, v := range seq.Values {
			good = w.walkMerge(v, t, path) && good
		}
		return good
	}
	switch unwrap(n).(type) {
	case *ast.AliasNode, *ast.MappingNode, *ast.MappingValueNode:
		return w.walk(n, t, path)
	}
	w.errorf(n, path+".<<", "a merge key takes a mapping or an alias (<<: *name), not %s", describe(unwrap(n)))
	return false
}

// alias checks what an alias stands for against the type of the field it
// is used as: the anchor may be checked as something else where it stands
// (or not at all, under vars), and the decoder's error would have no path.
func (w *walker) alias(a *ast.AliasNode, t reflect.Type, path string) bool {
	if a.Value == nil || a.Value.GetToken() == nil {
		return true // the decoder reports it
	}
	target, ok := w.anchors[a.Value.GetToken().Value]
	if !ok {
		return true // an unknown anchor: the parser reports it
	}
	outer := w.inAlias
	w.inAlias = true
	before := len(w.errs)
	fine := w.walk(target, t, path)
	w.inAlias = outer
	if !outer && w.aliasBudget < 0 {
		w.errorf(a, path, "aliases expand to more than %d values; a scenario needs a few", maxAliasNodes)
		return false
	}
	// The errors are the anchor's, at its position: say which alias used it.
	for _, e := range w.errs[before:] {
		if p := nodePos(a); p != nil && !strings.Contains(e.Msg, "(through the alias at") {
			e.Msg += fmt.Sprintf(" (through the alias at line %d)", p.Line)
		}
	}
	return fine
}

// topVars returns the string values of the top-level vars mapping of body.
func topVars(body ast.Node) map[string]string {
	vars := map[string]string{}
	pairs, ok := mappingPairs(unwrap(body))
	if !ok {
		return vars
	}
	for _, kv := range pairs {
		if kv.Key.GetToken().Value != "vars" {
			continue
		}
		inner, ok := mappingPairs(unwrap(kv.Value))
		if !ok {
			return vars
		}
		for _, v := range inner {
			if s, ok := scalarText(unwrap(v.Value)); ok {
				vars[v.Key.GetToken().Value] = s
			}
		}
	}
	return vars
}
