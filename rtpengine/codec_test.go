package rtpengine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodeReply(t *testing.T) {
	cases := []struct {
		in      string
		cookie  string
		result  string
		warning string
		reason  string
		err     error
	}{
		{"5323_1 d6:result4:ponge", "5323_1", "pong", "", "", nil},
		{"c d6:result2:ok7:warning3:hmme", "c", "ok", "hmm", "", nil},
		{"c d12:error-reason3:bad6:result5:errore", "c", "error", "", "bad", nil},
		{"c d6:result2:ok3:fooi-12ee", "c", "ok", "", "", nil},                // unknown keys ignored
		{"c d3:sdpd1:ai1ee6:result2:oke", "c", "", "", "", ErrMalformedReply}, // sdp not a string
		{"c d6:resulti1ee", "c", "", "", "", ErrMalformedReply},
		{"c de", "c", "", "", "", ErrMalformedReply}, // no result
		{"c d6:result2:ok", "", "", "", "", ErrMalformedReply},
		{"c d6:result2:okee", "", "", "", "", ErrMalformedReply}, // trailing
		{"c l6:resulte", "", "", "", "", ErrMalformedReply},
		{"nocookie", "", "", "", "", ErrMalformedReply},
		{" d6:result2:oke", "", "", "", "", ErrMalformedReply},
		{"c d6:result999999999:oke", "", "", "", "", ErrMalformedReply}, // length beyond data
		{"c d6:result9999999999:oke", "", "", "", "", ErrMalformedReply},
		{"c d6:resulti99999999999999999999999ee", "", "", "", "", ErrMalformedReply},
		{"c d1:a" + strings.Repeat("l", 100) + strings.Repeat("e", 100) + "e", "", "", "", "", ErrMalformedReply},
		{"c d1:xie6:result2:oke", "", "", "", "", ErrMalformedReply},
	}
	for _, tc := range cases {
		cookie, r, err := DecodeReply([]byte(tc.in))
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%q: err %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || cookie != tc.cookie || r.Result != tc.result || r.Warning != tc.warning || r.Reason != tc.reason {
			t.Errorf("%q: %q %+v %v", tc.in, cookie, r, err)
		}
	}
}

func TestMessageLenStream(t *testing.T) {
	stream := "a d6:result4:ponge" + "bb d3:sdp5:v=0\r\n6:result2:oke"
	n, err := MessageLen([]byte(stream))
	if err != nil || n != len("a d6:result4:ponge") {
		t.Fatalf("first: %d %v", n, err)
	}
	for i := 0; i < n; i++ {
		if _, err := MessageLen([]byte(stream[:i])); !errors.Is(err, ErrIncomplete) {
			t.Errorf("prefix %d: %v, want ErrIncomplete", i, err)
		}
	}
	if _, err := MessageLen([]byte(strings.Repeat("x", 100))); !errors.Is(err, ErrMalformedReply) {
		t.Errorf("long cookie: %v", err)
	}
}

func TestEncodeMessage(t *testing.T) {
	o := ToBrowser()
	d := map[string]any{"command": "offer", "call-id": "c1"}
	o.apply(d)
	b, err := encodeMessage("k1", d)
	if err != nil {
		t.Fatal(err)
	}
	want := "k1 d4:DTLS7:passive3:ICE5:force4:SDESl3:offe7:call-id2:c17:command5:offer5:flagsl12:generate-mide7:replacel6:origin18:session-connectione8:rtcp-muxl5:offer7:requiree18:transport-protocol17:UDP/TLS/RTP/SAVPFe"
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if _, err := encodeMessage("k", map[string]any{"f": 1.5}); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("float: %v", err)
	}
}

// FuzzDecodeReply: no input makes the reply decoder panic, hang or accept
// a reply without result.
func FuzzDecodeReply(f *testing.F) {
	files, _ := filepath.Glob("testdata/replies/*.ng")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("c d6:result2:ok3:fooli1ed1:ai2eee"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, r, err := DecodeReply(b)
		if err == nil && r.Result == "" {
			t.Fatalf("accepted reply without result: %q", b)
		}
		if err != nil && !errors.Is(err, ErrMalformedReply) {
			t.Fatalf("error not wrapping ErrMalformedReply: %v", err)
		}
		if err == nil {
			if _, err := r.Map(); err != nil {
				t.Fatalf("accepted reply whose dict does not decode: %v", err)
			}
			var h replyHead // the reflection decoder must agree with parseHead
			if err := r.Decode(&h); err != nil || h.Result != r.Result || h.SDP != r.SDP || h.Warning != r.Warning {
				t.Fatalf("bencode package disagrees: %+v %v vs %+v", h, err, r)
			}
		}
		n, err := MessageLen(b)
		if err == nil && (n <= 0 || n > len(b)) {
			t.Fatalf("MessageLen %d of %d", n, len(b))
		}
	})
}

func TestHRWWeights(t *testing.T) {
	c := &Client{cfg: Config{DefaultSet: "s"}, sets: map[string][]*node{}}
	a := &node{addr: "udp:a:1", weight: 3, set: "s"}
	b := &node{addr: "udp:b:1", weight: 1, set: "s"}
	c.sets["s"] = []*node{a, b}
	const n = 20000
	onA := 0
	for i := 0; i < n; i++ {
		id := "call-" + string(rune('a'+i%26)) + strings.Repeat("x", i%7) + itoa(i)
		cands := c.candidates("", id, true)
		if len(cands) != 2 {
			t.Fatal("want 2 candidates")
		}
		if cands[0] == a {
			onA++
		}
		if again := c.candidates("", id, true); again[0] != cands[0] {
			t.Fatal("ranking not stable")
		}
	}
	if share := float64(onA) / n; share < 0.72 || share > 0.78 {
		t.Errorf("node with weight 3 of 4 got %.3f of calls", share)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
