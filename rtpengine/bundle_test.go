package rtpengine_test

import (
	"os"
	"strings"
	"testing"

	"github.com/sipedge/sipedge/rtpengine"
)

func TestRestoreBundle(t *testing.T) {
	chrome, err := os.ReadFile("testdata/chrome-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	const answer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 30000 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 127.0.0.1\r\na=mid:0\r\na=rtcp-mux\r\n"
	const twoOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a v\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:a\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\n"
	const twoAnswerVideoRejected = "v=0\r\nt=0 0\r\nm=audio 30000 UDP/TLS/RTP/SAVPF 0\r\na=mid:a\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\n"
	tests := []struct {
		name, offer, answer, want string
	}{
		{"chrome offer, group dropped", string(chrome), answer,
			"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 30000 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 127.0.0.1\r\na=mid:0\r\na=rtcp-mux\r\n"},
		{"answer already bundled", string(chrome), strings.Replace(answer, "t=0 0\r\n", "t=0 0\r\na=group:BUNDLE 0\r\n", 1), ""},
		{"offer without bundle", strings.Replace(string(chrome), "a=group:BUNDLE 0\r\n", "", 1), answer, answer},
		{"answer without mid", string(chrome), strings.Replace(answer, "a=mid:0\r\n", "", 1), strings.Replace(answer, "a=mid:0\r\n", "", 1)},
		{"rejected section left out", twoOffer, twoAnswerVideoRejected,
			strings.Replace(twoAnswerVideoRejected, "t=0 0\r\n", "t=0 0\r\na=group:BUNDLE a\r\n", 1)},
		{"LF line endings", "v=0\nt=0 0\na=group:BUNDLE 0\nm=audio 9 X 0\na=mid:0\n", "v=0\nt=0 0\nm=audio 5 X 0\na=mid:0\n",
			"v=0\nt=0 0\na=group:BUNDLE 0\nm=audio 5 X 0\na=mid:0\n"},
		{"empty answer", string(chrome), "", ""},
		{"garbage", "a=group:BUNDLE", "\n\n\r\nm=", "\n\n\r\nm="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.answer
			}
			if got := rtpengine.RestoreBundle(tt.offer, tt.answer); got != want {
				t.Errorf("RestoreBundle:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func FuzzRestoreBundle(f *testing.F) {
	chrome, _ := os.ReadFile("testdata/chrome-offer.sdp")
	f.Add(string(chrome), "v=0\r\nt=0 0\r\nm=audio 1 X 0\r\na=mid:0\r\n")
	f.Add("a=group:BUNDLE", "\nm=")
	f.Fuzz(func(t *testing.T, offer, answer string) {
		got := rtpengine.RestoreBundle(offer, answer)
		if got != answer && !strings.Contains(got, "a=group:BUNDLE ") {
			t.Fatalf("changed answer without adding a group: %q", got)
		}
		if len(got) < len(answer) {
			t.Fatalf("answer shrank")
		}
	})
}

func BenchmarkRestoreBundle(b *testing.B) {
	chrome, err := os.ReadFile("testdata/chrome-offer.sdp")
	if err != nil {
		b.Fatal(err)
	}
	offer := string(chrome)
	answer := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 30000 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 127.0.0.1\r\na=mid:0\r\na=rtcp-mux\r\n"
	b.ReportAllocs()
	for b.Loop() {
		_ = rtpengine.RestoreBundle(offer, answer)
	}
}

func TestEnsureBundle(t *testing.T) {
	const offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 30000 UDP/TLS/RTP/SAVPF 0 8\r\na=mid:1\r\na=rtcp-mux\r\n"
	const two = "v=0\nt=0 0\nm=audio 5 X 0\na=mid:a\nm=video 0 X 96\na=mid:v\nm=video 7 X 96\na=mid:w\n"
	tests := []struct{ name, in, want string }{
		{"rtpengine offer toward browser", offer, strings.Replace(offer, "t=0 0\r\n", "t=0 0\r\na=group:BUNDLE 1\r\n", 1)},
		{"already bundled", strings.Replace(offer, "t=0 0\r\n", "t=0 0\r\na=group:BUNDLE 1\r\n", 1), ""},
		{"rejected section left out", two, strings.Replace(two, "t=0 0\n", "t=0 0\na=group:BUNDLE a w\n", 1)},
		{"no mid", "v=0\r\nt=0 0\r\nm=audio 5 X 0\r\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if got := rtpengine.EnsureBundle(tt.in); got != want {
				t.Errorf("EnsureBundle:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func FuzzEnsureBundle(f *testing.F) {
	f.Add("v=0\r\nt=0 0\r\nm=audio 1 X 0\r\na=mid:0\r\n")
	f.Fuzz(func(t *testing.T, sdp string) {
		got := rtpengine.EnsureBundle(sdp)
		if got != sdp && !strings.Contains(got, "a=group:BUNDLE ") {
			t.Fatalf("changed sdp without adding a group: %q", got)
		}
	})
}
