package gateway

import (
	"testing"
	"time"
)

func TestParseDTMFRelay(t *testing.T) {
	tests := []struct {
		body    string
		digit   string
		dur     time.Duration
		wantErr bool
	}{
		{"Signal=5\r\nDuration=160\r\n", "5", 160 * time.Millisecond, false},
		{"Signal= #\nDuration= 250", "#", 250 * time.Millisecond, false},
		{"Signal=a\r\n", "A", 100 * time.Millisecond, false},
		{"Signal=55\r\n", "", 0, true},
		{"Duration=100\r\n", "", 0, true},
		{"Signal=1\r\nDuration=-3\r\n", "", 0, true},
		{"", "", 0, true},
	}
	for _, tc := range tests {
		d, dur, err := parseDTMFRelay([]byte(tc.body))
		if (err != nil) != tc.wantErr || (err == nil && (d != tc.digit || dur != tc.dur)) {
			t.Errorf("parseDTMFRelay(%q) = %q, %v, %v", tc.body, d, dur, err)
		}
	}
}

func FuzzParseDTMFRelay(f *testing.F) {
	f.Add([]byte("Signal=5\r\nDuration=160\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _, _ = parseDTMFRelay(b) })
}
