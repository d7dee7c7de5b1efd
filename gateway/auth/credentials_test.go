package auth

import (
	"errors"
	"testing"
)

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		in   string
		want credentials
		err  bool
	}{
		{in: `Digest username="alice", realm="example.com", nonce="abc", uri="sip:example.com", response="0123", algorithm=MD5, qop=auth, nc=00000001, cnonce="xyz", opaque="op"`,
			want: credentials{username: "alice", realm: "example.com", nonce: "abc", uri: "sip:example.com", response: "0123", algorithm: "MD5", qop: "auth", nc: "00000001", cnonce: "xyz", opaque: "op"}},
		{in: "digest USERNAME=bob,REALM=\"r\"\t,  qop=\"auth\", foo=\"ignored, really\"",
			want: credentials{username: "bob", realm: "r", qop: "auth"}},
		{in: `Digest username="a\"b\\c", realm="r"`, want: credentials{username: `a"b\c`, realm: "r"}},
		{in: `Digest realm=""`, want: credentials{}},
		{in: `Digest `, want: credentials{}},
		{in: `Digest username="a", username="b"`, err: true},
		{in: `Basic abc`, err: true},
		{in: `Digest`, err: true},
		{in: `Digest username`, err: true},
		{in: `Digest username=`, err: true},
		{in: `Digest username="abc`, err: true},
		{in: `Digest username="abc\`, err: true},
		{in: `Digest username="a" realm="b"`, err: true},
		{in: `Digest username=a"b`, err: true},
		{in: "Digest username=\"a\r\nb\"", err: true},
		{in: `Digest =x`, err: true},
	}
	for _, tt := range tests {
		got, err := parseCredentials(tt.in)
		if tt.err {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%q: err %v, want ErrMalformed", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q:\n got %+v, %v\nwant %+v", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add(`Digest username="alice", realm="example.com", nonce="abc", uri="sip:example.com", response="0123", algorithm=MD5, qop=auth, nc=00000001, cnonce="xyz", opaque="op"`)
	f.Add(`Digest username="a\"b\\c", realm="r"`)
	f.Add(`Digest ,,,=`)
	f.Add(`Basic x`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCredentials(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		for _, v := range []string{c.username, c.realm, c.nonce, c.uri, c.response, c.algorithm, c.qop, c.nc, c.cnonce, c.opaque} {
			if len(v) > len(s) {
				t.Fatalf("value longer than input")
			}
		}
	})
}

func TestHexEqualFold(t *testing.T) {
	want := []byte("0a1b2c3d4e5f")
	for _, tt := range []struct {
		got string
		ok  bool
	}{
		{"0a1b2c3d4e5f", true},
		{"0A1B2C3D4E5F", true},
		{"0a1b2c3d4e5", false},
		{"0a1b2c3d4e5f0", false},
		{"0a1b2c3d4e5e", false},
		{"0\x011b2c3d4e5f", false},
		{"0G1b2c3d4e5f", false},
	} {
		if got := hexEqualFold(tt.got, want); got != tt.ok {
			t.Errorf("hexEqualFold(%q) = %v, want %v", tt.got, got, tt.ok)
		}
	}
}
