package scenarios

import "github.com/goccy/go-yaml/ast"

// expandMerges drops tags and resolves aliases of scalars and YAML merge keys ("<<: *defaults", "<<: [*a, *b]")
// in place, before the schema walk: the merged pairs become ordinary pairs
// of the mapping, and a key the mapping sets itself wins over a merged one.
// goccy/go-yaml refuses such an override as a duplicate key and cannot
// merge a list of aliases, yet overriding shared defaults is what merge
// keys are for. Unresolvable merges are left for the walk to report.
// It also returns the anchors by name, for the walk to check aliases.
func expandMerges(n ast.Node) (ast.Node, map[string]ast.Node) {
	m := &merger{anchors: map[string]ast.Node{}}
	return m.resolve(n), m.anchors
}

type merger struct {
	// anchors by name, the latest definition in document order, as YAML
	// resolves aliases.
	anchors map[string]ast.Node
	depth   int
}

// maxMergeDepth bounds the recursion on hostile input (fuzzing, a wrong file).
const maxMergeDepth = 10000

func (m *merger) resolve(n ast.Node) ast.Node {
	if n == nil || m.depth > maxMergeDepth {
		return n
	}
	m.depth++
	defer func() { m.depth-- }()
	switch v := n.(type) {
	case *ast.AnchorNode:
		v.Value = m.resolve(v.Value)
		if v.Name != nil && v.Name.GetToken() != nil {
			m.anchors[v.Name.GetToken().Value] = v.Value
		}
	case *ast.TagNode:
		// Tags are dropped: a scenario has no use for them, and go-yaml's
		// decoder dereferences nil on some ("phases: !x" then a comment).
		return m.resolve(v.Value)
	case *ast.AliasNode:
		// An alias of a scalar becomes a copy of it, so the schema walk
		// checks it where it is used and the unit types decode it.
		if v.Value != nil && v.Value.GetToken() != nil {
			if a, ok := m.anchors[v.Value.GetToken().Value]; ok {
				if _, ok := scalarText(unwrap(a)); ok {
					return unwrap(a)
				}
			}
		}
	case *ast.SequenceNode:
		for i := range v.Values {
			v.Values[i] = m.resolve(v.Values[i])
		}
	case *ast.MappingValueNode:
		if _, merge := v.Key.(*ast.MergeKeyNode); merge {
			return m.resolve(ast.Mapping(v.GetToken(), false, v))
		}
		v.Value = m.resolve(v.Value)
	case *ast.MappingNode:
		for _, kv := range v.Values {
			kv.Value = m.resolve(kv.Value)
		}
		m.merge(v)
	}
	return n
}

// merge replaces the merge pairs of mapping with the pairs they bring in.
func (m *merger) merge(mapping *ast.MappingNode) {
	own := map[string]bool{}
	hasMerge := false
	for _, kv := range mapping.Values {
		if _, merge := kv.Key.(*ast.MergeKeyNode); merge {
			hasMerge = true
		} else if kv.Key != nil && kv.Key.GetToken() != nil {
			own[kv.Key.GetToken().Value] = true
		}
	}
	if !hasMerge {
		return
	}
	var out, merged []*ast.MappingValueNode
	for _, kv := range mapping.Values {
		if _, merge := kv.Key.(*ast.MergeKeyNode); !merge {
			out = append(out, kv)
			continue
		}
		sources, ok := m.sources(kv.Value)
		if !ok {
			out = append(out, kv) // the walk reports it
			continue
		}
		// The first source that sets a key wins (YAML merge key spec).
		for _, src := range sources {
			for _, p := range src {
				if k := p.Key.GetToken(); k != nil && !own[k.Value] {
					own[k.Value] = true
					merged = append(merged, p)
				}
			}
		}
	}
	mapping.Values = append(out, merged...)
}

// sources returns the pairs of each mapping a merge value names, or false
// if one is not an alias of a known mapping (or an inline mapping).
func (m *merger) sources(n ast.Node) ([][]*ast.MappingValueNode, bool) {
	var nodes []ast.Node
	if seq, ok := n.(*ast.SequenceNode); ok {
		nodes = seq.Values
	} else {
		nodes = []ast.Node{n}
	}
	var out [][]*ast.MappingValueNode
	for _, s := range nodes {
		if a, ok := s.(*ast.AliasNode); ok {
			if a.Value == nil || a.Value.GetToken() == nil {
				return nil, false
			}
			if s, ok = m.anchors[a.Value.GetToken().Value]; !ok {
				return nil, false
			}
		}
		pairs, ok := mappingPairs(unwrap(s))
		if !ok {
			return nil, false
		}
		out = append(out, pairs)
	}
	return out, true
}
