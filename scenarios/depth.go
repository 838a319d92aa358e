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

// checkNesting scans the tokens (linear time) and reports the first place
// where flow brackets plus block indentation nest deeper than MaxNesting.
func checkNesting(file string, tokens token.Tokens) *Error {
	var indents []int // columns of the open block levels
	flow := 0
	line := 0
	for _, t := range tokens {
		if t == nil || t.Position == nil || t.Type == token.CommentType {
			continue
		}
		p := t.Position
		switch t.Type {
		case token.SequenceStartType, token.MappingStartType:
			flow++
		case token.SequenceEndType, token.MappingEndType:
			flow = max(flow-1, 0)
		}
		// A block level opens at the first token of a line or at a "- "
		// entry (which can nest on one line: "- - - x").
		if flow == 0 && (p.Line != line || t.Type == token.SequenceEntryType) {
			for len(indents) > 0 && indents[len(indents)-1] >= p.Column {
				indents = indents[:len(indents)-1]
			}
			indents = append(indents, p.Column)
		}
		line = p.Line
		if d := flow + len(indents); d > MaxNesting {
			return &Error{File: file, Line: p.Line, Col: p.Column,
				Msg: fmt.Sprintf("nested more than %d levels deep; a scenario needs a few (is this the right file?)", MaxNesting)}
		}
	}
	return nil
}
