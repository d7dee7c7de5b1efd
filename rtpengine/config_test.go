package rtpengine

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sipedge/sipedge/internal/field"
)

func TestConfigDecodeAndDefaults(t *testing.T) {
	const doc = `
nodes:
  - udp:127.0.0.1:22222
  - {address: "tcp:127.0.0.1:22223", weight: 3, set: east}
timeout: 2s
`
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []Node{{"udp:127.0.0.1:22222", 1, "default"}, {"tcp:127.0.0.1:22223", 3, "east"}}
	for i, n := range want {
		if c.Nodes[i] != n {
			t.Errorf("node %d: %+v, want %+v", i, c.Nodes[i], n)
		}
	}
	if c.Timeout != 2*time.Second || c.NodeTimeout != time.Second || c.ResendInterval != 100*time.Millisecond ||
		c.PingInterval != 5*time.Second || c.DisableDuration != 10*time.Second || c.DefaultSet != "default" {
		t.Errorf("defaults: %+v", c)
	}

	var bad Config
	if err := yaml.Unmarshal([]byte("nodes: [{address: x, wieght: 2}]"), &bad); err == nil || !strings.Contains(err.Error(), "wieght") {
		t.Errorf("unknown node key: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{
		Nodes: []Node{
			{Address: "udp:127.0.0.1"}, {Address: "sctp:1.2.3.4:5"}, {Address: "127.0.0.1:22222", Weight: -1},
			{Address: "udp:127.0.0.1:22222"},
		},
		Timeout: -time.Second, DefaultSet: "nope", MaxReplySize: 10,
	}
	c.SetDefaults()
	errs := field.Unjoin(c.Validate())
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	all := strings.Join(got, "\n")
	for _, w := range []string{"nodes[0].address", "nodes[1].address", "nodes[2].weight", "nodes[3].address (udp:127.0.0.1:22222): same node as nodes[2]",
		"default_set (nope)", "timeout (-1s): must be > 0", "max_reply_size (10)"} {
		if !strings.Contains(all, w) {
			t.Errorf("missing %q in:\n%s", w, all)
		}
	}
}
