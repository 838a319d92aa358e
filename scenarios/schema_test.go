package scenarios

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// schemaFile is the JSON Schema editors use (yaml-language-server); it is
// generated from the Go types by TestSchemaUpToDate (go test -update).
const schemaFile = "scenario.schema.json"

// jsonSchema is the subset of JSON Schema 2020-12 the generator writes, in
// a fixed key order so the file diffs well.
type jsonSchema struct {
	Schema               string                 `json:"$schema,omitempty"`
	ID                   string                 `json:"$id,omitempty"`
	Title                string                 `json:"title,omitempty"`
	Description          string                 `json:"description,omitempty"`
	Ref                  string                 `json:"$ref,omitempty"`
	Type                 any                    `json:"type,omitempty"`
	Pattern              string                 `json:"pattern,omitempty"`
	Enum                 []string               `json:"enum,omitempty"`
	Minimum              *float64               `json:"minimum,omitempty"`
	Maximum              *float64               `json:"maximum,omitempty"`
	Examples             []any                  `json:"examples,omitempty"`
	Items                *jsonSchema            `json:"items,omitempty"`
	MinItems             *int                   `json:"minItems,omitempty"`
	Properties           map[string]*jsonSchema `json:"properties,omitempty"`
	Required             []string               `json:"required,omitempty"`
	AdditionalProperties any                    `json:"additionalProperties,omitempty"`
	PropertyNames        *jsonSchema            `json:"propertyNames,omitempty"`
	MinProperties        *int                   `json:"minProperties,omitempty"`
	MaxProperties        *int                   `json:"maxProperties,omitempty"`
	OneOf                []*jsonSchema          `json:"oneOf,omitempty"`
	Defs                 map[string]*jsonSchema `json:"$defs,omitempty"`
}

func ptr[T any](v T) *T { return &v }

// Unit patterns: what ParseDuration, ParseRate and ParseByteSize accept in
// their usual spellings (TestSchemaPatterns keeps them honest).
const (
	durationNumber  = `([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)`
	durationPattern = `^\s*\+?(0|(` + durationNumber + `)+)\s*$`
	ratePattern     = `^\s*\+?[0-9]+\s*(/\s*(s|sec|second|m|min|minute|h|hour|(` + durationNumber + `)+)\s*)?$`
	sizePattern     = `^\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*(KiB|MiB|GiB|TiB|KB|MB|GB|TB|K|M|G|B)?\s*$`
	namePattern     = `^[A-Za-z_][A-Za-z0-9_]*$`
)

// schemaUnits are the scalar types written as strings in YAML.
var schemaUnits = map[reflect.Type]*jsonSchema{
	reflect.TypeOf(Duration(0)): {Type: "string", Pattern: durationPattern, Examples: []any{"250ms", "6s", "1h30m"},
		Description: "A duration as Go writes it (250ms, 6s, 1h30m); a bare number other than 0 is refused."},
	reflect.TypeOf(Rate{}): {Type: []string{"string", "integer"}, Pattern: ratePattern, Minimum: ptr(0.0), Examples: []any{"200/s", "30/m", "5/500ms"},
		Description: "A request rate: COUNT/UNIT (s, m, h or a duration such as 500ms); a bare number is per second."},
	reflect.TypeOf(ByteSize(0)): {Type: []string{"string", "integer"}, Pattern: sizePattern, Minimum: ptr(0.0), Examples: []any{"4KiB", "1MiB", 512},
		Description: "A size in bytes: a number with an optional unit (B, K/KiB, M/MiB, G/GiB, TiB; KB, MB, GB, TB are powers of 1000)."},
}

// schemaExtra adds what the Go types cannot say: enums, ranges, names, and
// whether a field that is not omitempty is still optional.
var schemaExtra = map[string]func(*jsonSchema){
	"Backend.kind":      func(s *jsonSchema) { s.Enum = BackendKinds },
	"Slow.mode":         func(s *jsonSchema) { s.Enum = []string{"headers", "body", "read"} },
	"Abandon.send":      func(s *jsonSchema) { s.Enum = []string{"nothing", "partial-headers", "partial-body"} },
	"Faults.error_rate": probability, "Faults.reset_rate": probability, "Faults.stall_rate": probability,
	"Faults.error_code":       func(s *jsonSchema) { s.Minimum, s.Maximum = nil, ptr(599.0) },
	"Faults.seed":             func(s *jsonSchema) { s.Minimum = nil },
	"Node.ready":              func(s *jsonSchema) { s.Pattern = `^(https?|tcp)://` },
	"Node.ports":              func(s *jsonSchema) { s.Items.Pattern = namePattern },
	"Scenario.interval":       func(s *jsonSchema) { s.Examples = []any{"1s", "500ms"} },
	"Scenario.phases":         func(s *jsonSchema) { s.MinItems = ptr(1) },
	"Scenario.nodes":          func(s *jsonSchema) { s.MinProperties = ptr(1) },
	"Scenario.cycles":         func(s *jsonSchema) { s.Minimum = ptr(1.0) },
	"Phase.repeat":            func(s *jsonSchema) { s.Minimum = ptr(1.0) },
	"DrainCheck.to":           func(s *jsonSchema) { s.Pattern = `^(baseline|[0-9]+)$` },
	"BaselineCheck.tolerance": func(s *jsonSchema) { s.Pattern = `^[0-9]+(\.[0-9]*)?%?$` },
}

