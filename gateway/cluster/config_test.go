package cluster

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // substrings, one per problem
	}{
		{"off", Config{}, nil},
		{"ok", Config{Node: "a-1", Redis: "redis://127.0.0.1:6379/0", Address: "sip:10.0.0.1:5060"}, nil},
		{"orphans", Config{Node: "a"}, []string{"redis: is required"}},
		{"all wrong", Config{Node: "a b", Redis: "http://x", Address: "tel:1"},
			[]string{"redis (http://x)", "node (a b)", "address (tel:1)"}},
		{"missing", Config{Redis: "redis://h:1"}, []string{"node: required", "address: required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.SetDefaults()
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tc.want) {
				t.Errorf("%d problems reported, want %d: %v", n, len(tc.want), err)
			}
		})
	}
}
