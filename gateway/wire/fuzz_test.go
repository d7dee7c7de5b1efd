package wire

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzCheck feeds arbitrary octets to Check. It must not panic, and what
// it lets through must be what sipgo parses (and, for a request, can key a
// transaction for), never longer than the input, and stable: checking the
// output again changes nothing. CheckFrom must decide the same, stamp a
// request's top Via with received (at most maxStamp octets more), and be
// stable too.
func FuzzCheck(f *testing.F) {
	files, _ := filepath.Glob("testdata/rfc4475/*.sip")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\r\n\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		in := bytes.Clone(msg)
		out, reply, err := Check(msg)
		if !bytes.Equal(in, msg) {
			t.Fatal("Check changed its input")
		}
		if err != nil && out != nil {
			t.Fatal("refused and passed on")
		}
		if reply != nil && !bytes.HasPrefix(reply, []byte("SIP/2.0 ")) {
			t.Fatalf("reply %q", reply)
		}
		if out == nil {
			return
		}
		if len(out) > len(msg) {
			t.Fatalf("out grew: %d > %d", len(out), len(msg))
		}
		m, perr := sip.ParseMessage(out)
		if perr != nil {
			t.Fatalf("sipgo refuses what Check passed: %v\n%q", perr, out)
		}
		if r, ok := m.(*sip.Request); ok {
			if _, kerr := sip.ServerTxKeyMake(r); kerr != nil {
				t.Fatalf("no transaction key for what Check passed: %v\n%q", kerr, out)
			}
		}
		again, _, err2 := Check(out)
		if err2 != nil || !bytes.Equal(again, out) {
			t.Fatalf("not stable: %v\n%q\n%q", err2, out, again)
		}
		for _, src := range fuzzSources {
			fuzzStamp(t, msg, out, src)
		}
	})
}

// fuzzSources are the sources FuzzCheck stamps with.
var fuzzSources = [...]netip.AddrPort{ //nolint:gochecknoglobals // test table
	netip.MustParseAddrPort("127.0.0.1:40000"),
	netip.MustParseAddrPort("[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
}

// fuzzStamp checks CheckFrom(msg, src) against Check's out.
func fuzzStamp(t *testing.T, msg, out []byte, src netip.AddrPort) {
	t.Helper()
	stamped, reply, err := CheckFrom(msg, src)
	if err != nil || reply != nil || stamped == nil {
		t.Fatalf("CheckFrom refuses what Check passed: %v", err)
	}
	if len(stamped) > len(out)+maxStamp {
		t.Fatalf("stamp grew by %d > %d", len(stamped)-len(out), maxStamp)
	}
	m, perr := sip.ParseMessage(stamped)
	if perr != nil {
		t.Fatalf("sipgo refuses what CheckFrom passed: %v\n%q", perr, stamped)
	}
	if r, ok := m.(*sip.Request); ok {
		if got, _ := r.Via().Params.Get("received"); got != src.Addr().String() && !bytes.Equal(stamped, out) {
			t.Fatalf("stamped, but sipgo reads received %q, want %s\n%q", got, src.Addr(), stamped)
		}
		if _, kerr := sip.ServerTxKeyMake(r); kerr != nil {
			t.Fatalf("no transaction key for what CheckFrom passed: %v\n%q", kerr, stamped)
		}
	} else if !bytes.Equal(stamped, out) {
		t.Fatalf("response stamped:\n%q", stamped)
	}
	if again, _, _ := CheckFrom(stamped, src); !bytes.Equal(again, stamped) {
		t.Fatalf("stamp not stable:\n%q\n%q", stamped, again)
	}
}
