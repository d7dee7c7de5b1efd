package rtpengine_test

import (
	"context"
	"errors"
	"github.com/sipedge/sipedge/rtpengine/rtpenginetest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/sipedge/sipedge/rtpengine"
)

func readSDP(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parseSDP(t *testing.T, s string) *sdp.SessionDescription {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		t.Fatalf("rtpengine returned unparsable SDP: %v\n%s", err, s)
	}
	if len(d.MediaDescriptions) != 1 {
		t.Fatalf("want 1 m= section, got %d:\n%s", len(d.MediaDescriptions), s)
	}
	return &d
}

// audio returns the single audio m= section.
func audio(d *sdp.SessionDescription) *sdp.MediaDescription { return d.MediaDescriptions[0] }

func has(m *sdp.MediaDescription, key string) bool {
	_, ok := m.Attribute(key)
	return ok
}

func val(m *sdp.MediaDescription, key string) string {
	v, _ := m.Attribute(key)
	return v
}

func proto(m *sdp.MediaDescription) string { return strings.Join(m.MediaName.Protos, "/") }

func newRealClient(t *testing.T, node string) *rtpengine.Client {
	t.Helper()
	c, err := rtpengine.New(rtpengine.Config{Nodes: []rtpengine.Node{{Address: node}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// checkPlain asserts an SDP toward a classic SIP endpoint.
func checkPlain(t *testing.T, s string) {
	t.Helper()
	d := parseSDP(t, s)
	m := audio(d)
	if got := proto(m); got != "RTP/AVP" {
		t.Errorf("protocol %q, want RTP/AVP", got)
	}
	for _, a := range []string{"ice-ufrag", "ice-pwd", "candidate", "fingerprint", "setup", "rtcp-mux"} {
		if has(m, a) {
			t.Errorf("a=%s still present toward plain RTP:\n%s", a, s)
		}
	}
	if !has(m, "rtcp") {
		t.Errorf("a=rtcp missing (RTCP must be demultiplexed):\n%s", s)
	}
	c := m.ConnectionInformation
	if c == nil {
		c = d.ConnectionInformation
	}
	if c == nil || c.Address == nil || c.Address.Address != "127.0.0.1" {
		t.Errorf("connection address not rtpengine's 127.0.0.1:\n%s", s)
	}
	if d.Origin.UnicastAddress != "127.0.0.1" {
		t.Errorf("origin address %q not replaced", d.Origin.UnicastAddress)
	}
}

// checkBrowser asserts an SDP toward a browser; setup is the wanted
// a=setup value.
func checkBrowser(t *testing.T, s, setup string) *sdp.MediaDescription {
	t.Helper()
	m := audio(parseSDP(t, s))
	if got := proto(m); got != "UDP/TLS/RTP/SAVPF" {
		t.Errorf("protocol %q, want UDP/TLS/RTP/SAVPF", got)
	}
	for _, a := range []string{"ice-ufrag", "ice-pwd", "candidate", "rtcp-mux", "mid"} {
		if !has(m, a) {
			t.Errorf("a=%s missing toward the browser:\n%s", a, s)
		}
	}
	if fp := val(m, "fingerprint"); !strings.HasPrefix(strings.ToLower(fp), "sha-256 ") {
		t.Errorf("fingerprint %q, want sha-256", fp)
	}
	if got := val(m, "setup"); got != setup {
		t.Errorf("a=setup:%s, want %s", got, setup)
	}
	if has(m, "crypto") {
		t.Errorf("a=crypto present although SDES is off")
	}
	return m
}

// TestRealDaemon drives the real rtpengine through a browser ⇄ plain RTP
// call over each transport: offer, answer, query, list, recording, delete.
func TestRealDaemon(t *testing.T) {
	d := rtpenginetest.StartDaemon(t)
	chromeOffer := readSDP(t, "chrome-offer.sdp")
	plainAnswer := readSDP(t, "plain-answer.sdp")
	plainOffer := readSDP(t, "plain-offer.sdp")
	src := netip.MustParseAddr("127.0.0.1")

	for _, tr := range []struct{ name, node string }{{"udp", d.UDP}, {"tcp", d.TCP}} {
		t.Run(tr.name, func(t *testing.T) {
			c := newRealClient(t, tr.node)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := c.Ping(ctx, ""); err != nil {
				t.Fatal(err)
			}

			t.Run("browser to plain", func(t *testing.T) {
				callID := "b2p-" + tr.name
				toPlain := rtpengine.ToPlainRTP()
				toPlain.ReceivedFrom = src
				toPlain.Label = "caller"
				off, err := c.Offer(ctx, rtpengine.OfferParams{CallID: callID, FromTag: "ftag", ViaBranch: "z9hG4bK1", SDP: chromeOffer, Options: toPlain})
				if err != nil {
					t.Fatal(err)
				}
				if off.Node != tr.node || c.NodeOf(callID) != tr.node {
					t.Errorf("call pinned to %q/%q, want %q", off.Node, c.NodeOf(callID), tr.node)
				}
				t.Logf("offer toward plain RTP:\n%s", off.SDP)
				checkPlain(t, off.SDP)
				if m := audio(parseSDP(t, off.SDP)); val(m, "mid") != "0" {
					t.Errorf("a=mid %q, want the browser's 0 kept", val(m, "mid"))
				}

				toBrowser := rtpengine.ToBrowser()
				toBrowser.ReceivedFrom = src
				ans, err := c.Answer(ctx, rtpengine.AnswerParams{CallID: callID, FromTag: "ftag", ToTag: "ttag", ViaBranch: "z9hG4bK1", SDP: plainAnswer, Options: toBrowser})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("answer toward the browser:\n%s", ans.SDP)
				m := checkBrowser(t, ans.SDP, "passive")
				if got := val(m, "mid"); got != "0" {
					t.Errorf("answer a=mid:%s, want 0 (the offer's)", got)
				}

				q, err := c.Query(ctx, rtpengine.CallRef{CallID: callID})
				if err != nil {
					t.Fatal(err)
				}
				var qv struct {
					Created int64                     `bencode:"created"`
					Tags    map[string]map[string]any `bencode:"tags"`
				}
				if err := q.Decode(&qv); err != nil {
					t.Fatal(err)
				}
				if qv.Created == 0 || qv.Tags["ftag"] == nil || qv.Tags["ttag"] == nil {
					t.Errorf("query: created %d, tags %v", qv.Created, keys(qv.Tags))
				}
				if lbl, _ := qv.Tags["ftag"]["label"].(string); lbl != "caller" {
					t.Errorf("query: label of ftag %q, want caller", lbl)
				}

				calls, err := c.List(ctx, "", 100)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(calls, callID) {
					t.Errorf("list %v lacks %s", calls, callID)
				}

				ref := rtpengine.CallRef{CallID: callID, FromTag: "ftag"}
				if err := c.StartRecording(ctx, ref); err != nil {
					t.Fatal(err)
				}
				if err := c.StopRecording(ctx, ref); err != nil {
					t.Fatal(err)
				}
				if err := c.BlockDTMF(ctx, ref); err != nil {
					t.Fatal(err)
				}
				if err := c.UnblockDTMF(ctx, ref); err != nil {
					t.Fatal(err)
				}

				del, err := c.Delete(ctx, rtpengine.DeleteParams{CallID: callID, FromTag: "ftag", Fast: true})
				if err != nil || del.Warning != "" {
					t.Fatalf("delete: %v, warning %q", err, del.Warning)
				}
				if c.NodeOf(callID) != "" {
					t.Errorf("call still pinned after delete")
				}
				calls, err = c.List(ctx, "", 100)
				if err != nil || slices.Contains(calls, callID) {
					t.Errorf("after delete list %v (%v) still holds %s", calls, err, callID)
				}
				_, err = c.Query(ctx, rtpengine.CallRef{CallID: callID})
				var ce *rtpengine.CommandError
				if !errors.Is(err, rtpengine.ErrRejected) || !errors.As(err, &ce) || ce.Reason == "" {
					t.Errorf("query of deleted call: %v, want ErrRejected with a reason", err)
				}
			})

			t.Run("late offer", func(t *testing.T) {
				// A plain SIP phone sends INVITE without SDP (From tag
				// "caller"); the browser puts its offer in the 200 OK (To
				// tag "callee") and the phone answers in the ACK.
				callID := "late-" + tr.name
				from, to := rtpengine.LegTags("caller", "callee", true)
				if from != "callee" || to != "caller" {
					t.Fatalf("LegTags swapped to %q/%q", from, to)
				}
				toPlain := rtpengine.ToPlainRTP()
				off, err := c.Offer(ctx, rtpengine.OfferParams{CallID: callID, FromTag: from, SDP: chromeOffer, Options: toPlain})
				if err != nil {
					t.Fatal(err)
				}
				checkPlain(t, off.SDP)
				ans, err := c.Answer(ctx, rtpengine.AnswerParams{CallID: callID, FromTag: from, ToTag: to, SDP: plainAnswer, Options: rtpengine.ToBrowser()})
				if err != nil {
					t.Fatal(err)
				}
				checkBrowser(t, ans.SDP, "passive")
				// Without the swap the answer names a party that never
				// offered: rtpengine must not produce a browser SDP then.
				_, err = c.Answer(ctx, rtpengine.AnswerParams{CallID: callID + "-unswapped", FromTag: "caller", ToTag: "callee", SDP: plainAnswer, Options: rtpengine.ToBrowser()})
				if err == nil {
					t.Errorf("answer for a call without offer succeeded")
				}
				del, err := c.Delete(ctx, rtpengine.DeleteParams{CallID: callID, FromTag: "caller"})
				if err != nil || del.Warning != "" {
					t.Fatalf("delete: %v, warning %q", err, del.Warning)
				}
			})

			t.Run("plain to browser", func(t *testing.T) {
				callID := "p2b-" + tr.name
				off, err := c.Offer(ctx, rtpengine.OfferParams{CallID: callID, FromTag: "f1", SDP: plainOffer, Options: rtpengine.ToBrowser()})
				if err != nil {
					t.Fatal(err)
				}
				m := checkBrowser(t, off.SDP, "actpass")
				if val(m, "mid") == "" {
					t.Errorf("generate-mid gave no a=mid")
				}
				if _, err := c.Delete(ctx, rtpengine.DeleteParams{CallID: callID, Fast: true}); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("errors", func(t *testing.T) {
				r, err := c.Delete(ctx, rtpengine.DeleteParams{CallID: "no-such-call", FromTag: "x"})
				if err != nil || r.Warning == "" {
					t.Errorf("delete unknown call: %v, warning %q; want ok with warning", err, r.Warning)
				}
				_, err = c.Delete(ctx, rtpengine.DeleteParams{CallID: "no-such-call", FromTag: "x", Flags: []string{"fatal"}})
				if !errors.Is(err, rtpengine.ErrRejected) {
					t.Errorf("fatal delete of unknown call: %v, want ErrRejected", err)
				}
				_, err = c.Call(ctx, "no such command", nil)
				if !errors.Is(err, rtpengine.ErrRejected) || !strings.Contains(err.Error(), "Unrecognized command") {
					t.Errorf("unknown command: %v", err)
				}
				st, err := c.Statistics(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				if m, err := st.Map(); err != nil || len(m) < 2 {
					t.Errorf("statistics: %v %v", keys(m), err)
				}
			})
		})
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
