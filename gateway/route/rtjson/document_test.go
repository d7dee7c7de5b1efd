package rtjson

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSerial(t *testing.T) {
	d, err := Parse(read(t, "serial.json"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Parallel || len(d.Branches) != 2 || d.Reject != nil {
		t.Fatalf("got %+v, want 2 serial branches", d)
	}
	b := d.Branches[0]
	if b.RURI.String() != "sip:+15551234@carrier-a.example" || b.Dst.Host != "192.0.2.10" || b.Dst.Port != 5060 {
		t.Errorf("uri %v dst %v", b.RURI, b.Dst)
	}
	if len(b.Path) != 2 || b.Path[1].Host != "192.0.2.2" {
		t.Errorf("path %v", b.Path)
	}
	if b.From == nil || *b.From.Display != "Alice" || b.From.URI.User != "+15550001" || b.To == nil {
		t.Errorf("from %+v to %+v", b.From, b.To)
	}
	if len(b.Extra) != 2 || b.Extra[1].Name() != "X-Account" || b.Extra[1].Value() != "42" {
		t.Errorf("extra %v", b.Extra)
	}
	if b.FRTimer != 1500*time.Millisecond || b.FRInvTimer != 30*time.Second {
		t.Errorf("timers %v %v", b.FRTimer, b.FRInvTimer)
	}
	if d.Branches[1].Dst != d.Branches[1].RURI {
		t.Error("a route without dst_uri must be sent to its uri")
	}
}

func TestParseParallelAndReject(t *testing.T) {
	d, err := Parse(read(t, "parallel.json"))
	if err != nil || !d.Parallel || len(d.Branches) != 2 {
		t.Fatalf("parallel: %+v, %v", d, err)
	}
	d, err = Parse(read(t, "reject.json"))
	if err != nil || d.Reject == nil || d.Reject.Code != 486 || d.Reject.Reason != "Busy Here" {
		t.Fatalf("reject: %+v, %v", d, err)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"invalid json", `{"version":"1.0","routes":[`, "unexpected EOF"},
		{"not an object", `[1,2]`, "cannot unmarshal"},
		{"trailing data", `{"version":"1.0","routes":[{"uri":"sip:a@b"}]} {}`, "data after"},
		{"unknown version", `{"version":"2.0","routes":[{"uri":"sip:a@b"}]}`, "version"},
		{"no version", `{"routes":[{"uri":"sip:a@b"}]}`, "version"},
		{"unknown routing", `{"version":"1.0","routing":"random","routes":[{"uri":"sip:a@b"}]}`, "routing"},
		{"no routes", `{"version":"1.0","routes":[]}`, "no routes"},
		{"http uri", `{"version":"1.0","routes":[{"uri":"http://evil"}]}`, "scheme"},
		{"tel uri", `{"version":"1.0","routes":[{"uri":"tel:+1555"}]}`, "scheme"},
		{"no host", `{"version":"1.0","routes":[{"uri":"sip:"}]}`, "uri"},
		{"invalid host", `{"version":"1.0","routes":[{"uri":"sip:a@x.invalid"}]}`, "resolvable"},
		{"CRLF in uri", `{"version":"1.0","routes":[{"uri":"sip:a@b\r\nX-Evil: 1"}]}`, "control character"},
		{"NUL in uri", `{"version":"1.0","routes":[{"uri":"sip:a@b\u0000"}]}`, "control character"},
		{"LF in dst", `{"version":"1.0","routes":[{"uri":"sip:a@b","dst_uri":"sip:c\nd"}]}`, "control character"},
		{"CRLF in display", `{"version":"1.0","routes":[{"uri":"sip:a@b","headers":{"from":{"display":"x\r\nVia: y","uri":"sip:a@b"}}}]}`, "control character"},
		{"quote in display", `{"version":"1.0","routes":[{"uri":"sip:a@b","headers":{"from":{"display":"x\" <sip:evil>","uri":"sip:a@b"}}}]}`, "display"},
		{"bare LF in extra", `{"version":"1.0","routes":[{"uri":"sip:a@b","headers":{"extra":"X-A: 1\nX-B: 2"}}]}`, "control character"},
		{"NUL in extra", `{"version":"1.0","routes":[{"uri":"sip:a@b","headers":{"extra":"X-A: 1\u0000"}}]}`, "control character"},
		{"extra without colon", `{"version":"1.0","routes":[{"uri":"sip:a@b","headers":{"extra":"garbage"}}]}`, "Name: value"},
		{"extra sets Via", `{"version":"1.0","routes":[{"uri":"sip:a@b","headers":{"extra":"Via: SIP/2.0/UDP x"}}]}`, "may not set"},
		{"bad path", `{"version":"1.0","routes":[{"uri":"sip:a@b","path":"<mailto:x>"}]}`, "path"},
		{"bad timer", `{"version":"1.0","routes":[{"uri":"sip:a@b","fr_timer":-1}]}`, "fr_timer"},
		{"reject 200", `{"reject":{"code":200}}`, "reject.code"},
		{"reject CRLF", `{"reject":{"code":486,"reason":"x\r\ny"}}`, "control character"},
		{"too large", `{"version":"1.0","x":"` + strings.Repeat("a", MaxBody) + `"}`, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("accepted: %+v", d)
			}
			if !errors.Is(err, ErrDocument) && !strings.Contains(err.Error(), "rtjson") {
				t.Errorf("err %v is not ErrDocument", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %q lacks %q", err, tc.want)
			}
		})
	}
}
