package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sipedge/sipedge/internal/field"
)

// ErrInvalid marks a configuration that failed to decode or validate.
var ErrInvalid = errors.New("config: invalid")

// Load reads, strictly decodes, defaults and validates the file at path.
// Every problem is reported at once, each on its own line as
// "path:line: field (value): problem".
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, b)
}

// Parse is Load for bytes already read; name is used in messages.
//
// Decoding does not stop at the first problem: unknown keys and values of
// the wrong type are collected (yaml.v3 keeps decoding the rest), then the
// defaults are applied and Validate runs on what could be read, so one run
// shows everything. Only a YAML syntax error, after which nothing can be
// trusted, is reported alone. A Validate problem on a line that already
// has a type error is left out: it would only restate it (the value was
// not read).
func Parse(name string, b []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, invalid(name, decodeProblems(err, nil))
	}
	idx := lineIndex(&root)
	var c Config
	var probs []problem
	if len(root.Content) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		err := dec.Decode(&c)
		var te *yaml.TypeError
		switch {
		case err == nil || errors.Is(err, io.EOF):
		case errors.As(err, &te):
			probs = decodeProblems(err, idx)
		default: // decoding stopped part way: what follows would mislead
			return nil, invalid(name, decodeProblems(err, idx))
		}
	}
	badType := map[int]bool{}
	for _, p := range probs {
		if p.typeErr {
			badType[p.line] = true
		}
	}
	c.SetDefaults()
	for _, e := range field.Unjoin(c.Validate()) {
		line := 0
		var fe *field.Error
		if errors.As(e, &fe) {
			line = lookupLine(idx, fe.Path)
		}
		if line > 0 && badType[line] {
			continue
		}
		probs = append(probs, problem{line: line, err: e})
	}
	if len(probs) > 0 {
		return nil, invalid(name, probs)
	}
	return &c, nil
}

// problem is one thing wrong with a file, at a line (0: the file as a
// whole, or a line yaml.v3 did not give).
type problem struct {
	line    int
	err     error
	typeErr bool // a value of the wrong type: it was not decoded
}

// invalid returns ErrInvalid with every problem, sorted by line, one per
// line of the message as "name:line: problem". The problems stay reachable
// with errors.As (a *field.Error for each Validate problem).
func invalid(name string, probs []problem) error {
	slices.SortStableFunc(probs, func(a, b problem) int { return a.line - b.line })
	errs := make([]error, len(probs))
	for i, p := range probs {
		if p.line > 0 {
			errs[i] = fmt.Errorf("%s:%d: %w", name, p.line, p.err)
		} else {
			errs[i] = fmt.Errorf("%s: %w", name, p.err)
		}
	}
	noun := "problems"
	if len(errs) == 1 {
		noun = "problem"
	}
	return fmt.Errorf("%w (%d %s):\n%w", ErrInvalid, len(errs), noun, errors.Join(errs...))
}

var (
	yamlLineRE    = regexp.MustCompile(`^\s*(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknownRE = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	yamlTypeRE    = regexp.MustCompile("^cannot unmarshal (\\S+)(?: `(.*)`)? into (.+)$")
)

// decodeProblems turns yaml.v3's messages ("line 5: field foo not found in
// type config.Config", "line 7: cannot unmarshal !!str `abc` into
// time.Duration") into problems that name the field, using idx (nil for a
// syntax error, which has no fields yet): `routes: unknown key`,
// `invite_timeout (abc): must be a duration such as 30s`.
func decodeProblems(err error, idx map[string]node) []problem {
	var te *yaml.TypeError
	var raw []string
	if errors.As(err, &te) {
		raw = te.Errors
	} else {
		raw = []string{err.Error()}
	}
	out := make([]problem, 0, len(raw))
	for _, r := range raw {
		m := yamlLineRE.FindStringSubmatch(r)
		if m == nil {
			out = append(out, problem{err: errors.New(strings.TrimPrefix(r, "yaml: "))})
			continue
		}
		line, _ := strconv.Atoi(m[1])
		msg := m[2]
		if u := yamlUnknownRE.FindStringSubmatch(msg); u != nil {
			path := pathAt(idx, line, func(p string, _ node) bool { return p == u[1] || strings.HasSuffix(p, "."+u[1]) })
			if path == "" {
				path = u[1]
			}
			out = append(out, problem{line: line, err: field.New(path, nil, "unknown key")})
			continue
		}
		if t := yamlTypeRE.FindStringSubmatch(msg); t != nil {
			val := strings.TrimSuffix(t[2], "...") // yaml.v3 cuts long values
			path := pathAt(idx, line, func(_ string, n node) bool {
				if t[2] == "" { // a map or a list where a scalar belongs
					return !n.scalar
				}
				return n.scalar && strings.HasPrefix(n.value, val)
			})
			if path == "" {
				path = pathAt(idx, line, func(string, node) bool { return true })
			}
			var v any
			if t[2] != "" {
				v = t[2]
			}
			if path != "" {
				out = append(out, problem{line: line, typeErr: true, err: field.New(path, v, "must be %s", kindOf(t[3]))})
				continue
			}
			out = append(out, problem{line: line, typeErr: true, err: fmt.Errorf("%s: must be %s", msg, kindOf(t[3]))})
			continue
		}
		out = append(out, problem{line: line, err: errors.New(msg)})
	}
	return out
}

// kindOf says in words what a Go type named by yaml.v3 holds.
func kindOf(goType string) string {
	switch {
	case goType == "time.Duration":
		return "a duration such as 30s, 500ms or 2m"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a map"
	}
	return "a map" // a struct: a section of keys
}

// node is what the line index keeps of one YAML node.
type node struct {
	line   int
	value  string // the scalar value, when scalar
	scalar bool
}

// lineIndex maps field paths ("routes[0].to[1]", "users.alice") to the
// line of their key (or, for sequence items, of their value).
func lineIndex(root *yaml.Node) map[string]node {
	idx := map[string]node{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n == nil {
			return
		}
		if path != "" {
			if _, ok := idx[path]; !ok {
				idx[path] = node{line: n.Line, value: n.Value, scalar: n.Kind == yaml.ScalarNode}
			}
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := field.Join(path, k.Value)
				idx[p] = node{line: k.Line, value: v.Value, scalar: v.Kind == yaml.ScalarNode}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, path+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	walk(root, "")
	return idx
}

// pathAt returns the deepest (then first in sort order) field path on line
// for which ok holds, or "".
func pathAt(idx map[string]node, line int, ok func(string, node) bool) string {
	best := ""
	for p, n := range idx {
		if n.line != line || !ok(p, n) {
			continue
		}
		if d, bd := depth(p), depth(best); best == "" || d > bd || (d == bd && p < best) {
			best = p
		}
	}
	return best
}

func depth(p string) int { return strings.Count(p, ".") + strings.Count(p, "[") }

// lookupLine finds the line of path, or of its nearest ancestor that exists
// in the file (a missing field is reported at its parent).
func lookupLine(idx map[string]node, path string) int {
	for p := path; p != ""; {
		if n, ok := idx[p]; ok {
			return n.line
		}
		cut := strings.LastIndexAny(p, ".[")
		if cut <= 0 {
			break
		}
		p = p[:cut]
	}
	return 0
}
