package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestEveryKeyDocumented walks Config's YAML keys and wants each one named
// in docs/configuration.md, inside `backticks` (as a table key, or in the
// text of its section, e.g. `{address, weight, set}`).
func TestEveryKeyDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	words := map[string]bool{}
	for _, span := range regexp.MustCompile("`[^`\n]+`").FindAllString(string(b), -1) {
		for _, w := range regexp.MustCompile(`[a-z_][a-z0-9_.]*`).FindAllString(span, -1) {
			for _, seg := range strings.Split(w, ".") {
				words[seg] = true
			}
		}
	}
	for _, key := range yamlKeys(reflect.TypeFor[Config](), "") {
		name := key[strings.LastIndexByte(key, '.')+1:]
		if !words[name] {
			t.Errorf("%s: not in docs/configuration.md", key)
		}
	}
}

// yamlKeys lists the dotted YAML key paths of struct type t.
func yamlKeys(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.PkgPath() == "time" {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case tag == "-" || !f.IsExported():
			continue
		case opts == "inline":
			out = append(out, yamlKeys(f.Type, prefix)...)
			continue
		case tag == "":
			tag = strings.ToLower(f.Name)
		}
		p := tag
		if prefix != "" {
			p = prefix + "." + tag
		}
		out = append(out, p)
		out = append(out, yamlKeys(f.Type, p)...)
	}
	return out
}
