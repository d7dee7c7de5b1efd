package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sipedge/sipedge/internal/field"
)

// ErrInvalid marks a configuration that failed to decode or validate.
var ErrInvalid = errors.New("config: invalid")

// Load reads, strictly decodes, defaults and validates the file at path.
// Every problem is reported at once, each prefixed "path:line: ".
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, b)
}

// Parse is Load for bytes already read; name is used in messages.
func Parse(name string, b []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("%w:\n%s", ErrInvalid, yamlErrors(name, err))
	}
	var c Config
	if len(root.Content) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w:\n%s", ErrInvalid, yamlErrors(name, err))
		}
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		lines := lineIndex(&root)
		var msgs []string
		for _, e := range field.Unjoin(err) {
			var fe *field.Error
			line := 0
			if errors.As(e, &fe) {
				line = lookupLine(lines, fe.Path)
			}
			if line > 0 {
				msgs = append(msgs, fmt.Sprintf("%s:%d: %s", name, line, e))
			} else {
				msgs = append(msgs, fmt.Sprintf("%s: %s", name, e))
			}
		}
		return nil, fmt.Errorf("%w:\n%s", ErrInvalid, strings.Join(msgs, "\n"))
	}
	return &c, nil
}

var yamlLineRE = regexp.MustCompile(`^\s*(?:yaml: )?line (\d+): (.*)$`)

// yamlErrors rewrites yaml.v3's messages ("line 5: field foo not found in
// type config.Config") as "file:5: unknown field foo".
func yamlErrors(name string, err error) string {
	var te *yaml.TypeError
	var raw []string
	if errors.As(err, &te) {
		raw = te.Errors
	} else {
		raw = []string{err.Error()}
	}
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		if m := yamlLineRE.FindStringSubmatch(r); m != nil {
			msg := m[2]
			if f, _, ok := strings.Cut(strings.TrimPrefix(msg, "field "), " not found in type"); ok && strings.HasPrefix(msg, "field ") {
				msg = fmt.Sprintf("unknown field %q", f)
			}
			out = append(out, fmt.Sprintf("%s:%s: %s", name, m[1], msg))
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s", name, strings.TrimPrefix(r, "yaml: ")))
	}
	return strings.Join(out, "\n")
}

// lineIndex maps field paths ("routes[0].to[1]", "users.alice") to the line
// of the node that holds their value.
func lineIndex(root *yaml.Node) map[string]int {
	idx := map[string]int{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n == nil {
			return
		}
		if path != "" {
			if _, ok := idx[path]; !ok {
				idx[path] = n.Line
			}
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				p := field.Join(path, k.Value)
				idx[p] = k.Line
				walk(n.Content[i+1], p)
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

// lookupLine finds the line of path, or of its nearest ancestor that exists
// in the file (a missing field is reported at its parent).
func lookupLine(idx map[string]int, path string) int {
	for p := path; p != ""; {
		if l, ok := idx[p]; ok {
			return l
		}
		cut := strings.LastIndexAny(p, ".[")
		if cut <= 0 {
			break
		}
		p = p[:cut]
	}
	return 0
}
