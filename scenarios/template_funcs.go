package scenarios

import (
	"fmt"
	ttemplate "text/template"
	"text/template/parse"
)

// boundedFuncs replaces text/template's builtins that make strings longer
// (printf, print, println, html, js, urlquery) with versions that refuse a
// result over MaxTemplateOutput before building it, and charge what they
// build to budget. Overriding builtins through Funcs is documented.
func boundedFuncs(budget *int) ttemplate.FuncMap {
	charge := func(fn string, bound int, make func() string) (string, error) {
		if bound > MaxTemplateOutput {
			return "", fmt.Errorf("%s: result could reach %d bytes; a template renders at most %d", fn, bound, MaxTemplateOutput)
		}
		if bound > *budget {
			return "", fmt.Errorf("%s: templates may build at most %d bytes in all", fn, templateWork)
		}
		s := make()
		*budget -= len(s)
		return s, nil
	}
	escaper := func(fn string, esc func(...any) string) func(...any) (string, error) {
		return func(args ...any) (string, error) {
			// Escaping grows text at most 6 times (\uXXXX).
			return charge(fn, 6*argsLen(args)+16, func() string { return esc(args...) })
		}
	}
	return ttemplate.FuncMap{
		"printf": func(format string, args ...any) (string, error) {
			return charge("printf", printfBound(format, args), func() string { return fmt.Sprintf(format, args...) })
		},
		"print": func(args ...any) (string, error) {
			return charge("print", argsLen(args)+len(args), func() string { return fmt.Sprint(args...) })
		},
		"println": func(args ...any) (string, error) {
			return charge("println", argsLen(args)+len(args)+1, func() string { return fmt.Sprintln(args...) })
		},
		"html":     escaper("html", ttemplate.HTMLEscaper),
		"js":       escaper("js", ttemplate.JSEscaper),
		"urlquery": escaper("urlquery", ttemplate.URLQueryEscaper),
	}
}

// argLen is the printed length of v; strings are measured without a copy.
func argLen(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []byte:
		return len(v)
	}
	return len(fmt.Sprint(v))
}

func argsLen(args []any) int {
	n := 0
	for _, a := range args {
		n = satAdd(n, argLen(a))
	}
	return n
}

// printfBound is an upper bound of fmt.Sprintf(format, args...)'s length:
// the format, every width and precision written in it, and for each verb the
// longest argument quoted (%q and %x at most 10 bytes a byte) plus a margin
// for "%!d(MISSING)" and the like. Argument indexes may reuse an argument,
// so the longest counts once per verb.
func printfBound(format string, args []any) int {
	longest := 0
	for _, a := range args {
		longest = max(longest, argLen(a))
	}
	n, verbs := len(format), 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			i++
			continue
		}
		verbs++
		num := 0
		for i+1 < len(format) {
			c := format[i+1]
			if c >= '0' && c <= '9' {
				num = satAdd(satMul(num, 10), int(c-'0'))
			} else if c == '*' {
				num = satAdd(num, MaxTemplateOutput+1) // the width comes from an argument: refuse
			} else if c == '+' || c == '-' || c == '#' || c == ' ' || c == '.' || c == '[' || c == ']' {
				n, num = satAdd(n, num), 0
			} else {
				break
			}
			i++
		}
		n = satAdd(n, num)
	}
	return satAdd(n, satMul(verbs, satAdd(32, satMul(10, longest))))
}

const satMax = 1 << 40

func satAdd(a, b int) int { return min(a+b, satMax) }
func satMul(a, b int) int {
	if a != 0 && b > satMax/a {
		return satMax
	}
	return min(a*b, satMax)
}

// notStraight names the first action of t that could run longer than its
// text ({{range}}, {{template}}, a {{define}}d template), or "".
func notStraight(t *ttemplate.Template) string {
	if len(t.Templates()) > 1 {
		return "{{define}} or {{block}}"
	}
	if t.Tree == nil {
		return ""
	}
	var walk func(parse.Node) string
	walk = func(n parse.Node) string {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return ""
			}
			for _, c := range n.Nodes {
				if w := walk(c); w != "" {
					return w
				}
			}
		case *parse.IfNode:
			return first(walk(n.List), walk(n.ElseList))
		case *parse.WithNode:
			return first(walk(n.List), walk(n.ElseList))
		case *parse.RangeNode:
			return "{{range}}"
		case *parse.TemplateNode:
			return "{{template}}"
		}
		return ""
	}
	return walk(t.Tree.Root)
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
