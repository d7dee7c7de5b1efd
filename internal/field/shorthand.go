package field

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Key is one key of a map form: its name in the file and where its value
// is decoded to.
type Key struct {
	Name string
	Into any
}

// Shorthand decodes an entry that may be written as a plain string (into
// *scalar) or as a map of keys, as a UnmarshalYAML method does for list
// entries such as rtpengine nodes and set members. what names the entry
// ("a node"), typeName its Go type for the unknown-key message, as the
// strict decoder words it. Unknown keys and values of the wrong type come
// back together as one *yaml.TypeError, so the decoder goes on and reports
// the file's other problems too.
func Shorthand(v *yaml.Node, what, typeName string, scalar *string, keys ...Key) error {
	if v.Kind == yaml.ScalarNode {
		*scalar = v.Value
		return nil
	}
	if v.Kind != yaml.MappingNode {
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = k.Name
		}
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s is a string or a map with %s", v.Line, what, strings.Join(names, ", "))}}
	}
	var errs []string
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		var into any
		for _, key := range keys {
			if key.Name == k.Value {
				into = key.Into
				break
			}
		}
		if into == nil {
			errs = append(errs, fmt.Sprintf("line %d: field %s not found in type %s", k.Line, k.Value, typeName))
			continue
		}
		var te *yaml.TypeError
		switch err := val.Decode(into); {
		case errors.As(err, &te):
			errs = append(errs, te.Errors...)
		case err != nil:
			errs = append(errs, fmt.Sprintf("line %d: %v", val.Line, err))
		}
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}
