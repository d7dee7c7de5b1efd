package gateway

import (
	"strings"
	"testing"
)

func TestRestoreBundle(t *testing.T) {
	offer := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
	tests := []struct {
		name, answer, offer, want string
	}{
		{"restored", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 3000 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n", offer,
			"t=0 0\r\na=group:BUNDLE 0\r\nm=audio"},
		{"kept", "v=0\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 1 RTP/AVP 0\r\na=mid:0\r\n", offer, "a=group:BUNDLE 0\r\nm=audio"},
		{"offer without bundle", "v=0\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\na=mid:0\r\n", "v=0\r\nt=0 0\r\n", "t=0 0\r\nm=audio"},
		{"two mids, LF", "v=0\nt=0 0\nm=audio 1 X 0\na=mid:a\nm=video 2 X 96\na=mid:v\n", offer, "t=0 0\na=group:BUNDLE a v\nm=audio"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := restoreBundle(tc.answer, tc.offer)
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want it to contain %q", got, tc.want)
			}
			if strings.Count(got, "a=group:BUNDLE") > 1 {
				t.Fatalf("duplicate group in %q", got)
			}
		})
	}
}

func FuzzRestoreBundle(f *testing.F) {
	f.Add("v=0\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\na=mid:0\r\n", "a=group:BUNDLE 0")
	f.Fuzz(func(t *testing.T, answer, offer string) {
		got := restoreBundle(answer, offer)
		if len(got) < len(answer) {
			t.Fatalf("restoreBundle shortened the answer")
		}
	})
}
