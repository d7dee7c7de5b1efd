package field

import (
	"errors"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

type hop struct {
	Addr   string
	Weight int
}

func (h *hop) UnmarshalYAML(v *yaml.Node) error {
	return Shorthand(v, "a hop", "field.hop", &h.Addr, Key{"addr", &h.Addr}, Key{"weight", &h.Weight})
}

func TestShorthand(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []hop
		errs []string
	}{
		{name: "scalar", in: "[a, b]", want: []hop{{Addr: "a"}, {Addr: "b"}}},
		{name: "map", in: "[{addr: a, weight: 3}]", want: []hop{{Addr: "a", Weight: 3}}},
		{name: "mixed", in: "[a, {addr: b, weight: 2}]", want: []hop{{Addr: "a"}, {Addr: "b", Weight: 2}}},
		{
			name: "every problem at once",
			in:   "- {addr: a, colour: red, weight: heavy}\n- [x]\n",
			errs: []string{
				"line 1: field colour not found in type field.hop",
				"line 1: cannot unmarshal !!str `heavy` into int",
				"line 2: a hop is a string or a map with addr, weight",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []hop
			err := yaml.Unmarshal([]byte(tt.in), &got)
			if tt.errs == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
				return
			}
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				t.Fatalf("error %v, want a *yaml.TypeError", err)
			}
			if !reflect.DeepEqual(te.Errors, tt.errs) {
				t.Fatalf("errors\n%q\nwant\n%q", te.Errors, tt.errs)
			}
		})
	}
}