func probability(s *jsonSchema) { s.Type, s.Minimum, s.Maximum = "number", ptr(0.0), ptr(1.0) }

// schemaOptional are fields without omitempty that a file may still leave out.
var schemaOptional = map[string]bool{"Ramp.from": true, "MaxCheck.value": true, "Synthetic.size": true}

// schemaDocs describes fields whose doc comment is missing or shared.
var schemaDocs = map[string]string{
	"Synthetic.prefix":           "Key prefix: a GET of any key under it returns generated bytes. Required.",
	"Synthetic.size":             "Size of each synthetic object.",
	"Faults.latency":             "Latency is added before each response.",
	"Steady.rate":                "Requests per time unit, e.g. 200/s. Required.",
	"Steady.duration":            "How long the phase runs. Required.",
	"Ramp.from":                  "Rate at the start. Default 0.",
	"Ramp.to":                    "Rate at the end. Required.",
	"Ramp.duration":              "How long the ramp takes. Required.",
	"Burst.count":                "Requests per burst. Required.",
	"Burst.bursts":               "Number of bursts. Default 1.",
	"Burst.pause":                "Pause between bursts.",
	"Idle.connections":           "Connections to open and hold. Required.",
	"Idle.duration":              "How long the connections are held silent. Required.",
	"Churn.rate":                 "Requests (each on a new connection) per time unit. Required.",
	"Churn.duration":             "How long the phase runs. Required.",
	"Slow.connections":           "Slow clients to run. Required.",
	"Slow.duration":              "How long they run. Required.",
	"Slow.target":                "The request the slow clients make. Default \"GET /\".",
	"Abandon.connections":        "Connections to abandon. Required.",
	"Abandon.duration":           "How long soak waits after abandoning them. Required.",
	"Abandon.target":             "The request that is started and abandoned. Default \"GET /\".",
	"Quiet.duration":             "How long no load runs. Required.",
	"Attach.pid":                 "PID of the process. Give pid or pid_file.",
	"Attach.pid_file":            "File holding the PID of the process. Give pid or pid_file.",
	"ReclaimCheck.layer":         "The layer to check. Required.",
	"ReclaimCheck.within":        "Largest idle age allowed. Default: the layer's idle_timeout.",
	"ReclaimCheck.tolerance":     "Slack added to within. Default: 500ms plus the run's timer lateness (capped at the timeout) with kernel events; one interval more without them. An explicit tolerance is used as written.",
	"DrainCheck.layer":           "The layer to check. Required.",
	"DrainCheck.after":           "The phase by whose end the layer must have drained. Required.",
	"DrainCheck.to":              "\"baseline\" (default: the count before load) or a number of connections.",
	"CloseWaitCheck.layer":       "The layer to check. Default: every socket of the nodes.",
	"CloseWaitCheck.max_age":     "Longest time a socket may sit in CLOSE_WAIT. Required.",
	"NoGrowthCheck.series":       "The series: goroutines, goroutines.CLASS, fds, rss, threads, sockets.LAYER, sockets.LAYER.idle, sockets.LAYER.STATE. Required.",
	"NoGrowthCheck.node":         "The node. Default: every node.",
	"NoGrowthCheck.during":       "Phases whose samples are tested. Default: all.",
	"RatioCheck.numerator":       "Series divided. Required.",
	"RatioCheck.denominator":     "Series divided by. Required.",
	"RatioCheck.node":            "The node. Default: every node.",
	"RatioCheck.max":             "Largest ratio allowed, above 0. Required.",
	"RatioCheck.min_denominator": "Samples with a smaller denominator are skipped. Default 10.",
	"MaxCheck.series":            "The series. Required.",
	"MaxCheck.node":              "The node. Default: every node.",
	"MaxCheck.value":             "Largest value allowed.",
	"BaselineCheck.series":       "The series. Required.",
	"BaselineCheck.node":         "The node. Default: every node.",
	"BaselineCheck.after":        "The phase at whose end the series is compared. Required.",
	"BaselineCheck.tolerance":    "Allowed difference: absolute (\"5\") or relative (\"10%\").",
}

