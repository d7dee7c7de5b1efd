package gateway

import (
	"errors"
	"testing"

	"github.com/sipedge/sipedge/gateway/topo"
)

// TestNewHidingReload checks what a reload keeps of topology hiding: the
// Hider for the same secret (also a random one), a rekeyed Hider that
// still opens the old tokens for a new secret, the Hider when external
// goes off (dialogs in progress), and nothing when it was never on.
func TestNewHidingReload(t *testing.T) {
	on := func(secret string) topo.Config { return topo.Config{External: []string{"udp"}, Secret: secret} }
	if th, err := newHiding(topo.Config{}, nil); err != nil || th != nil {
		t.Fatalf("never on: %v, %v; want nil", th, err)
	}
	for _, secret := range []string{"", "secret A of enough bytes"} {
		first, err := newHiding(on(secret), nil)
		if err != nil {
			t.Fatal(err)
		}
		tok := first.h.Seal([]string{"sip:10.0.0.1"})
		same, err := newHiding(on(secret), first)
		if err != nil || same.h != first.h {
			t.Fatalf("secret %q kept: a new Hider (%v)", secret, err)
		}
		next, err := newHiding(on("secret B of enough bytes"), same)
		if err != nil || next.h == first.h || hidingRekeyed(same, next) != true {
			t.Fatalf("secret changed from %q: Hider kept (%v)", secret, err)
		}
		if _, err := next.h.Open(tok); err != nil {
			t.Errorf("secret changed from %q: the old token no longer opens: %v", secret, err)
		}
		off, err := newHiding(topo.Config{Secret: "secret B of enough bytes"}, next)
		if err != nil || off == nil || off.h != next.h || off.external("udp") {
			t.Fatalf("external off: %+v, %v; want the Hider kept, nothing external", off, err)
		}
	}
}

// TestReloadTopologyHidingNeedsAnchor: turning topology hiding on by a
// reload while media.classic_to_classic pass is in effect is refused (SDP
// would show inside addresses until a restart).
func TestReloadTopologyHidingNeedsAnchor(t *testing.T) {
	tg := startGW(t, baseConfig())
	c := baseConfig()
	c.TopologyHiding = topo.Config{External: []string{"udp"}}
	c.Media.ClassicToClassic = "anchor"
	err := tg.g.Reload(c)
	if !errors.Is(err, ErrNeedsRestart) {
		t.Fatalf("Reload = %v, want ErrNeedsRestart", err)
	}
	if tg.g.rules().hiding != nil {
		t.Fatal("a refused reload turned topology hiding on")
	}
}
