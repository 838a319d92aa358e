package scenarios

import (
	"fmt"

	"github.com/goccy/go-yaml/token"
)

// MaxNesting bounds how deeply a scenario's YAML may nest. A real scenario
// nests about 6 levels; the bound exists because go-yaml's parser takes
// time quadratic in the nesting depth (100k levels: a minute), so a wrong
// or hostile file must be refused before it is parsed.
const MaxNesting = 64

// MaxKeys bounds the keys of one mapping. go-yaml's parser also takes time
// quadratic in the keys of a mapping (40,000 keys: over a minute, a 4 MiB
// file of them: more than 400 s); the largest mapping of a real scenario
// (nodes, vars, env) has a few dozen.
const MaxKeys = 1000

// MaxTokens bounds the YAML tokens of a file (a 20-node, 200-phase scenario
// has about 25,000), so the parse that follows is bounded too.
const MaxTokens = 200_000

// checkNesting scans the tokens (linear time) and reports the first place
// where flow brackets plus block indentation nest deeper than MaxNesting,
// where a mapping has more than MaxKeys keys, or a file more than MaxTokens
// tokens.
func checkNesting(file string, tokens token.Tokens) *Error {
	if len(tokens) > MaxTokens {
		return &Error{File: file, Msg: fmt.Sprintf("%d YAML tokens; a scenario has at most %d (is this the right file?)", len(tokens), MaxTokens)}
	}
	type level struct{ col, keys int }
	var indents []level // the open block levels and their keys so far
	var flows []int     // keys of the open flow collections
	line := 0
	for _, t := range tokens {
		if t == nil || t.Position == nil || t.Type == token.CommentType {
			continue
		}
		p := t.Position
		keys := 0
		switch t.Type {
		case token.SequenceStartType, token.MappingStartType:
			flows = append(flows, 0)
		case token.SequenceEndType, token.MappingEndType:
			if len(flows) > 0 {
				flows = flows[:len(flows)-1]
			}
		}
		// A block level opens at the first token of a line or at a "- "
		// entry (which can nest on one line: "- - - x"); a line at the
		// column of an open level continues it (the next key of a mapping).
		if len(flows) == 0 && (p.Line != line || t.Type == token.SequenceEntryType) {
			entry := t.Type == token.SequenceEntryType
			for len(indents) > 0 && (indents[len(indents)-1].col > p.Column || entry && indents[len(indents)-1].col == p.Column) {
				indents = indents[:len(indents)-1]
			}
			if len(indents) == 0 || indents[len(indents)-1].col != p.Column {
				indents = append(indents, level{col: p.Column})
			}
		}
		line = p.Line
		if t.Type == token.MappingValueType {
			if len(flows) > 0 {
				flows[len(flows)-1]++
				keys = flows[len(flows)-1]
			} else if len(indents) > 0 {
				indents[len(indents)-1].keys++
				keys = indents[len(indents)-1].keys
			}
		}
		if keys > MaxKeys {
			return &Error{File: file, Line: p.Line, Col: p.Column,
				Msg: fmt.Sprintf("more than %d keys in one mapping; a scenario needs a few dozen (is this the right file?)", MaxKeys)}
		}
		if d := len(flows) + len(indents); d > MaxNesting {
			return &Error{File: file, Line: p.Line, Col: p.Column,
				Msg: fmt.Sprintf("nested more than %d levels deep; a scenario needs a few (is this the right file?)", MaxNesting)}
		}
	}
	return nil
}
