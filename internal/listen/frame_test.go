package listen

import (
	"errors"
	"strings"
	"testing"
)

// sipMsg builds a request with body; extra headers go before Content-Length
// (cl "" leaves it out, "auto" computes it).
func sipMsg(branch, body, cl string, extra ...string) string {
	lines := []string{
		"OPTIONS sip:example.test SIP/2.0",
		"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-" + branch,
		"From: <sip:alice@example.test>;tag=a1",
		"To: <sip:example.test>",
		"Call-ID: " + branch,
		"CSeq: 1 OPTIONS",
		"Max-Forwards: 70",
	}
	lines = append(lines, extra...)
	switch cl {
	case "":
	case "auto":
		lines = append(lines, "Content-Length: "+itoa(len(body)))
	default:
		lines = append(lines, "Content-Length: "+cl)
	}
	return strings.Join(lines, "\r\n") + "\r\n\r\n" + body
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// frameAll feeds stream to a framer in chunks of size step and returns the
// units found, or the first error.
func frameAll(stream string, step, max int) ([]string, error) {
	f := framer{max: max}
	var buf []byte
	var units []string
	for i := 0; i < len(stream); i += step {
		buf = append(buf, stream[i:min(i+step, len(stream))]...)
		for {
			kind, n, _, err := f.next(buf)
			if err != nil {
				return units, err
			}
			if kind == unitNone {
				break
			}
			units = append(units, string(buf[:n]))
			buf = buf[n:]
		}
	}
	if len(buf) > 0 {
		units = append(units, "PARTIAL:"+string(buf))
	}
	return units, nil
}

func TestFramer(t *testing.T) {
	a, b := sipMsg("a", "", "auto"), sipMsg("b", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n", "auto")
	compact := strings.Replace(sipMsg("c", "hello", "auto"), "Content-Length:", "l :", 1)
	folded := strings.Replace(sipMsg("d", "12345", ""), "Max-Forwards: 70", "Content-Length:\r\n  5\r\nMax-Forwards: 70", 1)
	cases := []struct {
		name   string
		stream string
		want   []string
		err    error
		max    int
	}{
		{"one", a, []string{a}, nil, 0},
		{"pipelined", a + b + a, []string{a, b, a}, nil, 0},
		{"keepalives", "\r\n\r\n" + a + "\r\n" + b + "\r\n\r\n\r\n", []string{"\r\n\r\n", a, "\r\n", b, "\r\n\r\n", "\r\n"}, nil, 0},
		{"compact l", compact, []string{compact}, nil, 0},
		{"folded Content-Length", folded, []string{folded}, nil, 0},
		{"duplicate equal", sipMsg("e", "xy", "2", "Content-Length: 2"), []string{sipMsg("e", "xy", "2", "Content-Length: 2")}, nil, 0},
		{"partial body", sipMsg("f", "abc", "10"), []string{"PARTIAL:" + sipMsg("f", "abc", "10")}, nil, 0},
		{"missing Content-Length", sipMsg("g", "", ""), nil, ErrNoContentLength, 0},
		{"bad Content-Length", sipMsg("h", "", "12a"), nil, ErrBadContentLength, 0},
		{"negative Content-Length", sipMsg("h", "", "-1"), nil, ErrBadContentLength, 0},
		{"disagreeing Content-Length", sipMsg("i", "xy", "2", "Content-Length: 3"), nil, ErrBadContentLength, 0},
		{"huge Content-Length", sipMsg("j", "", "99999999999999999999999"), nil, ErrMessageTooLarge, 0},
		{"body too large", sipMsg("k", "", "2000"), nil, ErrMessageTooLarge, 1024},
		{"headers too large", sipMsg("l", "", "0", "X-Pad: "+strings.Repeat("p", 2000)), nil, ErrHeaderTooLarge, 1024},
		{"headers never end", "OPTIONS sip:x SIP/2.0\r\nX: " + strings.Repeat("p", 2000), nil, ErrHeaderTooLarge, 1024},
	}
	for _, tc := range cases {
		max := tc.max
		if max == 0 {
			max = DefaultMaxMessageSize
		}
		for _, step := range []int{1, 7, 100, 1 << 20} {
			got, err := frameAll(tc.stream, step, max)
			if !errors.Is(err, tc.err) {
				t.Errorf("%s, step %d: error %v, want %v", tc.name, step, err, tc.err)
				continue
			}
			if tc.err != nil {
				continue
			}
			want := tc.want
			if step == 1 { // a ping split over reads is seen as two pongs
				got, want = joinKeepalives(got), joinKeepalives(want)
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("%s, step %d: units\n%q\nwant\n%q", tc.name, step, got, want)
			}
		}
	}
}

// joinKeepalives merges runs of keepalive units into one.
func joinKeepalives(units []string) []string {
	var out []string
	for _, u := range units {
		if strings.Trim(u, "\r\n") == "" && len(out) > 0 && strings.Trim(out[len(out)-1], "\r\n") == "" {
			out[len(out)-1] += u
			continue
		}
		out = append(out, u)
	}
	return out
}

func TestStatelessReply(t *testing.T) {
	hdrs := func(m string) []byte { h, _, _ := strings.Cut(m, "\r\n\r\n"); return []byte(h + "\r\n\r\n") }
	got := string(statelessReply(hdrs(sipMsg("r1", "", "x", "Via: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK-2")), 400, "Bad Content-Length"))
	want := "SIP/2.0 400 Bad Content-Length\r\n" +
		"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-r1\r\n" +
		"Via: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK-2\r\n" +
		"From: <sip:alice@example.test>;tag=a1\r\n" +
		"To: <sip:example.test>;tag=se"
	if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "\r\nCall-ID: r1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") {
		t.Fatalf("reply:\n%s", got)
	}
	for name, m := range map[string]string{
		"response": strings.Replace(sipMsg("r2", "", "0"), "OPTIONS sip:example.test SIP/2.0", "SIP/2.0 200 OK", 1),
		"ack":      strings.Replace(sipMsg("r3", "", "0"), "OPTIONS sip:example.test", "ACK sip:example.test", 1),
		"no via":   strings.Replace(sipMsg("r4", "", "0"), "Via:", "X-Via:", 1),
	} {
		if r := statelessReply(hdrs(m), 400, "Bad"); r != nil {
			t.Errorf("%s: answered %q", name, r)
		}
	}
}

// FuzzFramer feeds arbitrary bytes in arbitrary chunks: the framer never
// panics, every unit it returns is within max, and units tile the input.
func FuzzFramer(f *testing.F) {
	f.Add([]byte(sipMsg("a", "body", "auto")+"\r\n\r\n"+sipMsg("b", "", "auto")), uint8(7))
	f.Add([]byte(sipMsg("c", "", "1x")), uint8(1))
	f.Add([]byte("\r\n\r\r\n\nOPTIONS x\r\nl: 3\r\n\r\nabc"), uint8(3))
	f.Add([]byte(sipMsg("d", "xy", "", "Content-Length:\r\n 2")), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		const max = 1024
		fr := framer{max: max}
		var buf []byte
		consumed := 0
		s := int(step%64) + 1
		for i := 0; i < len(data); i += s {
			buf = append(buf, data[i:min(i+s, len(data))]...)
			for {
				kind, n, _, err := fr.next(buf)
				if err != nil {
					return
				}
				if kind == unitNone {
					if len(buf) > max+s {
						t.Fatalf("%d bytes buffered without a unit or an error", len(buf))
					}
					break
				}
				if n <= 0 || n > len(buf) || n > max {
					t.Fatalf("unit of %d bytes from a buffer of %d", n, len(buf))
				}
				consumed += n
				buf = buf[n:]
			}
		}
		if consumed+len(buf) != len(data) {
			t.Fatalf("units and rest cover %d of %d bytes", consumed+len(buf), len(data))
		}
	})
}
