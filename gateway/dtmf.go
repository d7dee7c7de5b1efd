package gateway

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/status"
	"github.com/sipedge/sipedge/rtpengine"
)

// dtmf turns a SIP INFO application/dtmf-relay from a browser toward a
// classic endpoint into an RFC 4733 event played by rtpengine, when
// media.dtmf is rfc4733. It reports whether it handled (answered) req.
func (g *Gateway) dtmf(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, t route.Target) (bool, error) {
	if g.cfg.Media.DTMF != "rfc4733" || g.rtp == nil || req.Method != sip.INFO {
		return false, nil
	}
	if !strings.HasPrefix(strings.ToLower(contentType(req)), "application/dtmf-relay") {
		return false, nil
	}
	out, err := g.transportOf(t)
	if err != nil || sideOf(req.Transport()) != browser || sideOf(out) != classic {
		return false, nil
	}
	digit, dur, err := parseDTMFRelay(req.Body())
	if err != nil {
		return true, status.New(400, "Bad DTMF Relay Body", fmt.Errorf("%w: %w", ErrMalformed, err))
	}
	err = g.rtp.PlayDTMF(ctx, rtpengine.PlayDTMFParams{
		CallRef:  rtpengine.CallRef{CallID: callID(req), FromTag: fromTag(req)},
		Code:     digit,
		Duration: dur,
	})
	if err != nil {
		return true, mediaErr(err)
	}
	return true, g.respond(tx, req, sip.NewResponseFromRequest(req, 200, "OK", nil))
}

// parseDTMFRelay reads an application/dtmf-relay body ("Signal=5",
// "Duration=160" in ms).
func parseDTMFRelay(body []byte) (string, time.Duration, error) {
	var digit string
	dur := 100 * time.Millisecond
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "signal":
			digit = strings.ToUpper(v)
		case "duration":
			ms, err := strconv.Atoi(v)
			if err != nil || ms <= 0 || ms > 10000 {
				return "", 0, fmt.Errorf("duration %q", v)
			}
			dur = time.Duration(ms) * time.Millisecond
		}
	}
	if len(digit) != 1 || !strings.Contains("0123456789*#ABCD", digit) {
		return "", 0, fmt.Errorf("signal %q", digit)
	}
	return digit, dur, nil
}
