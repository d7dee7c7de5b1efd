package rtpecho_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/rtpecho"
)

func newMedia(t *testing.T, cfg rtpecho.MediaConfig) *rtpecho.Media {
	t.Helper()
	m, err := rtpecho.NewMedia(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// TestMediaEcho has one endpoint offer and send its stream to another that
// answers and echoes: the sender gets its own payloads back.
func TestMediaEcho(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	caller := newMedia(t, rtpecho.MediaConfig{NoEcho: true})
	callee := newMedia(t, rtpecho.MediaConfig{})
	offer := caller.Offer("")
	answer, err := callee.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := caller.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	if err := caller.Send(ctx, 20); err != nil {
		t.Fatal(err)
	}
	if err := caller.WaitIn(ctx, 20); err != nil {
		t.Fatal(err)
	}
	cs, es := caller.Stats(), callee.Stats()
	if cs.Sent != 20 || cs.OwnIn != 20 || es.PacketsIn != 20 || es.Echoed != 20 || cs.Echoed != 0 {
		t.Errorf("caller %+v callee %+v", cs, es)
	}
	if es.LastSource != caller.Addr() {
		t.Errorf("callee saw source %v, want %v", es.LastSource, caller.Addr())
	}
}

func TestMediaAnswer(t *testing.T) {
	m := newMedia(t, rtpecho.MediaConfig{})
	tests := []struct {
		name, offer     string
		wantPT, wantDir string
		wantErr         bool
	}{
		{"pcmu preferred", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 111 8 0 101\r\na=rtpmap:111 opus/48000/2\r\n", " 0\r\n", "a=sendrecv", false},
		{"pcma", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 101\r\n", " 8\r\n", "a=sendrecv", false},
		{"dynamic only", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n", " 111\r\na=rtpmap:111 opus/48000/2", "a=sendrecv", false},
		{"hold sendonly", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n", " 0\r\n", "a=recvonly", false},
		{"hold inactive session level", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\na=inactive\r\nm=audio 4000 RTP/AVP 0\r\n", " 0\r\n", "a=inactive", false},
		{"no audio", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n", "", "", true},
		{"garbage", "hello", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Answer(tt.offer)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !strings.Contains(got, "RTP/AVP"+tt.wantPT) || !strings.Contains(got, tt.wantDir) {
				t.Errorf("answer lacks %q or %q:\n%s", tt.wantPT, tt.wantDir, got)
			}
			if _, err := rtpecho.ParseRemote(got); err != nil {
				t.Errorf("own answer does not parse: %v", err)
			}
		})
	}
}

func FuzzParseRemote(f *testing.F) {
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\na=sendonly\r\n")
	f.Add("v=0\r\nm=audio 0 RTP/AVP x\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := rtpecho.ParseRemote(s)
		if err == nil && len(r.Payloads) == 0 {
			t.Fatal("no error but no payloads")
		}
	})
}