// fieldDocs reads the doc comments of the struct fields in the package,
// by "Type.Field" (Go names), and the doc comments of the types.
func fieldDocs(t *testing.T) (fields, types map[string]string) {
	fset := token.NewFileSet()
	// The schema types are in scenario.go and one file per kind.
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var decls []ast.Decl
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		decls = append(decls, f.Decls...)
	}
	fields, types = map[string]string{}, map[string]string{}
	for _, d := range decls {
		g, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, spec := range g.Specs {
			ts, ok := spec.(*ast.TypeSpec)
			if !ok {
				continue
			}
			doc := ts.Doc
			if doc == nil && len(g.Specs) == 1 {
				doc = g.Doc
			}
			types[ts.Name.Name] = oneLine(doc.Text())
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			prev := ""
			for _, fl := range st.Fields.List {
				text := oneLine(fl.Doc.Text())
				if text == "" {
					text = oneLine(fl.Comment.Text())
				}
				for _, n := range fl.Names {
					// "SineAmplitude and SinePeriod turn...": a comment
					// that names the next field documents it too.
					if text == "" && strings.Contains(prev, n.Name) {
						text = prev
					}
					fields[ts.Name.Name+"."+n.Name] = text
				}
				prev = text
			}
		}
	}
	return fields, types
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// generateSchema builds the JSON Schema from the Scenario types.
func generateSchema(t *testing.T) []byte {
	docs, typeDocs := fieldDocs(t)
	g := &schemaGen{docs: docs, typeDocs: typeDocs, defs: map[string]*jsonSchema{}, t: t}
	root := g.structSchema(reflect.TypeOf(Scenario{}))
	root.Schema = "https://json-schema.org/draft/2020-12/schema"
	root.ID = "https://github.com/soak-dev/soak/scenarios/scenario.schema.json"
	root.Title = "soak scenario"
	root.Description += " Generated from the Go types by TestSchemaUpToDate; see docs/scenarios.md."
	delete(g.defs, "Scenario")
	root.Defs = g.defs
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type schemaGen struct {
	t        *testing.T
	docs     map[string]string
	typeDocs map[string]string
	defs     map[string]*jsonSchema
}

func (g *schemaGen) typeSchema(t reflect.Type) *jsonSchema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if u, ok := schemaUnits[t]; ok {
		name := t.Name()
		if g.defs[name] == nil {
			c := *u
			g.defs[name] = &c
		}
		return &jsonSchema{Ref: "#/$defs/" + name}
	}
	switch t.Kind() {
	case reflect.Struct:
		if g.defs[t.Name()] == nil {
			g.defs[t.Name()] = &jsonSchema{} // a placeholder stops recursion
			g.defs[t.Name()] = g.structSchema(t)
		}
		return &jsonSchema{Ref: "#/$defs/" + t.Name()}
	case reflect.Map:
		s := &jsonSchema{Type: "object", AdditionalProperties: g.typeSchema(t.Elem())}
		if t.Elem().Kind() == reflect.Pointer {
			s.PropertyNames = &jsonSchema{Pattern: namePattern}
		}
		return s
	case reflect.Slice:
		return &jsonSchema{Type: "array", Items: g.typeSchema(t.Elem())}
	case reflect.String:
		return &jsonSchema{Type: "string"}
	case reflect.Bool:
		return &jsonSchema{Type: "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return &jsonSchema{Type: "integer", Minimum: ptr(0.0)}
	case reflect.Float64:
		return &jsonSchema{Type: "number", Minimum: ptr(0.0)}
	}
	g.t.Fatalf("schema: no mapping for %v", t)
	return nil
}

func (g *schemaGen) structSchema(t reflect.Type) *jsonSchema {
	s := &jsonSchema{Type: "object", Description: g.typeDocs[t.Name()], Properties: map[string]*jsonSchema{}, AdditionalProperties: false}
	g.fields(t, t.Name(), s)
	sort.Strings(s.Required)
	switch t {
	case reflect.TypeOf(Phase{}):
		for _, k := range PhaseKinds {
			s.OneOf = append(s.OneOf, &jsonSchema{Required: []string{k}})
		}
	case reflect.TypeOf(Expectation{}):
		s.MinProperties, s.MaxProperties = ptr(1), ptr(1)
	}
	return s
}

// fields adds t's fields to s; owner names the struct for docs and extras
// (the outer one for inline structs, so Steady.targets finds Requests' doc).
func (g *schemaGen) fields(t reflect.Type, owner string, s *jsonSchema) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			g.fields(f.Type, owner, s)
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		p := g.typeSchema(f.Type)
		key := owner + "." + name
		doc := schemaDocs[key]
		if doc == "" {
			doc = g.docs[t.Name()+"."+f.Name]
		}
		if ft := f.Type; doc == "" && ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
			doc = g.typeDocs[ft.Elem().Name()] // Phase.steady: what Steady does
		}
		if doc == "" {
			g.t.Errorf("schema: %s (%s.%s) has no description: write a doc comment or add it to schemaDocs", key, t.Name(), f.Name)
		}
		p.Description = doc
		if x := schemaExtra[key]; x != nil {
			x(p)
		}
		if !strings.Contains(opts, "omitempty") && !schemaOptional[key] {
			s.Required = append(s.Required, name)
		}
		s.Properties[name] = p
	}
}

