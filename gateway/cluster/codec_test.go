package cluster

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sipedge/sipedge/gateway/registrar"
)

func TestCodecRoundTrip(t *testing.T) {
	in := []registrar.Binding{
		binding(t, "alice@example.test", "sip:alice@x.invalid;transport=ws", time.Minute, "flow-1"),
		binding(t, "alice@example.test", "sip:alice@10.0.0.1:5070", time.Hour, ""),
	}
	in[0].Instance, in[0].RegID, in[0].Node, in[0].Source.NAT = "<urn:uuid:1>", 1, "a", true
	data, err := encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decode("alice@example.test", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d bindings back, want %d", len(out), len(in))
	}
	for i := range in {
		a, b := in[i], out[i]
		if a.Contact.String() != b.Contact.String() {
			t.Fatalf("[%d] contact %s, want %s", i, b.Contact.String(), a.Contact.String())
		}
		a.Contact, b.Contact = b.Contact, a.Contact
		a.Expires, b.Expires = a.Expires.UTC(), b.Expires.UTC()
		a.Registered, b.Registered = a.Registered.UTC(), b.Registered.UTC()
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("[%d]\n got %+v\nwant %+v", i, b, a)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, in := range []string{`{`, `{"contact":1}`, `[{"contact":"sip:"}]`, `[{"contact":"::bad"}]`} {
		if _, err := decode("x@y", []byte(in)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decode(%s) err = %v, want ErrCorrupt", in, err)
		}
	}
}

// FuzzDecode: whatever Redis holds, decoding never panics, and what
// decodes encodes again.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`[{"contact":"sip:a@b","q":1,"exp":1,"reg":1,"callid":"c","cseq":1,"addr":"1.2.3.4:5","transport":"udp"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		bs, err := decode("x@y", data)
		if err != nil {
			return
		}
		if _, err := encode(bs); err != nil {
			t.Fatal(err)
		}
	})
}