// TestSchemaUpToDate fails when scenario.schema.json no longer matches the
// Go types; go test -update rewrites it.
func TestSchemaUpToDate(t *testing.T) {
	got := generateSchema(t)
	if *update {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with the Go types: run go test ./scenarios -run TestSchemaUpToDate -update", schemaFile)
	}
	var v map[string]any
	if err := json.Unmarshal(want, &v); err != nil {
		t.Fatalf("%s is not JSON: %v", schemaFile, err)
	}
}

// TestSchemaCoversYAML checks that every YAML key the parser knows is in the
// schema, and nothing else, so editors neither miss nor invent fields.
func TestSchemaCoversYAML(t *testing.T) {
	var root jsonSchema
	if err := json.Unmarshal(generateSchema(t), &root); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		def string
		typ reflect.Type
	}{
		{"", reflect.TypeOf(Scenario{})}, {"Node", reflect.TypeOf(Node{})}, {"Steady", reflect.TypeOf(Steady{})},
		{"Faults", reflect.TypeOf(Faults{})}, {"Expectation", reflect.TypeOf(Expectation{})}, {"Phase", reflect.TypeOf(Phase{})},
	} {
		s := &root
		if tc.def != "" {
			s = root.Defs[tc.def]
		}
		var keys []string
		for k := range s.Properties {
			keys = append(keys, k)
		}
		var want []string
		for k := range structFields(tc.typ) {
			want = append(want, k)
		}
		sort.Strings(keys)
		sort.Strings(want)
		if got, w := strings.Join(keys, ","), strings.Join(want, ","); got != w {
			t.Errorf("%s: schema properties %s, parser fields %s", tc.typ.Name(), got, w)
		}
	}
	if got, want := strings.Join(root.Required, ","), "name,nodes,phases"; got != want {
		t.Errorf("required = %s, want %s", got, want)
	}
}

// TestSchemaPatterns: a value the schema's pattern accepts must parse, and
// the usual spellings must pass both, so the editor and soak agree.
func TestSchemaPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		parse   func(string) error
		good    []string
		bad     []string
	}{
		{durationPattern, func(s string) error { _, err := ParseDuration(s); return err },
			[]string{"250ms", "6s", "1h30m", "0", "1.5s", "2h45m30.5s", "100us", " 3m "},
			[]string{"10", "5x", "-1s", "", "s", "1d", "1 s"}},
		{ratePattern, func(s string) error { _, err := ParseRate(s); return err },
			[]string{"200/s", "30/m", "1/h", "5/500ms", "7", "10/second", "0", "3/1m30s"},
			[]string{"fast", "1.5/s", "-5/s", "10/fortnight", "/s", ""}},
		{sizePattern, func(s string) error { _, err := ParseByteSize(s); return err },
			[]string{"512", "4KiB", "1MiB", "1.5GiB", "64KB", "2 MB", "10B", "0"},
			[]string{"-1KiB", "lots", "KiB", "4 kib", ""}},
	} {
		re := regexp.MustCompile(tc.pattern)
		for _, s := range tc.good {
			if !re.MatchString(s) {
				t.Errorf("pattern %s refuses %q", tc.pattern, s)
			}
			if err := tc.parse(s); err != nil {
				t.Errorf("parser refuses %q: %v", s, err)
			}
		}
		for _, s := range tc.bad {
			if re.MatchString(s) {
				t.Errorf("pattern %s accepts %q", tc.pattern, s)
			}
			if err := tc.parse(s); err == nil {
				t.Errorf("parser accepts %q", s)
			}
		}
	}
}
